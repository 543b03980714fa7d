"""The Jobs panel on a real database with real logins and the ComfyUI stand-in running the jobs.

Jobs are submitted through `JobQueueService` and run by the real `Dispatcher` in the window's loop;
the panel hears every change through its LISTEN thread. Checked: a job shows up live and moves
through its states to its stored outputs; a failed job's details name the node and the exception;
job.retry makes a new linked job; job.move_to_front and job.cancel change the database as intended;
a creator's cancel of another user's job is refused with the sentence shown and changes nothing;
an `x121://jobs/<id>` link selects that job. Its LISTEN thread and timers run from the window's start until
the window's shutdown, and the thread also ends when the panel is destroyed without one.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import qasync
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.services.test_runner import CORRUPT, QUICK_PNG, tiny_png
from tests.ui.qt_loop import settle
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.core.collab.handoff import runtime_socket
from x121_desktop.core.enums import JobKind, JobStatus, ServerStatus
from x121_desktop.core.ids import JobId, UserId
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.handoff import forward
from x121_desktop.services.job_board import JobBoardRow, JobBoardService, Progress
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest
from x121_desktop.ui.app import _build_window
from x121_desktop.ui.docks import PanelRegistry, WindowServices, default_panels
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.jobs import JobsPanel, jobs_panel_spec
from x121_desktop.ui.panels.jobs_model import cell_text
from x121_desktop.ui.panels.pulse import PulsePanel
from x121_desktop.ui.panels.servers import ServersPanel

__all__ = ["comfy_server", "qloop", "secure_studio", "services_as", "window_for"]


def _manifest(name: str, parameters: dict[str, object]) -> str:
    manifest = {"format": "x121.workflow-manifest", "version": 1, "workflow": f"{name}.api.json"}
    return json.dumps({**manifest, "parameters": parameters})


@pytest.fixture
def stage(secure_studio: SecureStudio, comfy_server: ComfyTestServer) -> SecureStudio:
    """Two workflows (a quick PNG, and one whose second branch loads a corrupt image) and the stand-in registered."""
    bad = {"type": "image", "required": True, "targets": [{"node": "4", "input": "image"}]}
    with secure_studio.connect(SUPERUSER) as conn:
        for name, api, params in (("quick-png", QUICK_PNG, {}), ("corrupt-branch", CORRUPT, {"bad": bad})):
            row = conn.execute(  # the studio database lives for the module: stage it once
                "INSERT INTO workflows (name) VALUES (%s) ON CONFLICT (name) DO NOTHING RETURNING id", (name,)
            ).fetchone()
            if row is None:
                continue
            conn.execute(
                "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, manifest) "
                "VALUES (%s, 1, encode(sha256(%s::bytea), 'hex'), %s::jsonb, %s::jsonb)",
                (row[0], name.encode(), json.dumps(api), _manifest(name, params)),
            )
        conn.execute("UPDATE comfy_servers SET is_enabled = false")  # the fixture's unreachable gpu-1
        conn.execute(  # and its placeholder job, which has no prompt to run
            "UPDATE jobs SET job_status_id = %s, finished_at = now() WHERE id = %s",
            (int(JobStatus.CANCELLED), secure_studio.ids["job"]),
        )
        conn.execute(
            "INSERT INTO comfy_servers (name, base_url, server_status_id, slots, queued_slots) "
            "VALUES ('stand-in', %s, %s, 1, 1) ON CONFLICT (name) DO UPDATE SET base_url = EXCLUDED.base_url, "
            "is_enabled = true, server_status_id = EXCLUDED.server_status_id",  # the line above disabled it too
            (comfy_server.url, int(ServerStatus.ONLINE)),
        )
    return secure_studio


@pytest.fixture
def studios(stage: SecureStudio, tmp_path: Path) -> Iterator[Callable[[str], Studio]]:
    opened: dict[str, Studio] = {}

    def make(who: str) -> Studio:
        if who not in opened:
            home = tmp_path / "home"  # one media store for everyone, as on a studio share
            opened[who] = open_studio(LaunchOptions(database_url=stage.url(who), home=str(home)))
        return opened[who]

    yield make
    for studio in opened.values():
        studio.close()


@pytest.fixture
def jobs_window(
    window_for: Callable[..., MainWindow], services_as: Callable[[str], WindowServices]
) -> Iterator[Callable[[Studio], tuple[MainWindow, JobsPanel]]]:
    """A window with the Jobs panel on `studio` (signed in as the creator), started; its listener stopped after."""
    panels_made: list[JobsPanel] = []

    def make(studio: Studio) -> tuple[MainWindow, JobsPanel]:
        panels: PanelRegistry = default_panels()
        panels.register(jobs_panel_spec(studio))
        window = window_for(services_as("creator"), panels=panels)
        panel = window.panel("jobs", JobsPanel)
        assert panel is not None
        panels_made.append(panel)
        window.started.emit()  # what MainWindow.start() ends with: the panel starts listening and loads
        assert panel.listener is not None
        assert panel.listener.wait_listening(10)
        return window, panel

    yield make
    for panel in panels_made:
        panel.stop()


def _submit(loop: qasync.QEventLoop, studio: Studio, workflow: str, inputs: dict[str, object] | None = None) -> int:
    request = SubmitRequest(workflow, inputs or {}, use_cache=False)
    return int(run(loop, JobQueueService(studio).submit(request)).job.id)


def _status(s: SecureStudio, job_id: int) -> JobStatus:
    with s.connect(SUPERUSER) as conn:
        row = conn.execute("SELECT job_status_id FROM jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None
    return JobStatus(row[0])


def _dispatch(qloop: qasync.QEventLoop, studio: Studio) -> None:
    dispatcher = Dispatcher(studio, lease_s=3.0, poll_s=0.5, once=True)
    run(qloop, dispatcher.run(), timeout=45)


def _seen_states(panel: JobsPanel, job_id: int) -> list[JobStatus]:
    seen: list[JobStatus] = []

    def look() -> None:
        at = panel.model.row_of(job_id)
        row = panel.model.job_at(at)
        if row is not None and (not seen or seen[-1] is not row.status):
            seen.append(row.status)

    panel.reloaded.connect(look)
    return seen


def test_a_submitted_job_shows_up_live_moves_through_its_states_and_a_failure_names_node_and_exception(
    qloop: qasync.QEventLoop,
    jobs_window: Callable[[Studio], tuple[MainWindow, JobsPanel]],
    studios: Callable[[str], Studio],
    comfy_server: ComfyTestServer,
    stage: SecureStudio,
    tmp_path: Path,
) -> None:
    creator = studios("creator")
    window, panel = jobs_window(creator)
    comfy_server.faults.node_delay_s = 0.4  # slow enough for the running state to be seen
    good = _submit(qloop, creator, "quick-png")
    seen = _seen_states(panel, good)
    run(qloop, until(lambda: panel.model.row_of(good) >= 0, what="the submitted job in the table"))
    row = panel.model.job_at(panel.model.row_of(good))
    assert row is not None
    assert (row.status, row.workflow, row.kind.label) == (JobStatus.QUEUED, "quick-png v1", "Generate segment")
    _dispatch(qloop, creator)
    run(qloop, until(lambda: seen and seen[-1] is JobStatus.SUCCEEDED, what="the job to succeed in the table"))
    assert seen[0] is JobStatus.QUEUED
    assert set(seen[1:-1]) & {JobStatus.SUBMITTED, JobStatus.RUNNING}, seen  # seen live on the way
    panel.select_job(good)
    run(qloop, until(lambda: panel.details.details is not None and panel.details.details.row.id == good))
    details = panel.details.details
    assert details is not None
    assert details.row.server == "stand-in"
    assert details.row.gpu_seconds is not None
    assert details.row.gpu_seconds > 0
    texts = panel.details.event_texts()
    assert texts[0] == "Created"
    assert any(t.startswith("Claimed by ") for t in texts)
    assert texts[-1].startswith("Succeeded: 1 output file(s)")
    [output] = details.outputs
    assert output.node_id == "3"
    assert output.path.is_file()
    assert panel.details.failure.isHidden()

    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(tiny_png(2)[:60])  # a truncated PNG: LoadImage raises while running
    bad = _submit(qloop, creator, "corrupt-branch", {"bad": str(corrupt)})
    comfy_server.faults.node_delay_s = 0.0
    _dispatch(qloop, creator)
    panel.select_job(bad)
    run(
        qloop, until(lambda: panel.details.details is not None and panel.details.details.row.status is JobStatus.FAILED)
    )
    assert not panel.details.failure.isHidden()
    failure = panel.details.failure.text()
    assert failure.startswith("Failed at node 4 (LoadImage): ")
    assert failure.split(": ")[1]  # the exception type the server reported
    assert _status(stage, bad) is JobStatus.FAILED
    assert panel.model.job_at(panel.model.row_of(bad)).status is JobStatus.FAILED  # type: ignore[union-attr]

    # an explicit retry: a new job linked to the failed one, selected in the table
    retry: QAction = window.qactions["job.retry"]
    assert retry.isEnabled()
    assert not window.qactions["job.move_to_front"].isEnabled()
    retry.trigger()
    run(qloop, until(lambda: panel.selected_id() not in (None, bad), what="the retry selected"))
    new = panel.selected_row()
    assert new is not None
    assert (new.retry_of, new.status, new.workflow) == (bad, JobStatus.QUEUED, "corrupt-branch v1")
    assert (
        panel.message.text() == f"Job {bad} was queued again as job {new.id} (same workflow version, inputs and seed)."
    )
    # job links from the failure notification select the job
    assert panel.open_link(f"x121://jobs/{bad}")
    run(qloop, until(lambda: panel.selected_id() == bad, what="the linked job selected"))
    assert not panel.open_link("x121://project/1/scene/1")


def test_cancel_and_move_to_front_change_the_database_and_another_users_job_is_refused(
    qloop: qasync.QEventLoop,
    jobs_window: Callable[[Studio], tuple[MainWindow, JobsPanel]],
    studios: Callable[[str], Studio],
    stage: SecureStudio,
) -> None:
    creator, admin = studios("creator"), studios("admin")
    window, panel = jobs_window(creator)
    theirs = _submit(qloop, admin, "quick-png")
    mine = [_submit(qloop, creator, "quick-png") for _ in range(3)]
    run(qloop, until(lambda: all(panel.model.row_of(j) >= 0 for j in [theirs, *mine]), what="all four jobs live"))
    cancel, front = window.qactions["job.cancel"], window.qactions["job.move_to_front"]
    assert not cancel.isEnabled()  # nothing selected

    panel.select_job(theirs)
    run(qloop, until(lambda: panel.selected_id() == theirs))
    assert cancel.isEnabled()
    cancel.trigger()
    run(qloop, until(lambda: not panel.message.isHidden(), what="the refusal"))
    assert panel.message.text() == (
        f"Job {theirs} belongs to another user. Ask its owner or a studio admin to cancel it"
    )
    assert _status(stage, theirs) is JobStatus.QUEUED

    panel.select_job(mine[2])
    run(qloop, until(lambda: panel.selected_id() == mine[2]))
    front.trigger()
    run(qloop, until(lambda: "is now first" in panel.message.text(), what="the move"))
    with stage.connect(SUPERUSER) as conn:
        priorities = [conn.execute("SELECT priority FROM jobs WHERE id = %s", (j,)).fetchone() for j in [*mine, theirs]]
    assert [p[0] for p in priorities if p is not None] == [-1, -1, 0, 0]
    run(qloop, until(lambda: panel.selected_row() is not None and panel.selected_row().priority == 0))  # type: ignore[union-attr]

    cancel.trigger()
    run(qloop, until(lambda: panel.message.text() == f"Job {mine[2]} was cancelled.", what="the cancel"))
    assert _status(stage, mine[2]) is JobStatus.CANCELLED
    assert [_status(stage, j) for j in (mine[0], mine[1], theirs)] == [JobStatus.QUEUED] * 3
    run(qloop, until(lambda: not cancel.isEnabled() and window.qactions["job.retry"].isEnabled()))

    # mine / everyone and the state filter
    panel.scope.setCurrentIndex(1)
    run(qloop, until(lambda: panel.model.row_of(theirs) < 0 and panel.model.row_of(mine[0]) >= 0))
    panel.state.setCurrentIndex(panel.state.findText(JobStatus.CANCELLED.label))
    run(qloop, until(lambda: {r.status for r in panel.model.rows()} == {JobStatus.CANCELLED}, what="cancelled only"))
    shown = {r.id for r in panel.model.rows()}
    assert mine[2] in shown
    assert not shown & {mine[0], mine[1], theirs}
    assert {r.owner_id for r in panel.model.rows()} == {stage.user_ids["creator"]}


def test_the_real_window_has_both_panels_and_a_failed_jobs_pulse_link_opens_it_in_jobs(
    qtbot: QtBot, qloop: qasync.QEventLoop, pg_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X121_HOME", str(pg_tmp))
    studio = open_studio(LaunchOptions())
    try:
        with studio.engine.begin() as conn:
            job = repo.enqueue(conn, repo.NewJob(kind=JobKind.GENERATE, inputs={"prompt": {}})).id
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        window = _build_window(app, studio)
        jobs, servers = window.panel("jobs", JobsPanel), window.panel("servers", ServersPanel)
        pulse = window.panel("pulse", PulsePanel)
        assert jobs is not None
        assert servers is not None
        assert pulse is not None
        for action_id, keys in (("view.panel.jobs", "Ctrl+3"), ("view.panel.servers", "Ctrl+4")):
            assert window.qactions[action_id].isEnabled()
            assert window.qactions[action_id].shortcut().toString() == keys
        pause, studio_pause = window.qactions["job.pause_queue"], window.qactions["job.pause_studio"]
        run(qloop, asyncio.sleep(0))  # the panel sets them again after the window enabled its `always` actions
        assert not pause.isEnabled()  # until the panel has read who is signed in and the paused queues
        jobs.start()  # what the window's start does
        run(qloop, until(lambda: jobs.queue.state is not None and pause.isEnabled(), what="the queue state"))
        # the embedded single-user default signs in as the studio's admin
        assert studio_pause.isEnabled()
        assert not pause.isChecked()
        assert not studio_pause.isChecked()
        pulse.link_activated.emit(f"x121://jobs/{job}")  # as a failed job's notification in Studio Pulse
        run(qloop, until(lambda: jobs.selected_id() == job, what="the linked job selected in Jobs"))
        assert all("malformed" not in n.text for n in window.notifier.items())
        # The same link handed over by `x121 open` from another process.
        with studio.engine.begin() as conn:
            other = repo.enqueue(conn, repo.NewJob(kind=JobKind.GENERATE, inputs={"prompt": {}})).id
        replies: list[str | None] = []
        socket_path = runtime_socket(studio.paths.home)
        sender = threading.Thread(target=lambda: replies.append(forward(socket_path, f"x121://jobs/{other}")))
        sender.start()
        run(qloop, until(lambda: jobs.selected_id() == other, what="the handed-over job link selected in Jobs"))
        sender.join(5)
        assert replies == [None]
        run(qloop, window.shutdown())
        jobs.stop()
        servers.stop()
        window.close()
        window.deleteLater()
        run(qloop, asyncio.sleep(0.01))
    finally:
        studio.close()


def _listeners() -> int:
    return sum(t.name == "x121-job-listener" and t.is_alive() for t in threading.enumerate())


def test_the_listener_and_clock_stop_with_the_windows_shutdown_or_when_the_panel_is_destroyed(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], studios: Callable[[str], Studio]
) -> None:
    panels: PanelRegistry = default_panels()
    panels.register(jobs_panel_spec(studios("creator")))
    window = MainWindow(services_as("creator"), panels=panels, use_tray=False)
    panel = window.panel("jobs", JobsPanel)
    assert panel is not None
    assert not panel.running()  # nothing runs before the window starts
    before = _listeners()
    window.started.emit()
    assert panel.running()
    assert _listeners() == before + 1
    run(qloop, until(lambda: window.tasks.running() == 0, what="the first reads"))
    run(qloop, window.shutdown())  # the panel's shutdown step
    assert not panel.running()
    assert _listeners() == before

    alone = JobsPanel(JobBoardService(studios("creator")), window.tasks, window.notifier)  # no window, no step
    alone.start()
    assert _listeners() == before + 1
    run(qloop, until(lambda: window.tasks.running() == 0, what="its first reads"))
    alone.deleteLater()  # destroyed: its LISTEN thread ends (its timers, its children, with it)
    settle(qloop)
    assert _listeners() == before
    window.close()


def test_table_cells_say_progress_time_retry_and_cancelling() -> None:
    now = datetime.now(UTC)
    row = JobBoardRow(
        id=JobId(12), kind=JobKind.GENERATE, workflow=None, owner_id=UserId(1), owner="Ada", priority=2,
        status=JobStatus.RUNNING, server="gpu-1", progress=Progress("5", 7, 20),
        created_at=now - timedelta(seconds=90), started_at=now - timedelta(seconds=75), finished_at=None,
        gpu_seconds=None, retry_of=JobId(9), error=None, cancel_requested=True, attempts=2, max_attempts=3,
    )  # fmt: skip
    assert cell_text(row, "id") == "#12 ← #9"
    assert cell_text(row, "workflow") == "API prompt"
    assert cell_text(row, "progress") == "node 5: 7/20 (35%)"
    assert cell_text(row, "state") == "Running (cancelling) · attempt 2/3"
    assert cell_text(row, "time").startswith("running 1m 1")
    done = replace(row, status=JobStatus.SUCCEEDED, finished_at=now - timedelta(seconds=70), gpu_seconds=4.25)
    assert (cell_text(done, "time"), cell_text(done, "gpu"), cell_text(done, "progress")) == (
        "took 5.0s",
        "4.25",
        "done",
    )
    waiting = replace(row, status=JobStatus.QUEUED, started_at=None, progress=None, cancel_requested=False)
    assert cell_text(waiting, "time").startswith("queued 1m 3")
    assert cell_text(waiting, "progress") == ""
    held = replace(waiting, status=JobStatus.HELD, attempts=0)
    assert (cell_text(held, "state"), cell_text(held, "time")[:10]) == ("On hold", "on hold 1m")
