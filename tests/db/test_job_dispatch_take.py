"""The claim's look and take (`job_dispatch.claim_placed`) on a real PostgreSQL: what the pipelined statements see.

- A claimer that waits for a server's advisory lock counts the slot another claim took meanwhile
  (the count runs in a statement after the lock, so its snapshot includes that commit).
- A candidate naming a stored file that is gone is refused before any GPU time, with the file named.
- The claimed job comes with its input files, and the servers' held work is read from the rows.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from tests.db.job_queue_studio import enqueue_many, holder, new_job, queue_db, su_engine
from tests.db.security_studio import SecureStudio, secure_studio
from tests.db.test_job_dispatch import LEASE, plan, servers, snapshots
from x121_desktop.core.enums import FileKind, JobStatus
from x121_desktop.core.orchestration.placement import ServerSnapshot
from x121_desktop.db.repositories import job_dispatch
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.services.storage import MediaStore

__all__ = ["queue_db", "secure_studio", "servers", "su_engine"]


def _only_a(servers: dict[str, int]) -> tuple[int, list[ServerSnapshot], dict[int, int]]:
    """Server `a` alone, capacity 1: (its id, snapshots, capacity)."""
    return servers["a"], snapshots({"a": servers["a"]}), {servers["a"]: 1}


def hundred(_: repo.JobRow) -> job_dispatch.JobPlan:
    """Every candidate has work 100."""
    return job_dispatch.JobPlan(plan().needs, 100.0)


def _lock_waiters(conn: Connection) -> int:
    return int(
        conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar_one()
    )


def test_a_claimer_waiting_for_the_servers_lock_sees_the_slot_taken_meanwhile(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    one_server, snaps, capacity = _only_a(servers)
    with queue_db.begin() as conn:
        first, second = enqueue_many(conn, secure_studio.user_ids["creator"], 2)
    got: list[job_dispatch.PlacedClaim] = []

    def waiting_claimer() -> None:
        with queue_db.begin() as conn:
            got.append(job_dispatch.claim_placed(conn, holder("b"), LEASE, snaps, capacity, lambda _: plan()))

    with queue_db.begin() as holding:  # claimer A holds the server's lock while it assigns `first`
        holding.execute(text("SELECT pg_advisory_xact_lock(121, :s)"), {"s": one_server})
        racer = threading.Thread(target=waiting_claimer)
        racer.start()
        with queue_db.connect() as watch:
            deadline = time.monotonic() + 10
            while _lock_waiters(watch) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _lock_waiters(watch) == 1  # B read the queue and now waits for the lock
        job_dispatch.assign(holding, first, holder("a"), LEASE, one_server, {})
    racer.join(10)
    assert [g.job for g in got] == [None]  # capacity 1, taken by A while B waited: B must not overfill it
    with queue_db.begin() as conn:
        on_server = (
            conn.execute(text("SELECT id FROM jobs WHERE server_id = :s ORDER BY id"), {"s": one_server})
            .scalars()
            .all()
        )
        assert repo.get_job(conn, second).status is JobStatus.QUEUED
    assert on_server == [first]


def test_a_job_naming_a_stored_file_that_is_gone_is_refused_with_the_file_named(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    _, snaps, capacity = _only_a(servers)
    owner = secure_studio.user_ids["creator"]
    with queue_db.begin() as conn:
        gone = repo.enqueue(conn, new_job(owner, inputs={"prompt": {}, "files": {"1.image": 987654321}})).id
    with queue_db.begin() as conn:
        result = job_dispatch.claim_placed(conn, holder("w"), LEASE, snaps, capacity, lambda _: plan())
    assert result.job is None
    [refused] = result.refused
    assert refused.sentence.startswith(f"Job {gone} names stored file(s) 987654321 that do not exist. Submit")
    with queue_db.begin() as conn:
        assert repo.get_job(conn, gone).status is JobStatus.FAILED


def test_the_claimed_job_comes_with_its_stored_input_files(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int], tmp_path: Path
) -> None:
    _, snaps, capacity = _only_a(servers)
    store = MediaStore(tmp_path / "media")
    owner = secure_studio.user_ids["creator"]
    with queue_db.begin() as conn:
        stored = store.record(conn, store.write_bytes(b"\x89PNG input", suffix=".png"), kind=FileKind.IMAGE)
        job = repo.enqueue(conn, new_job(owner, inputs={"prompt": {}, "files": {"1.image": int(stored.file_id)}}))
    with queue_db.begin() as conn:
        result = job_dispatch.claim_placed(conn, holder("w"), LEASE, snaps, capacity, lambda _: plan())
    assert result.job is not None
    assert result.job.id == job.id
    assert {k: (f.sha256, f.rel_path) for k, f in result.files.items()} == {"1.image": (stored.sha256, stored.rel_path)}


def test_held_work_is_read_from_the_rows_so_a_claimer_knows_when_another_dispatchers_server_frees_up(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    """Fast `a` (speed 2) holds a small job (work 1) that another dispatcher claimed; this claimer has no
    `work_of` for it. The next job (work 100) would end on `a` at 50.5 but on the free, slow `b` only at
    100: the claim leaves it for `a`. Counted as the candidates' median (100) instead, `a` would look busy
    until 50 and `b` would take the job."""
    owner = secure_studio.user_ids["creator"]
    ids = servers
    with queue_db.begin() as conn:
        held = repo.enqueue(conn, new_job(owner, work_estimate=1.0)).id
        job_dispatch.assign(conn, held, holder("other"), LEASE, ids["a"], {})
        enqueue_many(conn, owner, 1)
    capacity = dict.fromkeys(ids.values(), 1)
    with queue_db.begin() as conn:
        known = job_dispatch.claim_placed(conn, holder("w"), LEASE, snapshots(ids), capacity, hundred)
    with queue_db.begin() as conn:
        conn.execute(text("UPDATE jobs SET work_estimate = NULL WHERE id = :j"), {"j": held})
    with queue_db.begin() as conn:
        unknown = job_dispatch.claim_placed(conn, holder("w"), LEASE, snapshots(ids), capacity, hundred)
    assert known.job is None
    assert unknown.server_id == ids["b"]


def test_a_running_jobs_elapsed_time_shortens_what_its_server_has_left_when_speeds_are_per_second(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    """`a` (speed 2/s) runs a job of work 200 (100 s) that started 95 s ago: it frees up in 5 s and would end
    the next job (work 100) at 55 s, before the free `b` (speed 1/s) at 100 s, so the claim leaves it for `a`.
    Counted as not started (speeds without a unit), `a` looks busy for 100 s and `b` takes the job."""
    owner = secure_studio.user_ids["creator"]
    ids = servers
    with queue_db.begin() as conn:
        running = repo.enqueue(conn, new_job(owner, work_estimate=200.0)).id
        job_dispatch.assign(conn, running, holder("other"), LEASE, ids["a"], {})
        conn.execute(
            text("UPDATE jobs SET job_status_id = :r, updated_at = now() - interval '95 seconds' WHERE id = :j"),
            {"r": int(JobStatus.RUNNING), "j": running},
        )
        enqueue_many(conn, owner, 1)
    capacity = dict.fromkeys(ids.values(), 1)
    with queue_db.begin() as conn:
        timed = job_dispatch.claim_placed(conn, holder("w"), LEASE, snapshots(ids), capacity, hundred, per_second=True)
    with queue_db.begin() as conn:
        untimed = job_dispatch.claim_placed(conn, holder("w"), LEASE, snapshots(ids), capacity, hundred)
    assert timed.job is None
    assert untimed.server_id == ids["b"]


def test_a_server_drained_after_the_claim_looked_is_full_to_its_take(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    one_server, _, _ = _only_a(servers)
    with queue_db.begin() as conn:
        (job,) = enqueue_many(conn, secure_studio.user_ids["creator"], 1)
    try:
        with queue_db.begin() as conn:  # the claim looked while `a` was enabled; the drain commits before its take
            with queue_db.begin() as drain:
                drain.execute(text("UPDATE comfy_servers SET is_enabled = false WHERE id = :s"), {"s": one_server})
            room, claimed = job_dispatch.assign_if_room(
                conn, job, holder("a"), LEASE, one_server, 1, {}, open_only=True
            )
            assert (room, claimed) == (False, None)
            # without `open_only` (an editor test run checks the drain itself) the slot count alone decides
            room, claimed = job_dispatch.assign_if_room(conn, job, holder("a"), LEASE, one_server, 1, {})
            assert room
            assert claimed is not None
            conn.rollback()
    finally:
        with queue_db.begin() as conn:
            conn.execute(text("UPDATE comfy_servers SET is_enabled = true WHERE id = :s"), {"s": one_server})
    with queue_db.connect() as conn:
        status = conn.execute(text("SELECT job_status_id FROM jobs WHERE id = :j"), {"j": job}).scalar_one()
    assert JobStatus(status) is JobStatus.QUEUED
