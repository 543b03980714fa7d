"""Editor test runs recorded as jobs of kind `editor_test_run` (revision 0007), on the real database with
real login roles, driven by the ComfyUI stand-in: the job row and its attempt, the event log, outputs in
the media store, node timings (which the editor's hover average then includes), cost, failures and a
cancel asked for from elsewhere (as `x121 job cancel` does)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.core.enums import JobEventKind, JobKind, JobStatus, ServerStatus
from x121_desktop.core.graph.edits import SetWidgetValue
from x121_desktop.core.graph.from_api import document_from_api
from x121_desktop.core.graph.model import WorkflowDocument
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.db.migrate import alembic_config, upgrade
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.node_editor_jobs import EditorRunJobs
from x121_desktop.services.node_editor_runs import RunEnded, RunEvent, TestRunService
from x121_desktop.services.node_editor_timings import NodeTimingsService
from x121_desktop.services.orchestrator import adoption
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.storage import MediaStore

__all__ = ["comfy_server", "secure_studio"]

PROMPT = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "astronaut.png"}},
    "2": {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": 2}},
    "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
}


@dataclass
class Rig:
    runs: TestRunService
    jobs: EditorRunJobs
    document: WorkflowDocument
    server: str
    url: str
    engine: Engine
    timings: NodeTimingsService
    store: MediaStore
    runtime: Runtime


@pytest.fixture
def rig(secure_studio: SecureStudio, comfy_server: ComfyTestServer, tmp_path: Path) -> Iterator[Rig]:
    runtime = Runtime()
    service = NodeEditorService(runtime, None, tmp_path)
    info_file = tmp_path / "object_info.json"
    info_file.write_text(json.dumps(ComfyClient(comfy_server.url).object_info()))
    catalog = asyncio.run(service.catalog_from_file(info_file))
    name = f"editor-gpu-{uuid.uuid4().hex[:8]}"
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute(
            "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES (%s, %s, %s)",
            (name, comfy_server.url, ServerStatus.ONLINE),
        )
    engine = make_engine(DatabaseTarget(secure_studio.url("creator")), pool_size=2)
    store = MediaStore(tmp_path / "media")
    jobs = EditorRunJobs(engine, runtime, store, lease=timedelta(seconds=1.5))
    runs = TestRunService(runtime, service, timeout_s=30.0, jobs=jobs)
    timings = NodeTimingsService(session_factory(engine), runtime)
    doc = document_from_api(PROMPT, catalog)[0]
    yield Rig(runs, jobs, doc, name, comfy_server.url, engine, timings, store, runtime)
    runtime.shutdown()
    engine.dispose()


def run(rig: Rig, document: WorkflowDocument | None = None) -> tuple[RunEnded, list[RunEvent]]:
    seen: list[RunEvent] = []
    ended = rig.runs.run(rig.url, document or rig.document, seen.append, server=rig.server)
    return ended, seen


def job_of(rig: Rig, ended: RunEnded) -> repo.JobRow:
    assert ended.job_id is not None
    with rig.engine.connect() as conn:
        return repo.get_job(conn, ended.job_id)


def event_kinds(rig: Rig, job_id: int) -> list[JobEventKind]:
    with rig.engine.connect() as conn:
        return [e.kind for e in repo.job_events(conn, job_id)]


def test_a_test_run_is_recorded_like_any_job(rig: Rig) -> None:
    ended, _seen = run(rig)
    assert ended.ok
    job = job_of(rig, ended)
    assert job.kind is JobKind.EDITOR_TEST_RUN
    assert job.status is JobStatus.SUCCEEDED
    assert str(job.prompt_id) == ended.prompt_id
    assert (job.attempts, job.redispatch_allowed, job.lease_holder) == (1, False, None)
    assert job.inputs["prompt"]["2"]["class_type"] == "RepeatImageBatch"
    kinds = event_kinds(rig, job.id)
    assert kinds[:4] == [JobEventKind.CREATED, JobEventKind.CLAIMED, JobEventKind.SUBMITTED, JobEventKind.STARTED]
    assert kinds[-2:] == [JobEventKind.OUTPUT_STORED, JobEventKind.SUCCEEDED]
    assert kinds.count(JobEventKind.NODE_STARTED) == kinds.count(JobEventKind.NODE_FINISHED) == 3
    with rig.engine.connect() as conn:
        attempt = conn.execute(
            text("SELECT a.job_status_id, s.name FROM job_attempts a JOIN comfy_servers s ON s.id = a.server_id "
                 "WHERE a.job_id = :j"), {"j": job.id}
        ).one()  # fmt: skip
        timed = conn.execute(
            text("SELECT node_id, class_type, seconds FROM node_timings WHERE job_id = :j ORDER BY node_id"),
            {"j": job.id},
        ).all()
        cost = conn.execute(text("SELECT count(*) FROM cost_records WHERE job_id = :j"), {"j": job.id}).scalar()
        outputs = repo.job_outputs(conn, job.id)
        paths = {o.file_id: rig.store.path_of(rig.store.lookup(conn, o.file_id).rel_path) for o in outputs}
    assert (JobStatus(attempt[0]), attempt[1]) == (JobStatus.SUCCEEDED, rig.server)
    assert [(r[0], r[1]) for r in timed] == [("1", "LoadImage"), ("2", "RepeatImageBatch"), ("3", "PreviewImage")]
    assert {t.node_id: t.seconds for t in ended.timings} == {r[0]: pytest.approx(r[2]) for r in timed}
    assert cost == 1
    # PreviewImage of a batch of 2 equal images: two files from the server, one stored copy (content-addressed)
    assert [o.node_id for o in outputs] == ["3"]
    with rig.engine.connect() as conn:
        stored = [e for e in repo.job_events(conn, job.id) if e.kind is JobEventKind.OUTPUT_STORED]
        done = [e for e in repo.job_events(conn, job.id) if e.kind is JobEventKind.SUCCEEDED]
    assert stored[0].data["files"] == 2
    assert [o["node"] for o in done[0].data["outputs"]] == ["3", "3"]
    assert all(p.is_file() and p.read_bytes().startswith(b"\x89PNG") for p in paths.values())

    averages = asyncio.run(rig.timings.averages(["RepeatImageBatch", "PreviewImage"]))
    mine = {r[1]: r[2] for r in timed}
    assert averages == {c: pytest.approx(mine[c]) for c in ("RepeatImageBatch", "PreviewImage")}


def test_a_failing_run_ends_its_job_failed_with_the_sentence(rig: Rig, comfy_server: ComfyTestServer) -> None:
    (comfy_server.root / "input" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    broken = SetWidgetValue(None, 1, 0, "broken.png").apply(rig.document)
    ended, _seen = run(rig, broken)
    assert not ended.ok
    job = job_of(rig, ended)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert "failed" in job.error
    assert "Load" in job.error
    assert event_kinds(rig, job.id)[-1] is JobEventKind.FAILED
    with rig.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM node_timings WHERE job_id = :j"), {"j": job.id}).scalar() == 0


def test_cancel_asked_for_elsewhere_interrupts_the_run(
    rig: Rig, comfy_server: ComfyTestServer, secure_studio: SecureStudio
) -> None:
    comfy_server.faults.node_delay_s = 1.0
    seen: list[RunEvent] = []
    started = threading.Event()

    def sink(event: RunEvent) -> None:
        seen.append(event)
        if type(event).__name__ == "NodeStarted":
            started.set()

    future = rig.runs.start(rig.url, rig.document, sink, server=rig.server)
    assert started.wait(20)
    with rig.engine.begin() as conn:  # the owner cancels from another tool
        job_id = repo.list_jobs(conn, repo.JobFilter(kinds=(JobKind.EDITOR_TEST_RUN,), limit=1))[0].id
        assert repo.request_cancel(conn, job_id, secure_studio.user_ids["creator"]) is repo.CancelOutcome.REQUESTED
    ended = future.result(timeout=30)
    assert not ended.ok
    assert ended.job_id == job_id
    assert job_of(rig, ended).status is JobStatus.CANCELLED
    assert event_kinds(rig, job_id)[-1] is JobEventKind.CANCELLED


def test_an_editor_run_whose_client_died_goes_back_to_be_adopted_never_to_run_again(rig: Rig) -> None:
    """Revision 0015: its prompt may still run on the server, so the run is queued again for a dispatcher to
    adopt (collecting its outputs); found nowhere, it fails, since an editor run may not be sent twice
    (that half, with a real dispatcher: tests/services/test_lease_handover.py)."""
    short = EditorRunJobs(rig.engine, rig.runtime, rig.store, lease=timedelta(milliseconds=300))
    prompt_id = str(uuid.uuid4())
    job = short.open(rig.server, short.server_id(rig.server), {"1": PROMPT["1"]}, prompt_id, ComfyClient(rig.url))
    job.submitted()
    time.sleep(0.6)  # nobody renews: this client "died"
    with rig.engine.begin() as conn:
        assert job.job_id in repo.reclaim_expired(conn)
        after = repo.get_job(conn, job.job_id)
        kinds = [e.kind for e in repo.job_events(conn, job.job_id)]
    assert (after.status, after.attempts, after.lease_holder, str(after.prompt_id)) == (
        JobStatus.QUEUED,
        1,
        None,
        prompt_id,
    )
    assert kinds[-2:] == [JobEventKind.LOST, JobEventKind.REQUEUED]
    next_claim = dataclasses.replace(after, attempts=after.attempts + 1)
    assert not adoption.may_run_again(next_claim)  # not found on the server: it fails, it is not sent again


def test_a_server_that_is_not_registered_is_named(rig: Rig) -> None:
    with pytest.raises(Exception, match="no ComfyUI server named 'nowhere'"):
        rig.runs.run(rig.url, rig.document, lambda _e: None, server="nowhere")


def test_revision_0007_seeds_the_kind_and_downgrades_cleanly(new_database: Callable[[], str]) -> None:
    engine = create_engine(new_database())
    kind_sql = f"SELECT code, label FROM job_kind WHERE id = {int(JobKind.EDITOR_TEST_RUN)}"
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO users (role_name, display_name, user_role_id) VALUES ('t', 'T', 2)")
            conn.exec_driver_sql(
                "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES ('g', 'http://g', 1)"
            )
            job = conn.exec_driver_sql(
                "INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id) "
                f"SELECT gen_random_uuid(), id, {int(JobKind.EDITOR_TEST_RUN)}, {int(JobStatus.SUCCEEDED)} "
                "FROM users WHERE role_name = 't' RETURNING id"
            ).scalar_one()
            conn.exec_driver_sql(
                f"INSERT INTO cost_records (job_id, server_id, gpu_seconds, rate_per_hour, cost) "
                f"SELECT {job}, id, 1, 0, 0 FROM comfy_servers WHERE name = 'g'"
            )
            assert tuple(conn.exec_driver_sql(kind_sql).one()) == ("editor_test_run", "Editor test run")
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0006")
        with engine.connect() as conn:
            assert conn.exec_driver_sql(kind_sql).one_or_none() is None
            assert conn.exec_driver_sql(f"SELECT count(*) FROM jobs WHERE id = {job}").scalar() == 0
        assert upgrade(engine).up_to_date
        with engine.connect() as conn:
            assert conn.exec_driver_sql(kind_sql).one_or_none() is not None
    finally:
        engine.dispose()
