"""This window's own dispatcher: started, stopped and restarted from the status bar, off by default.

It is the same Dispatcher `x121 worker` runs (claims queued jobs for the registered servers, leases,
heartbeats), as a task on the window's event loop; its blocking work runs in the studio's executors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from x121_desktop.core.errors import X121Error
from x121_desktop.services.health import DispatcherHealth

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.services.orchestrator.dispatcher import Dispatcher

log = logging.getLogger(__name__)
SETTLE_S = 0.5
GRACE_S = 5.0


class LocalDispatcher:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._task: asyncio.Task[object] | None = None
        self._stop: asyncio.Event | None = None
        self._dispatcher: Dispatcher | None = None
        self._problem: str | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def health(self) -> DispatcherHealth:
        if self.running and self._dispatcher is not None:
            claimed = self._dispatcher.stats.claimed
            detail = f"running as {self._dispatcher.holder}, {claimed} jobs claimed"
            trouble = self._dispatcher.trouble
            return DispatcherHealth(True, f"{detail}, but it {trouble}" if trouble else detail)
        if self._problem is not None:
            return DispatcherHealth(False, f"stopped: {self._problem}")
        return DispatcherHealth()

    async def start(self) -> DispatcherHealth:
        if self.running:
            return self.health()
        from x121_desktop.services.orchestrator.dispatcher import Dispatcher

        self._problem = None
        self._stop = asyncio.Event()
        self._dispatcher = Dispatcher(self._studio, grace_s=GRACE_S)
        self._task = asyncio.get_running_loop().create_task(self._run(self._dispatcher, self._stop))
        await asyncio.wait({self._task}, timeout=SETTLE_S)  # a dispatcher that cannot start says so at once
        return self.health()

    async def _run(self, dispatcher: Dispatcher, stop: asyncio.Event) -> object:
        try:
            return await dispatcher.run(stop)
        except X121Error as exc:
            self._problem = exc.sentence
        except Exception as exc:
            log.exception("the local dispatcher failed")
            self._problem = f"it failed ({type(exc).__name__}: {exc})"
        return None

    async def stop(self) -> DispatcherHealth:
        task, stop = self._task, self._stop
        if task is not None and stop is not None and not task.done():
            stop.set()
            done, _ = await asyncio.wait({task}, timeout=GRACE_S + 5.0)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        return self.health()

    async def restart(self) -> DispatcherHealth:
        await self.stop()
        return await self.start()
