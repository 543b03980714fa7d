"""The stand-in's state: queue, history, cache, sockets, and how messages reach clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.comfyui_server.faults import Faults

# input name in object_info → model folder whose file list fills it
MODEL_INPUTS = {
    "ckpt_name": "checkpoints",
    "lora_name": "loras",
    "vae_name": "vae",
    "unet_name": "diffusion_models",
    "clip_name": "text_encoders",
    "clip_name1": "text_encoders",
    "clip_name2": "text_encoders",
    "control_net_name": "controlnet",
    "upscale_model_name": "upscale_models",
}
# GET /models, in the recorded order (http-endpoints.json)
MODEL_FOLDERS = [
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision", "style_models",
    "embeddings", "diffusers", "vae_approx", "controlnet", "gligen", "upscale_models", "custom_nodes",
    "hypernetworks", "photomaker", "classifiers", "model_patches", "audio_encoders",
]  # fmt: skip
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".mkv", ".avi")


@dataclass
class QueueEntry:
    number: int
    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    outputs: list[str]

    def as_list(self) -> list[Any]:
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]


@dataclass
class Client:
    ws: web.WebSocketResponse
    preview_metadata: bool = False


@dataclass
class ServerState:
    root: Path
    base_info: dict[str, Any]
    faults: Faults = field(default_factory=Faults)
    models: dict[str, list[str]] = field(default_factory=dict)
    number: int = 0
    pending: list[QueueEntry] = field(default_factory=list)
    running: QueueEntry | None = None
    history: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    cache: dict[str, tuple[tuple[Any, ...], dict[str, Any] | None]] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    interrupted: bool = False
    free_pending: bool = False
    boot: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    executing_node: str | None = None
    generation: int = 0  # bumped by restart(): the running prompt is abandoned silently
    # ComfyUI keeps a prompt's output nodes in a Python set, so their order (and with it the execution
    # order) depends on the server process's string hashing. Tests replaying a recording pin that order.
    output_rank: dict[str, int] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def temp_dir(self) -> Path:
        return self.root / "temp"

    def order_outputs(self, outputs: list[str]) -> list[str]:
        return sorted(outputs, key=lambda node_id: self.output_rank.get(node_id, len(self.output_rank)))

    def queue_remaining(self) -> int:
        return len(self.pending) + (1 if self.running else 0)

    # ------------------------------------------------------------ object_info

    def files_in(self, folder: Path, extensions: tuple[str, ...]) -> list[str]:
        """The files a loader lists, as ComfyUI's LoadImage/LoadVideo `INPUT_TYPES` reads them: the folder's
        own files (not its subfolders'; those still validate through `VALIDATE_INPUTS`), by extension.

        Read on every POST /prompt that uses the loader, so its cost is part of the server's handler time
        and must be ComfyUI's (os.listdir + isfile), not a slower walk's.
        """
        where = str(folder)
        try:
            names = os.listdir(where)
        except FileNotFoundError:
            return []
        return sorted(
            n for n in names if os.path.splitext(n)[1].lower() in extensions and os.path.isfile(os.path.join(where, n))
        )

    def object_info(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        """object_info.json with the file lists of loaders read from this instance's folders.

        `only`: the node classes whose lists are read now (the others keep the recorded ones). ComfyUI's
        POST /prompt calls INPUT_TYPES only for the classes the prompt uses (one folder listing for a
        LoadImage), not for every node, so validating a prompt must not cost a whole /object_info.
        """
        info = dict(self.base_info)
        wanted = self.base_info.keys() if only is None else [c for c in set(only) if c in self.base_info]
        for class_type in wanted:
            node = self.base_info[class_type]
            required = node.get("input", {}).get("required", {})
            changes: dict[str, Any] = {}
            for name, spec in required.items():
                if name in MODEL_INPUTS and isinstance(spec[0], list):
                    changes[name] = [sorted(self.models.get(MODEL_INPUTS[name], [])), *spec[1:]]
            if class_type == "LoadImage":
                changes["image"] = [self.files_in(self.input_dir, IMAGE_EXTENSIONS), *required["image"][1:]]
            if class_type == "LoadVideo":
                options = {**required["file"][1], "options": self.files_in(self.input_dir, VIDEO_EXTENSIONS)}
                changes["file"] = ["COMBO", options]
            if changes:
                info[class_type] = {**node, "input": {**node["input"], "required": {**required, **changes}}}
        return info

    # ------------------------------------------------------------ messages

    async def send(self, kind: str, data: dict[str, Any], sid: str | None) -> None:
        """A text message to one client (sid) or, with sid None, to everyone."""
        text = json.dumps({"type": kind, "data": data})
        targets = list(self.clients.values()) if sid is None else [c for s, c in self.clients.items() if s == sid]
        for client in targets:
            if not client.ws.closed:
                with contextlib.suppress(ConnectionError):
                    await client.ws.send_str(text)

    async def send_binary(self, frame: bytes, sid: str | None) -> None:
        targets = list(self.clients.values()) if sid is None else [c for s, c in self.clients.items() if s == sid]
        for client in targets:
            if not client.ws.closed:
                with contextlib.suppress(ConnectionError):
                    await client.ws.send_bytes(frame)

    async def send_status(self) -> None:
        await self.send("status", {"status": {"exec_info": {"queue_remaining": self.queue_remaining()}}}, None)

    async def send_text_frame(self, node_id: str, text: str) -> None:
        encoded = node_id.encode()
        await self.send_binary(struct.pack(">II", 3, len(encoded)) + encoded + text.encode(), None)

    async def send_preview(self, png: bytes, sid: str | None, meta: dict[str, Any]) -> None:
        client = self.clients.get(sid or "")
        if client is None:
            return
        if client.preview_metadata:
            head = json.dumps({**meta, "image_type": "image/png"}).encode()
            await self.send_binary(struct.pack(">II", 4, len(head)) + head + png, sid)
        else:
            await self.send_binary(struct.pack(">II", 1, 2) + png, sid)

    async def drop_sockets(self) -> None:
        for client in list(self.clients.values()):
            await client.ws.close()
        self.clients.clear()

    async def restart(self) -> None:
        """Forget everything a real restart forgets; the worker abandons the running prompt."""
        self.pending.clear()
        self.running = None
        self.history.clear()
        self.cache.clear()
        self.number = 0
        self.generation += 1
        self.interrupted = True
        self.boot = datetime.now(UTC).isoformat() + "-" + uuid.uuid4().hex[:6]
        await self.drop_sockets()


def now_ms() -> int:
    return int(time.time() * 1000)
