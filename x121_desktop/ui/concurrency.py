"""Awaiting services from the UI: tasks whose errors become notifications, and long work with progress + cancel.

The qasync loop runs asyncio on Qt's event loop, so a coroutine started here resumes on the main
thread and may touch widgets after each `await`. Services do their blocking work in executors.

    tasks = TaskRunner(notify=notifier.post_error)            # one per window
    tasks.spawn(self._reload(), what="reload the project list")
    tasks.run_cancellable(lambda token, progress: imports.run(req, cancel=token, progress=progress),
                          "Import 240 seed images")

`run_cancellable` shows the operation in the progress panel (ProgressCenter) with a Cancel button that
sets the CancelToken and cancels the task; progress reported from worker threads is handed to the main
thread with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from x121_desktop.core.cancel import CancelToken, ProgressSink
from x121_desktop.core.errors import Cancelled, X121Error

log = logging.getLogger(__name__)

ErrorSink = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class Operation:
    """A long operation as the progress panel shows it."""

    id: int
    title: str
    done: float = 0.0
    total: float = 0.0
    """0 while the amount of work is unknown (busy indicator)."""
    message: str = ""
    cancellable: bool = True
    cancel_requested: bool = False


class ProgressCenter(QObject):
    """The window's running operations; the progress panel and status bar are views of it."""

    operation_started = Signal(int)
    operation_progressed = Signal(int)
    operation_finished = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ops: dict[int, Operation] = {}
        self._cancels: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count(1)

    def start(self, title: str, cancel: Callable[[], None] | None) -> int:
        op_id = next(self._ids)
        self._ops[op_id] = Operation(op_id, title, cancellable=cancel is not None)
        if cancel is not None:
            self._cancels[op_id] = cancel
        self.operation_started.emit(op_id)
        return op_id

    def update(self, op_id: int, done: float, total: float, message: str = "") -> None:
        op = self._ops.get(op_id)
        if op is None:
            return
        self._ops[op_id] = replace(op, done=done, total=total, message=message or op.message)
        self.operation_progressed.emit(op_id)

    def finish(self, op_id: int) -> None:
        self._cancels.pop(op_id, None)
        if self._ops.pop(op_id, None) is not None:
            self.operation_finished.emit(op_id)

    def cancel(self, op_id: int) -> None:
        op = self._ops.get(op_id)
        cancel = self._cancels.pop(op_id, None)
        if op is None or cancel is None:
            return
        self._ops[op_id] = replace(op, cancel_requested=True, message="cancelling…")
        self.operation_progressed.emit(op_id)
        cancel()

    def get(self, op_id: int) -> Operation | None:
        return self._ops.get(op_id)

    def operations(self) -> tuple[Operation, ...]:
        return tuple(self._ops.values())


class TaskRunner(QObject):
    """Starts coroutines on the running loop and routes their failures to a one-sentence sink."""

    task_failed = Signal(str)

    def __init__(self, notify_error: ErrorSink, progress: ProgressCenter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._notify_error = notify_error
        self.progress = progress
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn[T](self, coro: Coroutine[Any, Any, T], *, what: str) -> asyncio.Task[T | None]:
        """Run `coro`; an X121Error is shown as its sentence, anything else as "Could not <what>"."""
        task = asyncio.get_event_loop().create_task(self._guarded(coro, what))
        self._tasks.add(task)

        def done(t: asyncio.Task[T | None]) -> None:
            self._tasks.discard(t)
            coro.close()  # a task cancelled before it started never awaited `coro`; closing says it is fine

        task.add_done_callback(done)
        return task

    def run_cancellable[T](
        self,
        work: Callable[[CancelToken, ProgressSink], Awaitable[T]],
        title: str,
        *,
        on_done: Callable[[T], None] | None = None,
    ) -> asyncio.Task[T | None]:
        """Long work with a progress row and a Cancel button; returns the task (None result if it failed)."""
        token = CancelToken()
        loop = asyncio.get_event_loop()
        holder: dict[str, asyncio.Task[T | None]] = {}

        def cancel() -> None:
            token.cancel()
            task = holder.get("task")
            if task is not None:
                task.cancel()

        op_id = self.progress.start(title, cancel)

        def sink(done: float, total: float, message: str = "") -> None:
            # called from worker threads: hand over to the main thread
            loop.call_soon_threadsafe(self.progress.update, op_id, done, total, message)

        async def body() -> T:
            try:
                result = await work(token, sink)
            finally:
                self.progress.finish(op_id)
            if on_done is not None:
                on_done(result)
            return result

        task = holder["task"] = self.spawn(body(), what=title[:1].lower() + title[1:])
        # A task cancelled before its first step never runs body's finally: its row would stay for good.
        task.add_done_callback(lambda _t: self.progress.finish(op_id))
        return task

    async def _guarded[T](self, coro: Coroutine[Any, Any, T], what: str) -> T | None:
        try:
            return await coro
        except (asyncio.CancelledError, Cancelled):
            return None
        except X121Error as exc:
            self._report(exc.sentence)
        except Exception as exc:
            log.exception("%s failed", what)
            self._report(f"Could not {what} ({type(exc).__name__}: {exc}). See the log for details.")
        return None

    def _report(self, sentence: str) -> None:
        self.task_failed.emit(sentence)
        self._notify_error(sentence)

    def running(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 5.0) -> None:
        """Cancel what is still running and wait for it (window close, tests)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


async def wait_for[T](awaitable: Awaitable[T], seconds: float) -> T:
    """`asyncio.wait_for` with an X121 sentence instead of TimeoutError."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise X121Error(f"The operation did not finish within {seconds:g} s", "Try again") from None
