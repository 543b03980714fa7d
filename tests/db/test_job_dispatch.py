"""The claim for a server (`job_dispatch.claim_placed`) on a real PostgreSQL with the studio's login roles.

Fair-share order and placement in one transaction, capacity under the server's advisory lock with
racing claimers, refusal before any GPU time, stored capabilities; and the roles of migration 0002:
a creator login claims and completes other users' jobs, a reviewer login can neither submit nor
claim and is told so in one sentence.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from tests.db.job_queue_studio import enqueue_many, holder, new_job, queue_db, su_engine, wipe_jobs
from tests.db.security_studio import SecureStudio, secure_studio
from x121_desktop.core.enums import FileKind, JobEventKind, JobStatus, ServerStatus
from x121_desktop.core.errors import PermissionDenied
from x121_desktop.core.orchestration.placement import JobNeeds, ModelRef, ServerSnapshot
from x121_desktop.db.engine import translate_db_error
from x121_desktop.db.repositories import job_dispatch, job_leases, job_runs, server_capabilities
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.services.storage import MediaStore

__all__ = ["queue_db", "secure_studio", "su_engine"]  # fixtures used by this module

LEASE = timedelta(seconds=30)
NODES = frozenset({"LoadImage", "SaveImage"})
CKPT = ModelRef("checkpoints", "wan22.safetensors")


@pytest.fixture
def servers(queue_db: Engine) -> Iterator[dict[str, int]]:
    """Two online servers, `a` (fast, has the checkpoint) and `b`; capacity 1 each."""
    ids = {}
    with queue_db.begin() as conn:
        for name in ("a", "b"):
            ids[name] = int(
                conn.execute(
                    text(
                        "INSERT INTO comfy_servers (name, base_url, server_status_id, slots, queued_slots) "
                        "VALUES (:n, :u, :s, 1, 0) RETURNING id"
                    ),
                    {"n": f"disp-{name}", "u": f"http://disp-{name}:8188", "s": int(ServerStatus.ONLINE)},
                ).scalar_one()
            )
    yield ids
    wipe_jobs(queue_db)
    with queue_db.begin() as conn:
        conn.execute(text("DELETE FROM comfy_servers WHERE name LIKE 'disp-%'"))


def snapshots(ids: dict[str, int], models: dict[str, frozenset[ModelRef]] | None = None) -> list[ServerSnapshot]:
    have = models or {"a": frozenset({CKPT}), "b": frozenset()}
    speed = {"a": 2.0, "b": 1.0}
    return [
        ServerSnapshot(i, f"disp-{n}", ServerStatus.ONLINE, 0, NODES, have[n], frozenset(), speed[n])
        for n, i in ids.items()
    ]


def plan(needs_model: bool = False) -> job_dispatch.JobPlan:
    return job_dispatch.JobPlan(JobNeeds(NODES, frozenset({CKPT}) if needs_model else frozenset()), 1.0)


def claim(conn: Connection, ids: dict[str, int], who: str = "w", **kw: object) -> job_dispatch.PlacedClaim:
    capacity = dict.fromkeys(ids.values(), 1)
    return job_dispatch.claim_placed(conn, holder(who), LEASE, snapshots(ids), capacity, lambda job: plan(), **kw)  # type: ignore[arg-type]


def test_claim_assigns_the_fair_share_head_to_the_fastest_free_server(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    a, b = secure_studio.user_ids["creator"], secure_studio.user_ids["admin"]
    with queue_db.begin() as conn:
        heavy = enqueue_many(conn, a, 3)
        light = enqueue_many(conn, b, 1)
    with queue_db.begin() as conn:
        first = claim(conn, servers)
    assert first.job is not None
    assert (first.job.id, first.server_id, first.job.status) == (heavy[0], servers["a"], JobStatus.CLAIMED)
    with queue_db.begin() as conn:  # a is full: b takes the next job in fair-share order (the other owner's)
        second = claim(conn, servers)
        third = claim(conn, servers)  # both full: nothing is claimed, nothing locked
    assert second.job is not None
    assert (second.job.id, second.server_id) == (light[0], servers["b"])
    assert third.job is None
    with queue_db.begin() as conn:
        attempts = conn.execute(text("SELECT job_id, attempt_no, server_id FROM job_attempts ORDER BY job_id")).all()
        events = [e.kind for e in repo.job_events(conn, heavy[0])]
    assert [tuple(r) for r in attempts] == [(heavy[0], 1, servers["a"]), (light[0], 1, servers["b"])]
    assert events == [JobEventKind.CREATED, JobEventKind.CLAIMED]


def test_a_slow_free_server_leaves_a_big_job_to_a_fast_one_that_frees_up_sooner(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    owner = secure_studio.user_ids["creator"]
    with queue_db.begin() as conn:
        [small] = enqueue_many(conn, owner, 1)
    with queue_db.begin() as conn:
        first = claim(conn, servers)  # the small job goes to the fast server `a`
    assert (first.job and first.job.id, first.server_id) == (small, servers["a"])
    with queue_db.begin() as conn:
        [big] = enqueue_many(conn, owner, 1)
    capacity = dict.fromkeys(servers.values(), 1)

    def sized(job: repo.JobRow) -> job_dispatch.JobPlan:
        return job_dispatch.JobPlan(plan().needs, 100.0 if job.id == big else 1.0)

    def place(conn: Connection) -> job_dispatch.PlacedClaim:
        return job_dispatch.claim_placed(
            conn, holder("w"), LEASE, snapshots(servers), capacity, sized, work_of=lambda _: 1.0
        )

    with queue_db.begin() as conn:  # `a` ends in 0.5 + 100/2; `b` (free, speed 1) would need 100: wait for `a`
        assert place(conn).job is None
    with queue_db.begin() as conn:
        job_leases.transition(conn, small, first.job.lease_holder or "", JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED)
    with queue_db.begin() as conn:
        taken = place(conn)
    assert (taken.job and taken.job.id, taken.server_id) == (big, servers["a"])


def test_a_job_no_server_can_run_is_refused_with_reasons_and_its_owner_told(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    owner = secure_studio.user_ids["creator"]
    with queue_db.begin() as conn:
        [job] = enqueue_many(conn, owner, 1)
    nothing = {"a": frozenset[ModelRef](), "b": frozenset[ModelRef]()}
    with queue_db.begin() as conn:
        result = job_dispatch.claim_placed(
            conn, holder("w"), LEASE, snapshots(servers, nothing), dict.fromkeys(servers.values(), 1),
            lambda _: plan(needs_model=True),
        )  # fmt: skip
    assert result.job is None
    [refused] = result.refused
    assert "wan22.safetensors" in refused.sentence
    with queue_db.begin() as conn:
        row = repo.get_job(conn, job)
        note = conn.execute(text("SELECT a.data FROM activity_events a WHERE a.job_id = :j"), {"j": job}).scalar_one()
    assert (row.status, row.attempts) == (JobStatus.FAILED, 0)
    assert note["refused"] is True
    assert note["link"] == f"x121://jobs/{job}"


def test_racing_claimers_never_overfill_a_server(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    with queue_db.begin() as conn:
        enqueue_many(conn, secure_studio.user_ids["creator"], 12)
    got: list[int | None] = []
    barrier = threading.Barrier(6)

    def race() -> None:
        barrier.wait()
        with queue_db.begin() as conn:
            got.append(claim(conn, servers).server_id)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    placed = [s for s in got if s is not None]
    assert sorted(placed) == sorted(servers.values())  # capacity 1 each: exactly two claims won


def test_stored_capabilities_round_trip(queue_db: Engine, servers: dict[str, int]) -> None:
    with queue_db.begin() as conn:
        server_capabilities.store(conn, servers["a"], NODES, {CKPT, ModelRef("Loader.ckpt", "x.gguf")}, "ab" * 32)
        stored = server_capabilities.load(conn, list(servers.values()))
    assert stored == {servers["a"]: (NODES, frozenset({CKPT, ModelRef("Loader.ckpt", "x.gguf")}))}


def _login(studio: SecureStudio, who: str) -> Engine:
    return create_engine(studio.url(who), pool_size=2)


def test_a_creator_login_claims_and_completes_another_users_job(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int], tmp_path: Path
) -> None:
    owner = secure_studio.user_ids["admin"]  # someone else's job
    with queue_db.begin() as conn:
        [job_id] = enqueue_many(conn, owner, 1)
    worker = _login(secure_studio, "creator")
    me = holder("creator-worker")
    store = MediaStore(tmp_path / "media")
    try:
        with worker.begin() as conn:
            result = job_dispatch.claim_placed(
                conn, me, LEASE, snapshots(servers), dict.fromkeys(servers.values(), 1), lambda _: plan()
            )
        assert result.job is not None
        assert result.job.id == job_id
        with worker.begin() as conn:
            job_leases.transition(conn, job_id, me, JobStatus.SUBMITTED, JobEventKind.SUBMITTED)
            assert job_runs.renew(conn, me, [job_id], LEASE) == ({job_id}, set())
            job_leases.transition(conn, job_id, me, JobStatus.RUNNING, JobEventKind.STARTED)
            job_leases.append_event(conn, job_id, me, JobEventKind.PROGRESS, {"value": 1, "max": 2})
            job_leases.transition(conn, job_id, me, JobStatus.DOWNLOADING, JobEventKind.OUTPUT_STORED)
        with worker.begin() as conn:
            stored = store.record(conn, store.write_bytes(b"\x89PNG fake output", suffix=".png"), kind=FileKind.IMAGE)
            job_leases.add_output(conn, job_id, me, stored.file_id, "3")
            job_runs.record_node_timings(conn, job_id, servers["a"], [("1", "LoadImage", 0.1), ("3", "SaveImage", 0.2)])
            job_runs.record_cost(conn, job_id, servers["a"], 0.3)
            job_leases.transition(conn, job_id, me, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED)
            repo.notify_owner(conn, job_id, JobStatus.SUCCEEDED, f"Job {job_id} finished")
            server_capabilities.store(conn, servers["a"], NODES, {CKPT})  # creators may record what a server has
    finally:
        worker.dispose()
    with queue_db.begin() as conn:
        done = repo.get_job(conn, job_id)
        outputs = repo.job_outputs(conn, job_id)
        told = conn.execute(
            text("SELECT user_id FROM notifications n JOIN activity_events a ON a.id = n.activity_event_id "
                 "WHERE a.job_id = :j"), {"j": job_id}
        ).scalars().all()  # fmt: skip
    assert (done.status, done.owner_id, done.lease_holder) == (JobStatus.SUCCEEDED, owner, None)
    assert [o.node_id for o in outputs] == ["3"]
    assert told == [owner]


def test_a_reviewer_login_can_neither_submit_nor_claim(
    queue_db: Engine, secure_studio: SecureStudio, servers: dict[str, int]
) -> None:
    with queue_db.begin() as conn:
        enqueue_many(conn, secure_studio.user_ids["creator"], 1)
    reviewer = _login(secure_studio, "reviewer")
    try:
        for attempt in (
            lambda conn: repo.enqueue(conn, new_job()),
            lambda conn: claim(conn, servers, "reviewer"),
        ):
            with pytest.raises(DBAPIError) as refused, reviewer.begin() as conn:
                attempt(conn)
            error = translate_db_error(refused.value)
            assert isinstance(error, PermissionDenied)
            assert "permission denied for table jobs" in error.sentence
    finally:
        reviewer.dispose()
    with queue_db.begin() as conn:
        assert [j.status for j in repo.list_jobs(conn)] == [JobStatus.QUEUED]
