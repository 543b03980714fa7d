"""Background work of the review tools: errors a person can fix become their sentence, never a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from x121_desktop.core.errors import X121Error


class SentenceTasks:
    """Runs coroutines on the loop; an X121Error goes to `report` as its sentence; `drain` waits (tests, closing)."""

    def __init__(self, report: Callable[[str], object], drain_timeout_s: float = 20.0) -> None:
        self._report = report
        self._drain_timeout_s = drain_timeout_s
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await coro
            except X121Error as exc:
                self._report(exc.sentence)

        task = asyncio.get_event_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self._drain_timeout_s)
