"""Live telemetry driven by the ComfyUI stand-in: executing/progress/cached/done states, per-node times
with the historical average on hover, preview frames, and the runtime error pinned on the failing node."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from tests.ui.studio_fixtures import qloop, run
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.core.enums import JobKind, JobStatus, ServerStatus
from x121_desktop.core.graph.edits import SetWidgetValue
from x121_desktop.core.graph.from_api import document_from_api
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.db.repositories import jobs as jobs_repo
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.node_editor_jobs import EditorRunJobs
from x121_desktop.services.node_editor_runs import (
    NodeFinished,
    NodePreview,
    NodeStarted,
    RunEnded,
    RunEvent,
    TestRunService,
    WaitingForSlot,
)
from x121_desktop.services.node_editor_timings import NodeTimingsService
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.storage import MediaStore
from x121_desktop.ui.node_editor.editor import NodeEditor
from x121_desktop.ui.node_editor.panel import NodeEditorPanel
from x121_desktop.ui.node_editor.telemetry import RunPreview, RunTelemetry

__all__ = ["comfy_server", "qloop", "secure_studio"]

PROMPT = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "astronaut.png"}},
    "2": {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": 3}},
    "3": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["2", 0]}},
    "4": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
}


@pytest.fixture
def telemetry(
    qtbot: QtBot, comfy_server: ComfyTestServer, tmp_path: Path
) -> Iterator[tuple[RunTelemetry, list[RunEvent]]]:
    runtime = Runtime()
    service = NodeEditorService(runtime, None, tmp_path)
    info_file = tmp_path / "object_info.json"
    info_file.write_text(json.dumps(ComfyClient(comfy_server.url).object_info()))
    catalog = asyncio.run(service.catalog_from_file(info_file))
    editor = NodeEditor(catalog)
    qtbot.addWidget(editor)
    editor.resize(1000, 700)
    editor.open_document(document_from_api(PROMPT, catalog)[0])
    runs = TestRunService(runtime, service, timeout_s=30.0)
    tele = RunTelemetry(editor, runs)
    seen: list[RunEvent] = []
    tele.event_arrived.connect(seen.append)
    yield tele, seen
    runtime.shutdown()


def run_once(qtbot: QtBot, tele: RunTelemetry, url: str, averages: dict[str, float] | None = None) -> RunEnded:
    with qtbot.waitSignal(tele.run_finished, timeout=30000) as blocker:
        tele.start(url, averages)
    ended = blocker.args[0] if blocker.args else None
    assert isinstance(ended, RunEnded)
    return ended


def states(tele: RunTelemetry) -> dict[str, str]:
    return {i: item.state.status for i, item in tele.editor.scene.nodes.items()}


def test_run_shows_states_times_previews_then_cached_nodes(
    qtbot: QtBot, comfy_server: ComfyTestServer, telemetry: tuple[RunTelemetry, list[RunEvent]]
) -> None:
    tele, seen = telemetry
    first = run_once(qtbot, tele, comfy_server.url, {"RepeatImageBatch": 0.25})
    assert first.ok
    assert {t.node_id for t in first.timings} == {"1", "2", "3", "4"}
    assert {t.class_type for t in first.timings} >= {"LoadImage", "SaveImageWebsocket"}
    assert states(tele) == {"1": "done", "2": "done", "3": "done", "4": "done"}
    assert all(t.seconds >= 0 for t in first.timings)
    hover = tele.editor.scene.nodes["2"].toolTip()
    assert hover.startswith("ran ")
    assert "average 0.25 s over earlier runs" in hover
    previews = [e for e in seen if isinstance(e, NodePreview)]
    assert previews
    assert {p.node_id for p in previews} == {"3"}
    assert not tele.previews["3"].isNull()
    assert tele.previews["3"].width() == 512
    shown = RunPreview(tele)
    qtbot.addWidget(shown)
    shown.show_preview("3")
    assert shown.caption.text() == "Node #3: preview 512 x 512"
    assert not shown.image.pixmap().isNull()
    started = [e.node_id for e in seen if isinstance(e, NodeStarted)]
    assert started.index("2") > started.index("1")  # executing highlighted in the server's order

    seen.clear()
    second = run_once(qtbot, tele, comfy_server.url)
    assert second.ok
    assert states(tele)["1"] == "cached"
    assert states(tele)["2"] == "cached"
    assert states(tele)["3"] == "done"  # SaveImageWebsocket always runs
    assert [e.node_id for e in seen if isinstance(e, NodeFinished)] == ["3"]


def test_a_run_waiting_for_a_busy_server_tells_the_person(
    qtbot: QtBot, telemetry: tuple[RunTelemetry, list[RunEvent]]
) -> None:
    """The service's WaitingForSlot (sent from its worker thread while every slot of the chosen server is
    taken; tests/services/test_node_editor_busy_server.py) reaches the editor's message line."""
    tele, _ = telemetry
    with qtbot.waitSignal(tele.editor.message_posted, timeout=5000) as told:
        tele.event_arrived.emit(WaitingForSlot("gpu-2", 2, 5.0))
    assert told.args == [
        "gpu-2 is busy (all 2 of its job slots are taken): the test run waits up to 5 s for a free slot "
        "(Stop run stops the wait)."
    ]


def test_runtime_error_is_pinned_on_the_failing_node(
    qtbot: QtBot, comfy_server: ComfyTestServer, telemetry: tuple[RunTelemetry, list[RunEvent]]
) -> None:
    tele, _seen = telemetry
    (comfy_server.root / "input" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    tele.editor.push(SetWidgetValue(None, 1, 0, "broken.png"))
    ended = run_once(qtbot, tele, comfy_server.url)
    assert not ended.ok
    assert tele.failed is not None
    assert tele.failed.node_id == "1"
    item = tele.editor.scene.nodes["1"]
    assert item.state.status == "error"
    assert [m.level for m in item.markers] == ["error"]
    assert "failed" in item.markers[0].text
    assert "Load Image" in item.markers[0].text or "LoadImage" in item.markers[0].text
    tele.clear()
    assert item.markers == ()
    assert item.state.status == "idle"


def test_panel_run_is_recorded_as_a_job_and_the_hover_average_then_includes_it(
    qtbot: QtBot, qloop: qasync.QEventLoop, comfy_server: ComfyTestServer, secure_studio: SecureStudio, tmp_path: Path
) -> None:
    """The panel's Run on server: an editor_test_run job records the node times, and the hover average
    re-read after the run is the average over recorded runs, this editor run included."""
    name = f"panel-gpu-{uuid.uuid4().hex[:8]}"
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute(
            "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES (%s, %s, %s)",
            (name, comfy_server.url, ServerStatus.ONLINE),
        )
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("creator")), pool_size=2)
    try:
        sessions = session_factory(engine)
        service = NodeEditorService(runtime, sessions, tmp_path)
        info_file = tmp_path / "object_info.json"
        info_file.write_text(json.dumps(ComfyClient(comfy_server.url).object_info()))
        panel = NodeEditorPanel(
            service,
            timings=NodeTimingsService(sessions, runtime),
            run_jobs=EditorRunJobs(engine, runtime, MediaStore(tmp_path / "media")),
        )
        qtbot.addWidget(panel)
        catalog = run(qloop, service.catalog_from_file(info_file))
        panel._use(catalog)
        panel.editor.open_document(document_from_api(PROMPT, catalog)[0])
        messages: list[str] = []
        panel.editor.message_posted.connect(messages.append)

        ended = run(qloop, panel._run_on(name))
        assert ended.ok
        assert ended.job_id is not None
        assert messages[-1] == f"Test run on {name} finished (job {ended.job_id})."
        with engine.connect() as conn:
            job = jobs_repo.get_job(conn, ended.job_id)
            mean = conn.execute(
                text("SELECT avg(seconds) FROM node_timings WHERE class_type = 'RepeatImageBatch'")
            ).scalar_one()
        assert job.kind is JobKind.EDITOR_TEST_RUN
        assert job.status is JobStatus.SUCCEEDED
        hover = panel.editor.scene.nodes["2"].toolTip()
        assert hover.startswith("ran ")
        assert f"average {float(mean):.2f} s over earlier runs" in hover
        assert panel.telemetry.averages["RepeatImageBatch"] == pytest.approx(float(mean))
    finally:
        runtime.shutdown()
        engine.dispose()
