"""The Qt tests' loop harness (tests/ui/qt_loop.py): the loop runs for the whole test, and what a test leaves
running is cancelled/stopped and named instead of leaking into the next test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.qt_loop import RunningLoop, finish, qloop, run, settle, until

__all__ = ["qloop"]


async def _ticks(seen: list[asyncio.AbstractEventLoop], n: int) -> int:
    for _ in range(n):
        await asyncio.sleep(0.01)
        seen.append(asyncio.get_running_loop())  # raised "no running event loop" when stepped between runs
    return n


def test_a_task_still_pending_when_run_returns_steps_inside_the_running_loop(qtbot: QtBot, qloop: RunningLoop) -> None:
    seen: list[asyncio.AbstractEventLoop] = []
    task = qloop.create_task(_ticks(seen, 5))
    assert run(qloop, asyncio.sleep(0)) is None  # returns while the task is still sleeping
    assert not task.done()
    qtbot.waitUntil(task.done, timeout=5000)  # only Qt's event processing, as pytest-qt and timers do
    assert task.result() == 5
    assert seen == [qloop] * 5


def test_run_and_until_drive_coroutines_from_test_code(qloop: RunningLoop) -> None:
    assert asyncio.get_event_loop() is qloop
    assert qloop.is_running()
    flag: list[int] = []
    qloop.call_later(0.05, flag.append, 1)
    run(qloop, until(lambda: flag, what="the callback"))
    assert flag == [1]
    with pytest.raises(AssertionError, match=r"timed out after 0\.1 s waiting for never"):
        run(qloop, until(lambda: False, 0.1, "never"))
    with pytest.raises(TimeoutError):
        run(qloop, asyncio.sleep(5), timeout=0.05)
    idle = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already running"):
        qloop.run_until_complete(idle)
    idle.close()
    with pytest.raises(RuntimeError, match="the qloop fixture stops it"):
        qloop.stop()

    async def nested() -> None:
        run(qloop, asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="inside a coroutine, await instead"):
        run(qloop, nested())


@pytest.fixture
def bare_loop(qapp: QApplication) -> Iterator[tuple[RunningLoop, list[QTimer]]]:
    """A harness loop outside the qloop fixture, so that a test can call its teardown (`finish`) itself."""
    before = [t for t in qapp.findChildren(QTimer) if t.isActive()]
    before += [t for w in qapp.topLevelWidgets() for t in w.findChildren(QTimer) if t.isActive()]
    loop = RunningLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop, before
    loop.end()
    loop.close()
    asyncio.set_event_loop(None)


def test_a_forgotten_task_and_timer_are_stopped_and_named_at_teardown(
    qapp: QApplication, bare_loop: tuple[RunningLoop, list[QTimer]]
) -> None:
    loop, before = bare_loop

    async def forgotten_poll() -> None:
        await asyncio.sleep(3600)

    task = loop.create_task(forgotten_poll(), name="the forgotten poll")
    finished = loop.create_task(asyncio.sleep(0))
    owner = QWidget()
    owner.setObjectName("LeftOpen")
    timer = QTimer(owner)
    timer.setObjectName("poll")
    timer.start(5000)
    try:
        run(loop, asyncio.sleep(0.02))
        assert finished.done()
        problems = finish(loop, qapp, before)
        assert len(problems) == 2, problems
        assert problems[0].startswith("task the forgotten poll: ")
        assert (
            "test_a_forgotten_task_and_timer_are_stopped_and_named_at_teardown.<locals>.forgotten_poll" in (problems[0])
        )
        waits_at = forgotten_poll.__code__.co_firstlineno + 1
        assert problems[0].endswith(f" → sleep (test_qt_loop.py:{waits_at})")  # where it waits, outside asyncio
        assert problems[1] == "QTimer poll every 5000 ms in QWidget#LeftOpen"
        assert task.cancelled()  # cancelled and awaited while the loop still ran
        assert not timer.isActive()
        assert finish(loop, qapp, before) == []  # nothing left the second time
    finally:
        owner.deleteLater()
        settle(loop)
