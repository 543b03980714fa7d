"""The Jobs panel's holds and paused queues on a real database with real logins (revision 0013).

The creator's window: job.hold on two selected jobs (extended selection) puts both on hold and says
so; the event log says who held them; another user's job is refused with the database's sentence;
the real dispatcher runs the queued jobs and leaves the held ones; job.release puts a job back.
job.pause_queue holds the creator's queued jobs and the next submission, shows the banner and the
status-bar indicator; job.pause_studio is the admin's (disabled for the creator, with the reason),
and the admin's studio pause, made from another client, reaches the creator's panel live. The
context menu holds the job actions (a view of the registry) and the hold/release keys are bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import qasync
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

from tests.comfy.conftest import comfy_server
from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from tests.ui.test_jobs_panel import _dispatch, _status, _submit, jobs_window, stage, studios
from x121_desktop.core.enums import JobStatus
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.job_board import JobBoardService
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.jobs import JobsPanel
from x121_desktop.ui.panels.jobs_hold import ADMINS_ONLY
from x121_desktop.ui.panels.jobs_model import cell_text

__all__ = ["comfy_server", "jobs_window", "qloop", "secure_studio", "services_as", "stage", "studios", "window_for"]


@pytest.fixture(autouse=True)
def _no_pause_left(secure_studio: SecureStudio) -> Iterator[None]:
    yield
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute("DELETE FROM job_queue_pauses")
        conn.execute("UPDATE jobs SET job_status_id = 9, finished_at = now() WHERE job_status_id IN (1, 11)")


def _select(panel: JobsPanel, job_ids: list[int]) -> None:
    chosen = panel.table.selectionModel()
    chosen.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for job_id in job_ids:
        chosen.select(panel.model.index(panel.model.row_of(job_id), 0), flags)


def _open(
    qloop: qasync.QEventLoop, jobs_window: Callable[[Studio], tuple[MainWindow, JobsPanel]], creator: Studio, n: int
) -> tuple[MainWindow, JobsPanel, list[int]]:
    """The creator's window with the Jobs panel started, and `n` jobs the creator submitted, shown."""
    window, panel = jobs_window(creator)
    jobs = [_submit(qloop, creator, "quick-png") for _ in range(n)]
    run(qloop, until(lambda: all(panel.model.row_of(j) >= 0 for j in jobs), what="the submitted jobs live"))
    return window, panel, jobs


def _state_cell(panel: JobsPanel, job_id: int) -> str:
    row = panel.model.job_at(panel.model.row_of(job_id))
    return "" if row is None else cell_text(row, "state")


def test_hold_and_release_selected_jobs_refuse_anothers_and_the_dispatcher_leaves_held_jobs(
    qloop: qasync.QEventLoop,
    jobs_window: Callable[[Studio], tuple[MainWindow, JobsPanel]],
    studios: Callable[[str], Studio],
    stage: SecureStudio,
) -> None:
    creator, admin = studios("creator"), studios("admin")
    window, panel, mine = _open(qloop, jobs_window, creator, 3)
    theirs = _submit(qloop, admin, "quick-png")
    run(qloop, until(lambda: panel.model.row_of(theirs) >= 0, what="the admin's job live"))
    hold, release = window.qactions["job.hold"], window.qactions["job.release"]
    assert (hold.shortcut().toString(), release.shortcut().toString()) == ("Ctrl+H", "Ctrl+Alt+H")
    assert not hold.isEnabled()

    _select(panel, mine[:2])
    run(qloop, until(lambda: len(panel.selected_rows()) == 2 and hold.isEnabled(), what="two jobs selected"))
    assert not release.isEnabled()
    assert not window.qactions["job.cancel"].isEnabled()  # single-job actions want one job
    hold.trigger()
    run(qloop, until(lambda: not panel.message.isHidden(), what="the hold"))
    assert panel.message.text() == f"Put jobs {mine[0]} and {mine[1]} on hold."
    assert [_status(stage, j) for j in mine] == [JobStatus.HELD, JobStatus.HELD, JobStatus.QUEUED]
    run(qloop, until(lambda: _state_cell(panel, mine[0]) == "On hold", what="the table showing it"))
    run(qloop, until(lambda: release.isEnabled() and not hold.isEnabled(), what="release offered for held jobs"))

    panel.select_job(mine[0])
    run(qloop, until(lambda: panel.details.details is not None and panel.details.details.row.id == mine[0]))
    with stage.connect(SUPERUSER) as conn:
        creator_name = conn.execute(
            "SELECT display_name FROM users WHERE id = %s", (stage.user_ids["creator"],)
        ).fetchone()
    assert creator_name is not None
    texts = panel.details.event_texts()
    assert texts[-1] == f"Put on hold by {creator_name[0]}: no dispatcher takes it until it is released"

    panel.select_job(theirs)
    run(qloop, until(lambda: panel.selected_id() == theirs and hold.isEnabled()))
    hold.trigger()
    run(qloop, until(lambda: "belongs to another user" in panel.message.text(), what="the refusal"))
    assert panel.message.text() == (
        f"Job {theirs} belongs to another user, so you cannot hold it. Ask its owner or a studio admin to hold it."
    )
    assert _status(stage, theirs) is JobStatus.QUEUED

    _dispatch(qloop, creator)  # a real dispatcher runs what is queued and leaves what is on hold
    assert [_status(stage, j) for j in (*mine, theirs)] == [JobStatus.HELD] * 2 + [JobStatus.SUCCEEDED] * 2

    panel.select_job(mine[1])
    run(qloop, until(lambda: panel.selected_id() == mine[1] and release.isEnabled()))
    release.trigger()
    run(qloop, until(lambda: panel.message.text() == f"Released job {mine[1]} from hold.", what="the release"))
    assert _status(stage, mine[1]) is JobStatus.QUEUED
    _dispatch(qloop, creator)
    assert [_status(stage, j) for j in mine[:2]] == [JobStatus.HELD, JobStatus.SUCCEEDED]

    # the context menu from the keyboard (the Menu key / Shift+F10 send a keyboard context-menu event)
    viewport, corner = panel.table.viewport(), QPoint(0, 0)
    keyboard = QContextMenuEvent.Reason.Keyboard
    no_keys = Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(viewport, QContextMenuEvent(keyboard, corner, viewport.mapToGlobal(corner), no_keys))
    [menu] = [m for m in panel.findChildren(QMenu, "JobsContextMenu") if m.isVisible()]
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
        "Put job on hold", "Release job from hold", "Cancel job", "Retry job", "Move job to front of queue",
        "Pause my queue", "Pause the studio queue",
    ]  # fmt: skip
    assert menu.actions()[1] is release  # the window's own actions: enabled as they are
    menu.close()


def test_pause_my_queue_holds_what_i_submit_and_the_admins_studio_pause_reaches_me_live(
    qloop: qasync.QEventLoop,
    jobs_window: Callable[[Studio], tuple[MainWindow, JobsPanel]],
    studios: Callable[[str], Studio],
    stage: SecureStudio,
) -> None:
    creator, admin = studios("creator"), studios("admin")
    window, panel, waiting = _open(qloop, jobs_window, creator, 2)
    mine, studio = window.qactions["job.pause_queue"], window.qactions["job.pause_studio"]
    run(qloop, until(lambda: panel.queue.state is not None and mine.isEnabled(), what="the queue state read"))
    assert not studio.isEnabled()
    assert studio.toolTip() == ADMINS_ONLY
    assert panel.queue.banner.isHidden()
    indicator = panel.queue.indicator
    assert indicator is not None
    assert indicator.isHidden()

    mine.trigger()  # checks it: pause my queue
    run(qloop, until(lambda: panel.message.text().startswith("Your queue is paused ("), what="the pause"))
    assert panel.message.text() == (
        "Your queue is paused (2 jobs put on hold); the jobs you submit are held until you resume it."
    )
    assert [_status(stage, j) for j in waiting] == [JobStatus.HELD] * 2
    run(qloop, until(lambda: not panel.queue.banner.isHidden(), what="the banner"))
    assert panel.queue.banner.text().startswith("Your queue is paused since ")
    assert mine.isChecked()
    assert indicator.text() == "My queue paused"
    later = _submit(qloop, creator, "quick-png")
    assert _status(stage, later) is JobStatus.HELD
    run(qloop, until(lambda: _state_cell(panel, later) == "On hold", what="the new job shown on hold"))

    said = run(qloop, JobBoardService(admin).pause_studio(True))  # the admin, on another workstation
    assert said.sentence == (
        "The studio queue is paused: no job starts until an admin resumes it; running jobs finish."
    )
    run(qloop, until(lambda: "paused the studio queue" in panel.message.text(), what="the studio pause heard"))
    assert panel.message.text().endswith(" paused the studio queue: no job starts until it is resumed.")
    assert panel.queue.banner.text().startswith("Studio queue paused by ")
    assert indicator.text() == "Studio queue paused · my queue paused"
    assert studio.isChecked()
    assert not studio.isEnabled()

    mine.trigger()  # unchecks it: resume my queue
    run(qloop, until(lambda: panel.message.text().startswith("Your queue is running again"), what="the resume"))
    assert panel.message.text() == "Your queue is running again (3 jobs released from hold)."
    assert [_status(stage, j) for j in (*waiting, later)] == [JobStatus.QUEUED] * 3
    run(qloop, JobBoardService(admin).pause_studio(False))
    run(qloop, until(lambda: panel.message.text() == "The studio queue is running again.", what="the resume heard"))
    run(qloop, until(lambda: panel.queue.banner.isHidden() and indicator.isHidden(), what="nothing paused shown"))
    assert not mine.isChecked()
    assert not studio.isChecked()
