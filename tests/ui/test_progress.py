"""Long operations: a progress row per operation, progress from worker threads, Cancel that really stops."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import qasync
from PySide6.QtWidgets import QPushButton

from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.core.cancel import CancelToken, ProgressSink
from x121_desktop.core.errors import MediaError
from x121_desktop.ui.docks import WindowServices
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.notifications import NotificationsPanel
from x121_desktop.ui.panels.progress import ProgressPanel

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]

WindowFactory = Callable[..., MainWindow]


def blocking_import(token: CancelToken, progress: ProgressSink, steps: int, gate: threading.Event) -> int:
    """Stands in for an import on an executor thread: reports each step, stops when cancelled."""
    for done in range(steps):
        token.raise_if_cancelled("The import")
        progress(done, steps, f"image {done + 1} of {steps}")
        gate.wait(5)
    progress(steps, steps, "done")
    return steps


def test_cancel_stops_the_work_and_removes_its_row(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    window = window_for(services_as("creator"))
    panel = window.panel("progress", ProgressPanel)
    assert panel is not None
    gate = threading.Event()
    seen_tokens: list[CancelToken] = []

    async def work(token: CancelToken, progress: ProgressSink) -> int:
        seen_tokens.append(token)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, blocking_import, token, progress, 10, gate)

    task = window.tasks.run_cancellable(work, "Import 10 seed images")
    run(qloop, until(lambda: panel.rows, what="the operation row"))
    (row,) = panel.rows.values()
    assert row.title.text() == "Import 10 seed images"
    run(qloop, until(lambda: "image 1 of 10" in row.message.text(), what="progress from the worker thread"))
    assert row.bar.maximum() == 1000
    cancel = row.findChild(QPushButton, "CancelOperation")
    assert cancel is not None
    cancel.click()
    gate.set()
    assert run(qloop, task) is None
    assert seen_tokens[0].cancelled
    assert panel.rows == {}
    assert not panel.idle.isHidden()
    assert window.progress.operations() == ()


def test_finished_work_reports_its_result_and_failures_become_notifications(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    window = window_for(services_as("creator"))
    results: list[int] = []
    gate = threading.Event()
    gate.set()

    async def work(token: CancelToken, progress: ProgressSink) -> int:
        return await asyncio.get_running_loop().run_in_executor(None, blocking_import, token, progress, 3, gate)

    def keep(result: int) -> None:
        results.append(result)

    task = window.tasks.run_cancellable(work, "Import 3 seed images", on_done=keep)
    assert run(qloop, task) == 3
    assert results == [3]

    async def broken(token: CancelToken, progress: ProgressSink) -> int:
        progress(0, 0, "probing")
        raise MediaError("clip.mov has no video stream", "Export it again with a video track")

    assert run(qloop, window.tasks.run_cancellable(broken, "Import clip.mov")) is None
    panel = window.panel("notifications", NotificationsPanel)
    assert panel is not None
    assert panel.texts()[0] == "clip.mov has no video stream. Export it again with a video track"
    assert window.progress.operations() == ()


def test_cancel_before_the_work_starts_still_removes_its_row(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    window = window_for(services_as("creator"))
    panel = window.panel("progress", ProgressPanel)
    assert panel is not None
    started: list[bool] = []

    async def work(token: CancelToken, progress: ProgressSink) -> int:
        started.append(True)
        return 1

    task = window.tasks.run_cancellable(work, "Analyse 3 seams")
    (op,) = window.tasks.progress.operations()
    window.tasks.progress.cancel(op.id)  # before the loop gave the task its first step
    assert run(qloop, asyncio.wait([task])) is not None
    assert task.cancelled() or task.result() is None
    assert not started
    assert window.tasks.progress.operations() == ()
    run(qloop, until(lambda: not panel.rows, what="the row to go"))
