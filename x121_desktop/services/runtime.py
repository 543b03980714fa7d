"""The executors blocking work runs in; services await them and never block the event loop."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Runtime:
    """db_writer has one worker so writes from this client are serial; the rest are pools."""

    db_writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "x121-db-writer"))
    db_read: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, "x121-db-read"))
    cpu: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(os.cpu_count() or 2, "x121-cpu"))
    io: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8, "x121-io"))

    async def run(self, pool: ThreadPoolExecutor, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        for pool in (self.db_writer, self.db_read, self.cpu, self.io):
            pool.shutdown(wait=True, cancel_futures=True)
