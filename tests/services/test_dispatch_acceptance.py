"""Acceptance: several stand-in ComfyUI servers, several `x121 worker` processes, one database.

- 200 jobs on three servers of different speeds and three workers, one of which is SIGKILLed
  mid-run: every job succeeds, every prompt_id executes exactly once across the servers, and
  the killed worker's jobs finish elsewhere.
- A server restarted mid-job: the owner has a notification within 15 s; the job is re-dispatched
  (same prompt_id, visible event) when its policy allows, else it fails.
- An execution error fails (attempts == 1) and notifies; a workflow needing a missing node or
  model is refused before any POST /prompt, with the reasons.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.comfy.conftest import astronaut_png
from tests.comfyui_server import ComfyTestServer
from tests.services.test_runner import (
    CORRUPT,
    count_executions,
    executions,
    fresh_database,
    insert_job,
    job_events,
    job_state,
    notifications_for,
    quick_prompt,
    register_server,
    store_file,
    tiny_png,
)
from x121_desktop.core.enums import JobStatus

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(new_database: Callable[[], str]) -> Iterator[tuple[str, Engine]]:
    url = fresh_database(new_database)
    built = create_engine(url, pool_size=2)
    try:
        yield url, built
    finally:
        built.dispose()


def start_servers(root: Path, delays: list[float]) -> list[ComfyTestServer]:
    servers = []
    for index, delay in enumerate(delays):
        server = ComfyTestServer(root / f"comfy{index}")
        (server.root / "input" / "astronaut.png").write_bytes(astronaut_png())
        server.start()
        server.faults.node_delay_s = delay
        count_executions(server)
        servers.append(server)
    return servers


def start_worker(url: str, home: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("X121_DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "x121_desktop",
        "--database-url",
        url,
        "--home",
        str(home),
        "worker",
        "--lease",
        "2",
        "--grace",
        "5",
        *extra,
    ]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def statuses(engine: Engine) -> Counter[JobStatus]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT job_status_id, count(*) AS n FROM jobs GROUP BY 1")).all()
    return Counter({JobStatus(r.job_status_id): int(r.n) for r in rows})


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def prompt_ids(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {r.id: str(r.prompt_id) for r in conn.execute(text("SELECT id, prompt_id FROM jobs"))}


@pytest.mark.timeout(150)
def test_200_jobs_three_servers_three_workers_one_killed_each_runs_exactly_once(
    engine: tuple[str, Engine], tmp_path: Path
) -> None:
    url, db = engine
    home = tmp_path / "home"
    servers = start_servers(tmp_path, [0.0, 0.01, 0.04])
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for index, server in enumerate(servers):
            register_server(db, f"s{index}", server.url)
        media = home / "media"
        jobs = [
            insert_job(db, quick_prompt(f"job{n}"), {"1.image": store_file(db, media, tiny_png(n))}) for n in range(200)
        ]
        workers = [start_worker(url, home, tmp_path / f"worker{n}.log") for n in range(3)]
        wait_until(lambda: statuses(db)[JobStatus.SUCCEEDED] >= 40, 60, "40 jobs to succeed")
        victim = f"%:{workers[0].pid}:%"

        def victim_holds() -> list[int]:
            with db.connect() as conn:
                rows = conn.execute(text("SELECT id FROM jobs WHERE lease_holder LIKE :h"), {"h": victim}).all()
            return [r.id for r in rows]

        wait_until(lambda: bool(victim_holds()), 30, "the first worker to hold a job")
        workers[0].kill()  # SIGKILL: no clean-up, its leases just stop being renewed
        workers[0].wait()
        # A COMMIT the worker sent just before it died is still carried out by its backend; let those
        # land (well inside the 2 s lease, so nothing is reclaimed yet) before reading what it held.
        time.sleep(0.5)
        with db.connect() as conn:
            held_at_kill = [
                r.id for r in conn.execute(text("SELECT id FROM jobs WHERE lease_holder LIKE :h"), {"h": victim})
            ]
        wait_until(lambda: statuses(db)[JobStatus.SUCCEEDED] == 200, 100, "all 200 jobs to succeed")
        stop_workers(workers[1:])
        assert statuses(db) == Counter({JobStatus.SUCCEEDED: 200})
        ran = Counter(pid for server in servers for pid in executions(server))
        ids = prompt_ids(db)
        assert set(ran) == set(ids.values())
        assert max(ran.values()) == 1, [p for p, n in ran.items() if n > 1]  # none ran twice
        per_server = [len(executions(s)) for s in servers]
        assert sum(per_server) == 200
        assert per_server[0] > per_server[2]  # the fastest server took more work than the slowest
        with db.connect() as conn:
            outputs = conn.execute(text("SELECT count(DISTINCT job_id) FROM job_outputs")).scalar_one()
        assert held_at_kill  # the kill interrupted real work
        with db.connect() as conn:
            lost = {
                r.job_id
                for r in conn.execute(
                    text(
                        "SELECT DISTINCT e.job_id FROM job_events e "
                        "JOIN job_event_kind k ON k.id = e.job_event_kind_id WHERE k.code = 'lost'"
                    )
                )
            }
        assert lost <= set(held_at_kill)  # no job was reported lost except those the killed worker held
        with db.connect() as conn:
            finished_by_victim = {
                r.job_id
                for r in conn.execute(
                    text("SELECT job_id FROM job_attempts WHERE lease_holder LIKE :h AND job_status_id = :s"),
                    {"h": victim, "s": int(JobStatus.SUCCEEDED)},
                )
            }
        reclaimed = [job for job in held_at_kill if job not in finished_by_victim]
        assert reclaimed  # the kill left real work behind
        for job in held_at_kill:  # ...which finished elsewhere, exactly once
            kinds = [k for k, _ in job_events(db, job)]
            if job in reclaimed:
                assert "lost" in kinds  # reclaimed: lost by its dispatcher, then queued again
            assert kinds[-1] == "succeeded"
            assert ran[ids[job]] == 1
        assert outputs == 200
        assert len(jobs) == 200
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        for server in servers:
            server.stop()


@pytest.mark.timeout(120)
def test_server_restart_mid_job_notifies_and_redispatches_per_policy_errors_and_refusals(
    engine: tuple[str, Engine], tmp_path: Path
) -> None:
    url, db = engine
    home = tmp_path / "home"
    servers = start_servers(tmp_path, [1.0, 1.0])
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for index, server in enumerate(servers):
            register_server(db, f"s{index}", server.url, queued=0)  # one job per server at a time
        media = home / "media"
        allowed = insert_job(db, quick_prompt("again"), {"1.image": store_file(db, media, tiny_png(1))}, priority=9)
        forbidden = insert_job(
            db, quick_prompt("once"), {"1.image": store_file(db, media, tiny_png(2))}, redispatch=False, priority=8
        )
        workers = [start_worker(url, home, tmp_path / "worker.log")]
        both = (allowed, forbidden)
        wait_until(lambda: all(job_state(db, j)[0] is JobStatus.RUNNING for j in both), 30, "both jobs to run")
        restarted_at = time.monotonic()
        for server in servers:  # each job is mid-run on its own server
            server.restart()
        wait_until(lambda: all(notifications_for(db, j) for j in both), 15, "both owners to be told")
        assert time.monotonic() - restarted_at < 15
        wait_until(lambda: job_state(db, allowed)[0] is JobStatus.SUCCEEDED, 30, "the re-dispatched job")
        wait_until(lambda: job_state(db, forbidden)[0] is JobStatus.FAILED, 10, "the job that may not move")
        kinds = [k for k, _ in job_events(db, allowed)]
        assert "lost" in kinds
        requeued = [d for k, d in job_events(db, allowed) if k == "requeued"]
        assert requeued
        assert requeued[0]["redispatched"] is True
        status, attempts, error = job_state(db, forbidden)
        assert status is JobStatus.FAILED
        assert attempts == 1
        assert error is not None
        assert "may not be re-dispatched" in error
        for job in (allowed, forbidden):
            assert any(n.get("lost") for n in notifications_for(db, job))
        ids = prompt_ids(db)
        ran = Counter(pid for server in servers for pid in executions(server))
        assert ran[ids[forbidden]] == 1  # started once, lost with its server, never resubmitted

        # an execution error fails at once (no retry) and tells the owner; a missing node is refused unsent
        for server in servers:
            server.faults.node_delay_s = 0.0
        bad = insert_job(db, quick_prompt("bad", CORRUPT), {"4.image": store_file(db, media, tiny_png(3)[:60])})
        missing = quick_prompt("missing")
        missing["9"] = {"class_type": "VHS_VideoCombine", "inputs": {"images": ["2", 0]}}
        refused = insert_job(db, missing)
        posts_before = sum(s.state.number for s in servers)
        wait_until(lambda: job_state(db, refused)[0] is JobStatus.FAILED, 20, "the refusal")
        wait_until(lambda: job_state(db, bad)[0] is JobStatus.FAILED, 20, "the execution error")
        assert job_state(db, bad)[1] == 1
        assert "LoadImage" in (job_state(db, bad)[2] or "")
        assert notifications_for(db, bad)
        assert job_state(db, refused)[1] == 0
        assert "VHS_VideoCombine" in (job_state(db, refused)[2] or "")
        assert notifications_for(db, refused)[0]["refused"] is True
        assert sum(s.state.number for s in servers) == posts_before + 1  # only the corrupt job was posted
    finally:
        stop_workers(workers)
        for server in servers:
            server.stop()
