"""Runs queued prompts: ComfyUI's pick order, cache, progress_state and the recorded message order."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from tests.comfyui_server.nodes import NODES
from tests.comfyui_server.nodes.base import NodeContext
from tests.comfyui_server.state import QueueEntry, ServerState


class Interrupted(Exception):
    pass


class Abandoned(Exception):
    """The server "restarted" under the running prompt: say nothing more about it."""


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def _exception_type(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


@dataclass
class Run:
    state: ServerState
    entry: QueueEntry
    loop: asyncio.AbstractEventLoop
    generation: int
    sid: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    values: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    messages: list[list[Any]] = field(default_factory=list)

    @property
    def prompt(self) -> dict[str, Any]:
        return self.entry.prompt

    @property
    def pid(self) -> str:
        return self.entry.prompt_id

    # ------------------------------------------------------------ messages

    async def send(self, kind: str, data: dict[str, Any], *, history: bool = False) -> None:
        if self.generation != self.state.generation:
            raise Abandoned
        if history:
            self.messages.append([kind, data])
        await self.state.send(kind, data, self.sid)

    async def send_progress_state(self) -> None:
        await self.send(
            "progress_state", {"prompt_id": self.pid, "nodes": {k: dict(v) for k, v in self.progress.items()}}
        )

    def _node_state(self, node_id: str, value: float, top: float, state: str) -> None:
        self.progress[node_id] = {
            "value": value,
            "max": top,
            "state": state,
            "node_id": node_id,
            "prompt_id": self.pid,
            "display_node_id": node_id,
            "parent_node_id": None,
            "real_node_id": node_id,
        }

    def _finish(self, node_id: str) -> None:
        current = self.progress.get(node_id)
        top = current["max"] if current else 1
        self._node_state(node_id, top, top, "finished")

    # ------------------------------------------------------------ cache keys

    def signature(self, node_id: str) -> str:
        if node_id in self.signatures:
            return self.signatures[node_id]
        node = self.prompt[node_id]
        impl = NODES.get(node["class_type"])
        parts: list[Any] = [node["class_type"]]
        for name, value in sorted(node.get("inputs", {}).items()):
            if _is_link(value):
                parts.append([name, self.signature(value[0]), value[1]])
            else:
                parts.append([name, value])
                how = impl.file_inputs.get(name) if impl else None
                if how and isinstance(value, str):
                    parts.append(self._file_signature(value, how))
        if impl and impl.always_changed:
            parts.append(time.time_ns())
        self.signatures[node_id] = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
        return self.signatures[node_id]

    def _file_signature(self, name: str, how: str) -> str:
        try:
            path = self._context("").resolve_input(name)
            return hashlib.sha256(path.read_bytes()).hexdigest() if how == "hash" else str(path.stat().st_mtime_ns)
        except Exception:
            return "missing"

    def _context(self, node_id: str) -> NodeContext:
        s = self.state
        return NodeContext(
            node_id,
            s.input_dir,
            s.output_dir,
            s.temp_dir,
            self._progress_cb(node_id),
            self._text_cb(node_id),
            s.counters,
        )

    # ------------------------------------------------------------ callbacks from the node thread

    def _call(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def _check_interrupt(self) -> None:
        if self.generation != self.state.generation:
            raise Abandoned
        if self.state.interrupted:
            raise Interrupted

    def _progress_cb(self, node_id: str) -> Any:
        def tick(value: int, top: int, preview: bytes | None) -> None:
            self._check_interrupt()
            self._call(self._tick(node_id, value, top, preview))

        return tick

    async def _tick(self, node_id: str, value: int, top: int, preview: bytes | None) -> None:
        self._node_state(node_id, value, top, "running")
        await self.send_progress_state()
        client = self.state.clients.get(self.sid or "")
        meta = {"node_id": node_id, "prompt_id": self.pid, "display_node_id": node_id}
        meta |= {"parent_node_id": None, "real_node_id": node_id}
        progress = {"value": value, "max": top, "prompt_id": self.pid, "node": node_id}
        if preview is not None and client is not None and client.preview_metadata:
            await self.state.send_preview(preview, self.sid, meta)
            await self.send("progress", progress)
        else:
            await self.send("progress", progress)
            if preview is not None:
                await self.state.send_preview(preview, self.sid, meta)

    def _text_cb(self, node_id: str) -> Any:
        def text(message: str) -> None:
            self._call(self.state.send_text_frame(node_id, message))

        return text

    def _run_node(self, node_id: str, kwargs: dict[str, Any]) -> Any:
        """On a worker thread: the faults, the interrupt check, then the node itself."""
        faults = self.state.faults
        while faults.hang.is_set() and self.generation == self.state.generation:
            time.sleep(0.02)
        deadline = time.monotonic() + faults.node_delay_s
        while time.monotonic() < deadline:
            self._check_interrupt()
            time.sleep(0.01)
        self._check_interrupt()
        class_type = self.prompt[node_id]["class_type"]
        impl = NODES.get(class_type)
        if impl is None:
            raise NotImplementedError(f"the test server cannot run {class_type}")
        return impl.run(self._context(node_id), **kwargs)
