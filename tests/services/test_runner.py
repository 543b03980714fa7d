"""Running jobs through the dispatcher in-process: real database, stand-in ComfyUI servers.

Helpers here (fresh migrated database, server registration, job insertion) are shared with the
multi-process acceptance tests.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.comfy.conftest import RECORDINGS
from tests.comfyui_server import ComfyTestServer
from tests.fixtures.database import fresh_migrated
from x121_desktop.core.enums import JobEventKind, JobKind, JobStatus, ServerStatus
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.storage import MediaStore

QUICK_PNG: dict[str, Any] = json.loads((RECORDINGS / "workflows" / "quick-png.api.json").read_text())
CORRUPT: dict[str, Any] = json.loads((RECORDINGS / "workflows" / "execution-error-corrupt-image.api.json").read_text())


# ---------------------------------------------------------------- shared helpers


def fresh_database(new_database: Callable[[], str]) -> str:
    url = fresh_migrated(new_database)
    return url


def register_server(engine: Engine, name: str, url: str, *, rate: float | None = None, queued: int = 1) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO comfy_servers (name, base_url, server_status_id, slots, queued_slots, rate_per_hour) "
                    "VALUES (:n, :u, :s, 1, :q, :r) RETURNING id"
                ),
                {"n": name, "u": url, "s": int(ServerStatus.ONLINE), "q": queued, "r": rate},
            ).scalar_one()
        )


def tiny_png(index: int, size: int = 32) -> bytes:
    pixels = np.full((size, size, 3), index % 251, dtype=np.uint8)
    pixels[0, 0] = [(index // 251) % 256, index % 256, 7]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def store_file(engine: Engine, media_root: Path, data: bytes, suffix: str = ".png") -> int:
    store = MediaStore(media_root)
    blob = store.write_bytes(data, suffix=suffix)
    from x121_desktop.core.enums import FileKind

    with engine.begin() as conn:
        return int(store.record(conn, blob, kind=FileKind.IMAGE).file_id)


def quick_prompt(tag: str, workflow: dict[str, Any] | None = None) -> dict[str, Any]:
    prompt = copy.deepcopy(workflow or QUICK_PNG)
    prompt["3"]["inputs"]["filename_prefix"] = f"x121test/{tag}"
    return prompt


def insert_job(
    engine: Engine,
    prompt: dict[str, Any],
    files: dict[str, int] | None = None,
    *,
    redispatch: bool = True,
    priority: int = 0,
) -> int:
    inputs = {"prompt": prompt, "files": files or {}}
    with engine.begin() as conn:
        job_id = conn.execute(
            text(
                "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id, priority, inputs, redispatch_allowed) "
                "VALUES (:p, :k, :s, :pr, CAST(:i AS jsonb), :r) RETURNING id"
            ),
            {
                "p": uuid.uuid4(),
                "k": int(JobKind.GENERATE),
                "s": int(JobStatus.QUEUED),
                "pr": priority,
                "i": json.dumps(inputs),
                "r": redispatch,
            },
        ).scalar_one()
    return int(job_id)


def job_events(engine: Engine, job_id: int) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT k.code, e.data FROM job_events e JOIN job_event_kind k ON k.id = e.job_event_kind_id "
                "WHERE e.job_id = :j ORDER BY e.id"
            ),
            {"j": job_id},
        ).all()
    return [(r.code, dict(r.data)) for r in rows]


def job_state(engine: Engine, job_id: int) -> tuple[JobStatus, int, str | None]:
    with engine.connect() as conn:
        r = conn.execute(text("SELECT job_status_id, attempts, error FROM jobs WHERE id = :j"), {"j": job_id}).one()
    return JobStatus(r.job_status_id), r.attempts, r.error


def notifications_for(engine: Engine, job_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT n.user_id, a.data FROM notifications n JOIN activity_events a ON a.id = n.activity_event_id "
                "WHERE a.job_id = :j ORDER BY n.id"
            ),
            {"j": job_id},
        ).all()
    return [{"user_id": r.user_id, **dict(r.data)} for r in rows]


def executions(server: ComfyTestServer) -> list[str]:
    """prompt_ids the stand-in started executing, in order (kept across restarts)."""
    return list(getattr(server, "x121_started", []))


def count_executions(server: ComfyTestServer) -> None:
    """Record every execution_start the stand-in sends (its history is lost on restart)."""
    started: list[str] = []
    state = server.state
    original = state.send

    async def send(kind: str, data: dict[str, Any], sid: str | None) -> None:
        if kind == "execution_start":
            started.append(str(data["prompt_id"]))
        await original(kind, data, sid)

    state.send = send  # type: ignore[method-assign]  # instrumenting the stand-in from the test
    server.x121_started = started  # type: ignore[attr-defined]  # read back by executions()
    original_restart = state.restart

    async def restart() -> None:
        await original_restart()

    state.restart = restart  # type: ignore[method-assign]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def db_url(new_database: Callable[[], str]) -> str:
    return fresh_database(new_database)


@pytest.fixture
def studio(db_url: str, tmp_path: Path) -> Iterator[Studio]:
    built = open_studio(LaunchOptions(database_url=db_url, home=str(tmp_path / "home")))
    with built.engine.begin() as conn:  # each test starts with an empty queue and no servers
        for table in ("notifications", "activity_events", "cost_records", "jobs", "comfy_servers"):
            conn.execute(text(f"DELETE FROM {table}"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ComfyTestServer]:
    from tests.comfy.conftest import astronaut_png

    srv = ComfyTestServer(tmp_path / "comfyui")
    (srv.root / "input" / "astronaut.png").write_bytes(astronaut_png())
    srv.start()
    count_executions(srv)
    try:
        yield srv
    finally:
        srv.stop()


def run_dispatcher(studio: Studio, **kw: Any) -> Dispatcher:
    dispatcher = Dispatcher(studio, lease_s=3.0, poll_s=0.5, **kw)
    asyncio.run(asyncio.wait_for(dispatcher.run(), timeout=45))
    return dispatcher


# ---------------------------------------------------------------- tests


def test_a_job_runs_uploads_inputs_and_stores_outputs_with_hashes(studio: Studio, server: ComfyTestServer) -> None:
    server_id = register_server(studio.engine, "a", server.url, rate=36.0)
    image = tiny_png(1)
    file_id = store_file(studio.engine, studio.paths.media_root, image)
    job = insert_job(studio.engine, quick_prompt("one"), {"1.image": file_id})
    dispatcher = run_dispatcher(studio, once=True)
    status, attempts, error = job_state(studio.engine, job)
    assert (status, attempts, error) == (JobStatus.SUCCEEDED, 1, None)
    kinds = [k for k, _ in job_events(studio.engine, job)]
    assert kinds == ["claimed", "uploaded", "submitted", "started", "output_stored", "succeeded"]
    with studio.engine.connect() as conn:
        prompt_id = str(conn.execute(text("SELECT prompt_id FROM jobs WHERE id = :j"), {"j": job}).scalar_one())
        outputs = conn.execute(
            text(
                "SELECT o.node_id, f.sha256, f.rel_path FROM job_outputs o JOIN files f ON f.id = o.file_id "
                "WHERE o.job_id = :j"
            ),
            {"j": job},
        ).all()
        timings = conn.execute(
            text("SELECT node_id, class_type, server_id FROM node_timings WHERE job_id = :j ORDER BY node_id"),
            {"j": job},
        ).all()
        cost = conn.execute(
            text("SELECT server_id, gpu_seconds, rate_per_hour, cost FROM cost_records WHERE job_id = :j"), {"j": job}
        ).one()
    assert executions(server) == [prompt_id]
    # the uploaded input is what ran: the server saved our 32x32 image scaled to 128x128
    [(node_id, sha, rel_path)] = outputs
    assert node_id == "3"
    store = MediaStore(studio.paths.media_root)
    assert store.verify(rel_path, sha)
    saved = Image.open(store.path_of(rel_path))
    assert saved.size == (128, 128)
    [produced] = list((server.root / "output" / "x121test").glob("one_*.png"))
    assert produced.read_bytes() == store.path_of(rel_path).read_bytes()
    assert [(t.node_id, t.class_type, t.server_id) for t in timings] == [
        ("1", "LoadImage", server_id),
        ("2", "ImageScale", server_id),
        ("3", "SaveImage", server_id),
    ]
    assert cost.server_id == server_id
    assert cost.gpu_seconds >= 0
    assert float(cost.rate_per_hour) == 36.0
    assert dispatcher.stats.finished == {"succeeded": 1}
    assert len(dispatcher.stats.overhead_ms) == 1


def test_an_execution_error_fails_once_and_notifies_the_owner(studio: Studio, server: ComfyTestServer) -> None:
    register_server(studio.engine, "a", server.url)
    corrupt = tiny_png(2)[:60]  # a truncated PNG: LoadImage raises while running
    file_id = store_file(studio.engine, studio.paths.media_root, corrupt)
    job = insert_job(studio.engine, quick_prompt("bad", CORRUPT), {"4.image": file_id})
    run_dispatcher(studio, once=True)
    status, attempts, error = job_state(studio.engine, job)
    assert status is JobStatus.FAILED
    assert attempts == 1  # never retried
    assert error is not None
    assert "Node 4 (LoadImage)" in error
    failed = [d for k, d in job_events(studio.engine, job) if k == "failed"]
    assert (failed[0]["node_id"], failed[0]["node_type"]) == ("4", "LoadImage")
    assert failed[0]["exception_type"]
    [note] = notifications_for(studio.engine, job)
    assert (note["node_type"], note["link"]) == ("LoadImage", f"x121://jobs/{job}")
    assert len(executions(server)) == 1


def test_a_job_needing_a_missing_node_or_model_is_refused_before_any_gpu_time(
    studio: Studio, server: ComfyTestServer
) -> None:
    register_server(studio.engine, "a", server.url)
    missing_node = quick_prompt("nonode")
    missing_node["9"] = {"class_type": "VHS_VideoCombine", "inputs": {"images": ["2", 0]}}
    missing_model = quick_prompt("nomodel")
    missing_model["9"] = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "wan22_14b.safetensors"}}
    jobs = [insert_job(studio.engine, missing_node), insert_job(studio.engine, missing_model)]
    dispatcher = run_dispatcher(studio, once=True)
    for job, needle in zip(jobs, ("VHS_VideoCombine", "wan22_14b.safetensors"), strict=True):
        status, attempts, error = job_state(studio.engine, job)
        assert (status, attempts) == (JobStatus.FAILED, 0)
        assert error is not None
        assert needle in error
        [(kind, data)] = job_events(studio.engine, job)
        assert (kind, data["refused"]) == ("failed", True)
        assert needle in " ".join(data["reasons"])
        [note] = notifications_for(studio.engine, job)
        assert note["refused"] is True
    assert executions(server) == []
    assert server.state.number == 0  # no POST /prompt reached the server
    assert dispatcher.stats.refused == 2


def test_cancel_interrupts_only_that_job(studio: Studio, server: ComfyTestServer) -> None:
    register_server(studio.engine, "a", server.url)
    server.faults.node_delay_s = 0.4
    slow = insert_job(
        studio.engine,
        quick_prompt("slow"),
        {"1.image": store_file(studio.engine, studio.paths.media_root, tiny_png(3))},
    )
    other = insert_job(
        studio.engine,
        quick_prompt("other"),
        {"1.image": store_file(studio.engine, studio.paths.media_root, tiny_png(4))},
    )

    async def scenario() -> None:
        dispatcher = Dispatcher(studio, lease_s=1.5, poll_s=0.5, once=True)
        task = asyncio.create_task(dispatcher.run())
        for _ in range(100):
            if job_state(studio.engine, slow)[0] is JobStatus.RUNNING:
                break
            await asyncio.sleep(0.05)
        with studio.engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET cancel_requested = true WHERE id = :j"), {"j": slow})
        await asyncio.wait_for(task, timeout=30)

    asyncio.run(scenario())
    assert job_state(studio.engine, slow)[0] is JobStatus.CANCELLED
    assert job_state(studio.engine, other)[0] is JobStatus.SUCCEEDED
    assert [k for k, _ in job_events(studio.engine, slow)][-1] == JobEventKind.CANCELLED.name.lower()


def test_a_server_that_dies_mid_job_is_reported_and_the_job_moves_to_another(
    studio: Studio, server: ComfyTestServer, tmp_path: Path
) -> None:
    from tests.comfy.conftest import astronaut_png

    other = ComfyTestServer(tmp_path / "comfy-b")
    (other.root / "input" / "astronaut.png").write_bytes(astronaut_png())
    other.start()
    count_executions(other)
    servers = {
        register_server(studio.engine, "a", server.url): server,
        register_server(studio.engine, "b", other.url): other,
    }
    for srv in servers.values():
        srv.faults.node_delay_s = 0.7
    job = insert_job(studio.engine, quick_prompt("dies"))
    told_after: list[float] = []

    async def scenario() -> None:
        dispatcher = Dispatcher(studio, lease_s=3.0, poll_s=0.5, lost_after_s=2.0, once=True)
        task = asyncio.create_task(dispatcher.run())
        while job_state(studio.engine, job)[0] is not JobStatus.RUNNING:
            await asyncio.sleep(0.05)
        with studio.engine.connect() as conn:
            first = conn.execute(text("SELECT server_id FROM jobs WHERE id = :j"), {"j": job}).scalar_one()
        killed_at = asyncio.get_running_loop().time()
        servers[first].stop()  # gone for good: no socket, no HTTP
        while not notifications_for(studio.engine, job):
            await asyncio.sleep(0.1)
        told_after.append(asyncio.get_running_loop().time() - killed_at)
        await asyncio.wait_for(task, timeout=40)

    try:
        asyncio.run(scenario())
    finally:
        other.stop()
    status, attempts, _ = job_state(studio.engine, job)
    assert (status, attempts) == (JobStatus.SUCCEEDED, 2)
    assert told_after[0] < 15
    kinds = [k for k, _ in job_events(studio.engine, job)]
    assert kinds.count("lost") == 1
    assert [d.get("redispatched") for k, d in job_events(studio.engine, job) if k == "requeued"] == [True]
    assert sum(len(executions(s)) for s in servers.values()) == 2  # started on the dead one, ran once elsewhere
