"""The asyncio loop of the Qt tests: qasync's loop *running* for the whole life of each test that uses it.

The old fixture ran each awaited step with `loop.run_until_complete(...)`: between two runs the loop was
stopped, yet Qt still delivered events (pytest-qt's processEvents, `qtbot.waitUntil`, a window's timers),
and a still-pending task stepped there met "RuntimeError: no running event loop" (or a later test's loop).
Here the loop is started as already running on the test QApplication (qasync's `already_running`) and
stays running from the fixture's setup to the end of its teardown, so every task always steps inside a
running loop, whoever makes Qt process events.

    def test_something(qloop, ...):
        rows = run(qloop, service.rows())                      # spins Qt's event loop until the coroutine ends
        run(qloop, until(lambda: panel.rows, what="the rows"))  # waits for a condition while Qt and asyncio run

`loop.run_until_complete` and `asyncio.run` raise inside such a test (a loop is running): use `run`, or
`run(qloop, asyncio.to_thread(...))` for code that runs its own `asyncio.run` (the `x121` commands).
`run` is for test code; inside a coroutine, await.

At teardown, while the loop still runs: every `MainWindow` still alive is shut down (its shutdown steps,
tasks) and closed, deleted widgets are flushed, then any task still pending and any QTimer still active
(that was not active before the test) is cancelled/stopped and the test fails with their names.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication

__all__ = ["LeftoverWork", "RunningLoop", "finish", "qloop", "run", "settle", "shut_down_windows", "until"]

SHUTDOWN_S = 20.0
"""How long a left-open window's shutdown and the cancelled leftovers may take at teardown."""
GUARD_S = 10.0
"""How long past its own timeout `run` spins before it gives up on a task that ignores cancellation."""


class LeftoverWork(AssertionError):
    """A test ended with asyncio tasks still pending or QTimers still running; the message names them."""


class RunningLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync has no type information
    """qasync's loop, running from construction until `end()`, on an application that keeps running.

    qasync's own `stop()` would quit the application: aboutToQuit fires, and every later nested event loop
    (`qtbot.waitUntil`, `run`) returns at once. So `stop()` is refused and `end()` stops being the running
    loop without touching the application.
    """

    def __init__(self, app: QCoreApplication) -> None:
        self._running = False  # asked while qasync's constructor runs
        super().__init__(app, already_running=True)
        self._app = app
        self._running = True

    def is_running(self) -> bool:
        return self._running

    def stop(self) -> None:
        raise RuntimeError("The test's qasync loop runs until the test ends; the qloop fixture stops it")

    def end(self) -> None:
        self._running = False
        asyncio.events._set_running_loop(None)
        with contextlib.suppress(RuntimeError, TypeError):  # connected by qasync's already_running start
            self._app.aboutToQuit.disconnect(self._after_run_forever)


def spin_until(done: Callable[[], bool], seconds: float, wake: Callable[[Callable[[], None]], None]) -> None:
    """Run Qt's event loop (and so the running asyncio loop on it) until `done()`, at most `seconds`.

    `wake(quit)` arranges for `quit` to be called when `done()` may have become true."""
    if done():
        return
    local = QEventLoop()
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(local.quit)
    wake(local.quit)
    deadline = time.monotonic() + seconds
    while not done() and (left := deadline - time.monotonic()) > 0:
        guard.start(max(1, int(left * 1000)))
        local.exec()
        if not done():  # exec() returns at once once something called QApplication.quit(); still make progress
            QCoreApplication.processEvents()
    guard.stop()


def run[T](loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T], timeout: float = 30.0) -> T:
    """From test code: run `awaitable` on the running test loop, Qt events flowing, and return its result."""
    refusal = None
    if not loop.is_running():
        refusal = "run() needs the qloop fixture's running loop (this one is stopped or closed)"
    elif asyncio.current_task(loop) is not None:
        refusal = "run() is for test code; inside a coroutine, await instead"
    if refusal is not None:
        if isinstance(awaitable, Coroutine):
            awaitable.close()  # never started: no "was never awaited" warning on top of the error
        raise RuntimeError(refusal)
    task = loop.create_task(_within(awaitable, timeout), name=f"test: {_name_of(awaitable)}")
    spin_until(task.done, timeout + GUARD_S, lambda quit_: task.add_done_callback(lambda _t: quit_()))
    if not task.done():
        task.cancel()
        spin_until(task.done, GUARD_S, lambda quit_: task.add_done_callback(lambda _t: quit_()))
        raise AssertionError(f"{task.get_name()} did not end within {timeout + GUARD_S:g} s, even when timed out")
    return task.result()


async def _within[T](awaitable: Awaitable[T], timeout: float) -> T:
    return await asyncio.wait_for(awaitable, timeout)


async def until(predicate: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll `predicate` every 50 ms while the loop runs; AssertionError naming `what` after `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def settle(loop: asyncio.AbstractEventLoop) -> None:
    """Let queued callbacks and posted events run, and delete what was deleteLater()'d."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    run(loop, asyncio.sleep(0.01))
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[RunningLoop]:
    """The running qasync loop of one test (see the module docstring); leftovers fail the test at teardown."""
    quits = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)  # closing a test window must not quit the application
    timers_before = _active_timers(qapp)
    loop = RunningLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        try:
            leftovers = finish(loop, qapp, timers_before)
        finally:
            loop.end()
            loop.close()
            asyncio.set_event_loop(None)
            qapp.setQuitOnLastWindowClosed(quits)
    if leftovers:
        raise LeftoverWork("the test left work running (now cancelled/stopped):\n  " + "\n  ".join(leftovers))


def finish(loop: RunningLoop, app: QApplication, timers_before: list[QTimer]) -> list[str]:
    """Teardown while `loop` still runs: shut down and close windows left open, cancel and await pending
    tasks, stop timers started during the test; returns what was left, by name."""
    problems = [f"window {w.windowTitle()!r} could not shut down: {e}" for w, e in shut_down_windows(loop, app)]
    settle(loop)
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    problems += [f"task {describe_task(t)}" for t in pending]
    for task in pending:
        task.cancel()
    if pending:
        gathered = asyncio.gather(*pending, return_exceptions=True)
        spin_until(gathered.done, SHUTDOWN_S, lambda quit_: gathered.add_done_callback(lambda _f: quit_()))
        problems += [f"task {describe_task(t)} ignored its cancellation" for t in pending if not t.done()]
    for timer in _active_timers(app):
        if not any(timer is before for before in timers_before):
            problems.append(describe_timer(timer))
            timer.stop()
    return problems


def shut_down_windows(loop: RunningLoop, app: QApplication) -> list[tuple[QObject, BaseException]]:
    """Every studio window still alive: `shutdown()` (idempotent), close, delete; the failures."""
    from x121_desktop.ui.main_window import MainWindow

    failed: list[tuple[QObject, BaseException]] = []
    for window in [w for w in app.topLevelWidgets() if isinstance(w, MainWindow)]:
        try:
            run(loop, window.shutdown(), SHUTDOWN_S)
        except Exception as exc:
            failed.append((window, exc))
        window.close()
        window.deleteLater()
    return failed


def _active_timers(app: QApplication) -> list[QTimer]:
    owners: list[QObject] = [app, *app.topLevelWidgets()]
    return [t for owner in owners for t in owner.findChildren(QTimer) if t.isActive()]


def describe_task(task: asyncio.Task[Any]) -> str:
    """The task's name and the chain of coroutines it is suspended in, innermost last, with the innermost
    place outside asyncio."""
    chain: list[str] = []
    where = ""
    coro: Any = task.get_coro()
    while coro is not None and hasattr(coro, "cr_frame"):
        chain.append(getattr(coro, "__qualname__", repr(coro)))
        frame = coro.cr_frame
        if frame is not None and "asyncio" not in Path(frame.f_code.co_filename).parts:
            where = f" ({Path(frame.f_code.co_filename).name}:{frame.f_lineno})"
        coro = coro.cr_await
    return f"{task.get_name()}: {' → '.join(chain) or repr(task.get_coro())}{where}"


def describe_timer(timer: QTimer) -> str:
    owners: list[str] = []
    parent = timer.parent()
    while parent is not None:
        owners.append(type(parent).__name__ + (f"#{parent.objectName()}" if parent.objectName() else ""))
        parent = parent.parent()
    name = timer.objectName() or "(unnamed)"
    return f"QTimer {name} every {timer.interval()} ms in {' < '.join(owners) or 'no parent'}"


def _name_of(awaitable: Awaitable[Any]) -> str:
    if isinstance(awaitable, Coroutine):
        return str(getattr(awaitable, "__qualname__", awaitable))
    return type(awaitable).__name__
