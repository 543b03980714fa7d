"""A dispatcher that stops is not a lost server (revision 0015): with the real dispatcher and the stand-in ComfyUI.

An editor-test-run-like job (no re-dispatch, one attempt) is claimed by a workstation that POSTs its prompt and
goes silent. Its lease lapses and another dispatcher takes it back: the prompt still running on the server is
followed to its end and its outputs stored, with the prompt run once. Before revision 0015 the job failed at
the lapse. When the prompt is gone from the server, the job fails naming the server it asked and the rule,
and nothing is sent again.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_runner import (
    count_executions,
    db_url,
    executions,
    insert_job,
    job_events,
    job_state,
    notifications_for,
    quick_prompt,
    register_server,
    run_dispatcher,
    server,
    studio,
)
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.core.enums import JobStatus
from x121_desktop.db.repositories import job_dispatch
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher

__all__ = ["db_url", "server", "studio"]

GONE = "ws-closed:1:abc"


def _pinned_job_claimed_by_a_workstation_that_stops(engine: Engine, server_id: int, tag: str) -> tuple[int, str]:
    """(job id, prompt id): no re-dispatch, one attempt, claimed for `server_id` by GONE, lease lapsed and taken
    back by another client's heartbeat."""
    job = insert_job(engine, quick_prompt(tag), redispatch=False)
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET max_attempts = 1 WHERE id = :j"), {"j": job})
        claimed = job_dispatch.assign(conn, job, GONE, timedelta(seconds=30), server_id, {"server": "a"})
    assert claimed is not None
    return job, str(claimed.prompt_id)


def _lapse_and_take_back(engine: Engine, job: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET lease_expires_at = now() - interval '1 s' WHERE id = :j"), {"j": job})
    with engine.begin() as conn:  # what any other dispatcher's heartbeat does
        assert repo.reclaim_expired(conn) == [job]


def test_a_stopped_workstations_running_prompt_is_followed_to_its_end_by_another_dispatcher(
    studio: Studio, server: ComfyTestServer
) -> None:
    server_id = register_server(studio.engine, "a", server.url)
    job, prompt_id = _pinned_job_claimed_by_a_workstation_that_stops(studio.engine, server_id, "handover")
    server.faults.node_delay_s = 0.4  # still running when the next dispatcher looks
    ComfyClient(server.url).submit(quick_prompt("handover"), prompt_id=prompt_id)  # the workstation's POST
    deadline = time.monotonic() + 10
    while not executions(server) and time.monotonic() < deadline:
        time.sleep(0.02)
    _lapse_and_take_back(studio.engine, job)
    assert job_state(studio.engine, job)[0] is JobStatus.QUEUED  # before revision 0015: failed here
    run_dispatcher(studio, once=True)
    assert job_state(studio.engine, job) == (JobStatus.SUCCEEDED, 2, None)
    events = job_events(studio.engine, job)
    kinds = [k for k, _ in events]
    assert kinds[:4] == ["claimed", "lost", "requeued", "claimed"]
    assert ("submitted", {"adopted": True, "server": "a"}) in events
    assert kinds[-1] == "succeeded"
    assert executions(server) == [prompt_id]  # run once: the workstation's run, adopted
    with studio.engine.connect() as conn:
        outputs = conn.execute(text("SELECT count(*) FROM job_outputs WHERE job_id = :j"), {"j": job}).scalar_one()
    assert outputs == 1


def test_a_stopped_workstations_job_whose_prompt_is_gone_fails_and_is_not_sent_again(
    studio: Studio, server: ComfyTestServer
) -> None:
    server_id = register_server(studio.engine, "a", server.url)
    job, prompt_id = _pinned_job_claimed_by_a_workstation_that_stops(studio.engine, server_id, "gone")
    _lapse_and_take_back(studio.engine, job)  # it had not sent the prompt (or the server lost it)
    run_dispatcher(studio, once=True)
    status, attempts, error = job_state(studio.engine, job)
    assert (status, attempts) == (JobStatus.FAILED, 2)
    assert error == (
        f"Job {job}'s earlier run (prompt {prompt_id}) is no longer on a, and it may not be dispatched again; "
        "retry the job to run it again"
    )
    assert executions(server) == []
    assert [k for k, _ in job_events(studio.engine, job)][-2:] == ["claimed", "failed"]
    assert any(n.get("message") == error for n in notifications_for(studio.engine, job))


def test_a_stopped_workstations_cancelled_job_ends_cancelled_and_its_prompt_is_stopped_on_the_server(
    studio: Studio, server: ComfyTestServer
) -> None:
    """Its owner cancelled it while the workstation was gone: no dispatcher was left to interrupt the prompt,
    so the one that takes the lapsed job back (its heartbeat) ends it cancelled and stops it on the server."""
    server_id = register_server(studio.engine, "a", server.url)
    job, prompt_id = _pinned_job_claimed_by_a_workstation_that_stops(studio.engine, server_id, "orphan")
    server.faults.node_delay_s = 1.0  # about 3 s if nobody stops it
    client = ComfyClient(server.url)
    client.submit(quick_prompt("orphan"), prompt_id=prompt_id)
    deadline = time.monotonic() + 10
    while not executions(server) and time.monotonic() < deadline:
        time.sleep(0.02)
    with studio.engine.begin() as conn:
        assert repo.request_cancel(conn, job) is repo.CancelOutcome.REQUESTED  # held: its lease holder should act
        conn.execute(text("UPDATE jobs SET lease_expires_at = now() - interval '1 s' WHERE id = :j"), {"j": job})
    began = time.monotonic()
    dispatcher = Dispatcher(studio, lease_s=0.9, poll_s=0.5, once=True)  # its heartbeat (every 0.3 s) takes it back
    asyncio.run(asyncio.wait_for(dispatcher.run(), timeout=30))
    assert job_state(studio.engine, job)[0] is JobStatus.CANCELLED
    entry = None
    while entry is None and time.monotonic() < deadline + 10:
        entry = client.history(prompt_id)
        time.sleep(0.05)
    assert entry is not None
    assert not entry.succeeded
    assert "execution_interrupted" in entry.message_types
    assert time.monotonic() - began < 2.8  # stopped, not run to its end


def test_a_dispatcher_that_cannot_ask_the_prompts_server_leaves_the_job_to_one_that_can(
    studio: Studio, server: ComfyTestServer, tmp_path: Path
) -> None:
    """`x121 worker --servers a` cannot ask server b for a prompt an earlier attempt left there, so it neither runs
    the job again on a (a second run) nor fails it: it leaves it queued, and a dispatcher following b adopts it."""
    from tests.comfy.conftest import astronaut_png

    other = ComfyTestServer(tmp_path / "comfyui-b")
    (other.root / "input" / "astronaut.png").write_bytes(astronaut_png())
    other.start()
    count_executions(other)
    try:
        register_server(studio.engine, "a", server.url)
        b = register_server(studio.engine, "b", other.url)
        job = insert_job(studio.engine, quick_prompt("elsewhere"))  # re-dispatch allowed: a could run it again
        with studio.engine.begin() as conn:
            claimed = job_dispatch.assign(conn, job, GONE, timedelta(seconds=30), b, {"server": "b"})
        assert claimed is not None
        other.faults.node_delay_s = 0.3
        ComfyClient(other.url).submit(quick_prompt("elsewhere"), prompt_id=str(claimed.prompt_id))
        _lapse_and_take_back(studio.engine, job)
        only_a = Dispatcher(studio, servers=["a"], lease_s=3.0, poll_s=0.5, once=True)
        asyncio.run(asyncio.wait_for(only_a.run(), timeout=30))
        assert (job_state(studio.engine, job)[0], only_a.stats.claimed) == (JobStatus.QUEUED, 0)
        assert executions(server) == []
        run_dispatcher(studio, servers=["b"], once=True)
        assert job_state(studio.engine, job) == (JobStatus.SUCCEEDED, 2, None)
        assert ("submitted", {"adopted": True, "server": "b"}) in job_events(studio.engine, job)
        assert executions(other) == [str(claimed.prompt_id)]  # run once, where it was sent first
    finally:
        other.stop()
