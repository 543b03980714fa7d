"""Record the stand-in's WebSocket in the recordings' own shape, and compare runs with recordings.

The recordings (../shared/comfyui) keep WS messages as `{"kind": "text", "json": ...}` and binary frames as
`{"kind": "binary", "length", "first8_be_u32", "event_type", ...decoded header}`. `Recorder` writes the same
shape, so `run_trace` can reduce both sides to a comparable list: message types in order, with every field
kept except the ones that differ on every run (ids, timestamps, tracebacks, random temp names).
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import websocket

Message = dict[str, Any]
TERMINAL = ("execution_success", "execution_error", "execution_interrupted")


class Recorder:
    """A raw WS client (no x121 code), recording what the server sends."""

    def __init__(self, url: str, client_id: str, *, flags: bool = False) -> None:
        self.ws = websocket.create_connection(f"ws{url[4:]}/ws?clientId={client_id}", timeout=30)
        if flags:
            self.ws.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                opcode, data = self.ws.recv_data()
            except (OSError, websocket.WebSocketException):
                return
            if opcode == websocket.ABNF.OPCODE_TEXT:
                record: Message = {"kind": "text", "json": json.loads(data)}
            elif opcode == websocket.ABNF.OPCODE_BINARY:
                record = decode_binary(data)
            else:
                return
            with self._lock:
                self.messages.append(record)

    def snapshot(self) -> list[Message]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, test: Callable[[list[Message]], bool], timeout: float = 30, what: str = "") -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.snapshot()
            if test(seen):
                return seen
            time.sleep(0.01)
        raise AssertionError(f"{what or 'condition'} not met: {[kind(m) for m in self.snapshot()]}")

    def wait_finished(self, count: int = 1, timeout: float = 30) -> list[Message]:
        """Until `count` prompts ended (the closing `executing {node: null}`)."""
        return self.wait_for(lambda seen: len(finished(seen)) >= count, timeout, f"{count} finished prompt(s)")

    def close(self) -> None:
        self.ws.close()
        self.thread.join(5)


def decode_binary(data: bytes) -> Message:
    """A binary frame as the recordings describe it."""
    first, second = struct.unpack(">II", data[:8])
    record: Message = {"kind": "binary", "length": len(data), "first8_be_u32": [first, second], "event_type": first}
    if first == 1:
        record |= {"image_format_code": second, "image_magic_hex": data[8:16].hex(), "image_bytes": len(data) - 8}
    elif first == 3:
        record |= {"node_id": data[8 : 8 + second].decode(), "text": data[8 + second :].decode()}
    elif first == 4:
        image = data[8 + second :]
        record |= {"metadata": json.loads(data[8 : 8 + second]), "image_magic_hex": image[:8].hex()}
        record["image_bytes"] = len(image)
    return record


def kind(m: Message) -> str:
    return str(m["json"]["type"]) if m["kind"] == "text" else f"binary{m['event_type']}"


def finished(messages: list[Message]) -> list[Message]:
    return [m for m in messages if kind(m) == "executing" and m["json"]["data"]["node"] is None]


def prompt_runs(messages: list[Message]) -> list[list[Message]]:
    """The messages of each prompt run: from execution_start to its closing `executing {node: null}`."""
    runs: list[list[Message]] = []
    current: list[Message] | None = None
    for m in messages:
        if kind(m) == "execution_start":
            current = []
            runs.append(current)
        if current is not None:
            current.append(m)
            if m in finished([m]):
                current = None
    return runs


_TEMP_NAME = re.compile(r"^ComfyUI_temp_[a-z]{5}_")
VOLATILE = {"prompt_id", "timestamp", "sid"}


def normalise(value: Any, key: str = "") -> Any:
    """Keep every field; replace only what differs on every run by a placeholder of its type."""
    if key in VOLATILE:
        return f"<{type(value).__name__}>"
    if key == "traceback":
        assert isinstance(value, list)
        assert all(isinstance(line, str) for line in value)
        return "<traceback>"
    if key in ("executed", "current_outputs"):  # the real server builds these from sets
        return sorted(value)
    if key == "filename" and isinstance(value, str):
        return _TEMP_NAME.sub("ComfyUI_temp_<random>_", value)
    if isinstance(value, dict):
        return {k: normalise(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, float):
        return ("float", value)  # 1.0 and 1 are different on the wire
    return value


def run_trace(run: list[Message], *, keep_status: bool = False) -> list[Any]:
    """One prompt run as comparable entries (status messages dropped: their count depends on HTTP timing)."""
    trace: list[Any] = []
    for m in run:
        if m["kind"] == "binary":
            frame = {k: normalise(v, k) for k, v in m.items() if k != "t_ms"}
            if "image_bytes" in frame:  # the PNG's size depends on the resampler's exact pixels
                frame |= {"length": "<int>", "image_bytes": "<int>"}
            trace.append(frame)
        elif keep_status or kind(m) != "status":
            trace.append(normalise(m["json"]))
    return trace


def first_difference(recorded: list[Any], ours: list[Any]) -> str:
    """A readable pointer to where two traces part (for assertion messages)."""
    for index, (want, got) in enumerate(zip(recorded, ours, strict=False)):
        if want != got:
            return f"message {index}:\n  recorded {json.dumps(want)[:600]}\n  stand-in {json.dumps(got)[:600]}"
    return f"lengths differ: recorded {len(recorded)}, stand-in {len(ours)}"


def assert_same_run(recorded: list[Message], ours: list[Message]) -> None:
    want, got = run_trace(recorded), run_trace(ours)
    assert got == want, first_difference(want, got)


# ------------------------------------------------------------------ HTTP


def http(
    url: str, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A plain urllib request; (status, lower-cased headers, body), errors included."""
    body = None if payload is None else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    sent = {"Content-Type": "application/json"} if payload is not None and not isinstance(payload, bytes) else {}
    request = urllib.request.Request(url + path, body, {**sent, **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def http_json(url: str, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    status, _, body = http(url, method, path, payload)
    return status, json.loads(body) if body else None


def upload(url: str, data: bytes, filename: str, fields: dict[str, str]) -> tuple[int, Any]:
    """POST /upload/image as multipart form data, the way a browser sends it."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
    parts.append(head.encode() + b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    status, _, raw = http(
        url, "POST", "/upload/image", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    return status, json.loads(raw) if raw else None


def shape(value: Any) -> Any:
    """Keys and value types, not values (lists: the set of their item shapes)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(v), sort_keys=True) for v in value})
    return type(value).__name__
