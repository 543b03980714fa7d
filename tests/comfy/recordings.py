"""Reading ../shared/comfyui: WS records back into frames, and every recorded HTTP exchange."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).resolve().parents[2].parent / "shared" / "comfyui"
WORKFLOWS = RECORDINGS / "workflows"


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDINGS / name).read_text())
    return loaded


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((WORKFLOWS / name).read_text())
    return loaded


def frame_of(record: dict[str, Any]) -> str | bytes:
    """The wire frame a WS record stands for (binary frames are rebuilt from their decoded header)."""
    if record["kind"] == "text":
        return json.dumps(record["json"])
    kind, second = record["first8_be_u32"]
    if kind == 3:
        body = record["node_id"].encode() + record["text"].encode()
    elif kind == 4:
        body = json.dumps(record["metadata"]).encode() + bytes.fromhex(record["image_magic_hex"])
        assert len(json.dumps(record["metadata"]).encode()) == second
    else:
        body = bytes.fromhex(record["image_magic_hex"])
    frame = struct.pack(">II", kind, second) + body
    return frame + b"\0" * (record["length"] - len(frame))


def ws_logs(node: Any) -> Iterator[dict[str, Any]]:
    """Every recorded WebSocket log (dicts with `messages` of WS records) under a recording."""
    if isinstance(node, dict):
        messages = node.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict) and "kind" in messages[0]:
            yield node
            return
        for value in node.values():
            yield from ws_logs(value)
    elif isinstance(node, list):
        for value in node:
            yield from ws_logs(value)


def exchanges(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every recorded HTTP exchange: (label, request, response)."""
    if isinstance(node, dict):
        if "request" in node and "response" in node:
            yield path, node["request"], node["response"]
            return
        for key, value in node.items():
            yield from exchanges(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from exchanges(value, f"{path}[{index}]")


ALL_FILES = sorted(p.name for p in RECORDINGS.glob("*.json") if p.name != "object_info.json")
