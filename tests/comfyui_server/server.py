"""ComfyTestServer: the stand-in on 127.0.0.1 with a free port, on its own thread and event loop."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from tests.comfyui_server.app import build_app
from tests.comfyui_server.faults import Faults
from tests.comfyui_server.state import ServerState
from tests.comfyui_server.worker import worker

OBJECT_INFO = Path(__file__).resolve().parents[2].parent / "shared" / "comfyui" / "object_info.json"
T = TypeVar("T")


@functools.cache
def recorded_object_info() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OBJECT_INFO.read_text())
    return loaded


class ComfyTestServer:
    """Start with `start()`, stop with `stop()`; state changes go through the loop thread."""

    def __init__(self, root: Path, *, models: dict[str, list[str]] | None = None) -> None:
        self.root = root
        for sub in ("input", "output", "temp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.faults = Faults()
        self._loop = asyncio.new_event_loop()
        self._state: ServerState | None = None
        self._runner: web.AppRunner | None = None
        self._worker: asyncio.Task[None] | None = None
        self._models = dict(models or {})
        self._thread = threading.Thread(target=self._loop.run_forever, name="comfy-test-server", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state(self) -> ServerState:
        assert self._state is not None, "start() the server first"
        return self._state

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a coroutine on the server's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(timeout=30)

    def start(self) -> ComfyTestServer:
        self._thread.start()
        self.call(self._start)
        return self

    async def _start(self) -> None:
        self._state = ServerState(self.root, recorded_object_info(), self.faults, self._models)
        self._runner = web.AppRunner(build_app(self._state), shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]
        self._worker = asyncio.create_task(worker(self._state))

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self.faults.clear()
        self.call(self._stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _stop(self) -> None:
        if self._state is not None:
            self._state.generation += 1
            await self._state.drop_sockets()
        if self._worker is not None:
            self._worker.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> ComfyTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ test controls

    def set_models(self, folder: str, names: list[str]) -> None:
        """Which model files the server "has" (loader lists in /object_info and /models)."""
        self._models[folder] = list(names)

    def pin_output_order(self, order: list[str]) -> None:
        """Run output nodes in this order (a recording's `outputs_to_execute`), as that server's set did."""
        self.state.output_rank = {node_id: index for index, node_id in enumerate(order)}

    def drop_sockets(self) -> None:
        self.call(self.state.drop_sockets)

    def restart(self) -> None:
        """Forget history, queue, cache and sockets, like a restarted ComfyUI on the same port."""
        self.call(self.state.restart)

    def interrupt_flag(self) -> bool:
        return self.state.interrupted
