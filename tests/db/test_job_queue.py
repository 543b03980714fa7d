"""The job queue repository on a real embedded PostgreSQL: fair share, priority, SKIP LOCKED claims
racing on separate connections, leases (expiry, reclaim exactly once, stale holders), cancellation
isolation, the warm-start cache, and the state machine."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from tests.db.job_queue_studio import enqueue_many, holder, new_job, queue_db, su_engine
from tests.db.security_studio import SecureStudio, secure_studio
from x121_desktop.core.enums import JobEventKind, JobStatus, NotificationKind
from x121_desktop.core.orchestration.fairshare import QueuedJob, order_queue
from x121_desktop.core.orchestration.states import InvalidJobTransition
from x121_desktop.db.repositories import jobs as repo

__all__ = ["queue_db", "secure_studio", "su_engine"]  # fixtures used by this module

LEASE = timedelta(seconds=30)


def _ids(claimed: list[repo.ClaimedJob]) -> list[int]:
    return [int(c.id) for c in claimed]


def _expire(conn: Connection, job_ids: list[int]) -> None:
    """Time passes: these leases ran out a second ago."""
    conn.execute(
        text("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = ANY(:ids)"), {"ids": job_ids}
    )


def _event_kinds(conn: Connection, job_id: int) -> list[JobEventKind]:
    return [e.kind for e in repo.job_events(conn, job_id)]


def _owners(studio: SecureStudio) -> tuple[int, int, int]:
    return studio.user_ids["creator"], studio.user_ids["admin"], studio.user_ids["reviewer"]


def test_enqueue_records_created_event_and_keeps_prompt_id(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, _, _ = _owners(secure_studio)
    with queue_db.begin() as conn:
        job = repo.enqueue(conn, new_job(a, priority=3, inputs={"seed": 7}))
        again = repo.get_job(conn, job.id)
        events = repo.job_events(conn, job.id)
    assert again == job
    assert (job.status, job.owner_id, job.priority, job.attempts, job.inputs) == (
        JobStatus.QUEUED,
        a,
        3,
        0,
        {"seed": 7},
    )
    assert [e.kind for e in events] == [JobEventKind.CREATED]
    with queue_db.begin() as conn, pytest.raises(repo.JobNotFound, match="no job"):
        repo.get_job(conn, job.id + 10_000)


def test_fair_share_takes_one_job_per_owner_before_a_second(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, b, c = _owners(secure_studio)
    with queue_db.begin() as conn:
        heavy = enqueue_many(conn, a, 5)  # A queued first and most
        light_b = enqueue_many(conn, b, 2)
        light_c = enqueue_many(conn, c, 1)
    with queue_db.begin() as conn:
        first = _ids(repo.claim(conn, holder("w"), LEASE, limit=3))
    assert first == [heavy[0], light_b[0], light_c[0]]
    with queue_db.begin() as conn:  # A, B and C run one each now; C has nothing left; A and B tie: oldest first
        second = _ids(repo.claim(conn, holder("w"), LEASE, limit=3))
    assert second == [heavy[1], light_b[1], heavy[2]]


def test_priority_bands_first_then_fewest_running(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, b, _ = _owners(secure_studio)
    with queue_db.begin() as conn:
        enqueue_many(conn, a, 2)
    with queue_db.begin() as conn:
        repo.claim(conn, holder("w"), LEASE, limit=1)  # A now runs one job
        urgent_a = enqueue_many(conn, a, 1, priority=5)
        calm_b = enqueue_many(conn, b, 1)
    with queue_db.begin() as conn:
        assert _ids(repo.claim(conn, holder("w"), LEASE)) == urgent_a  # a higher band goes first, busy or not
        assert _ids(repo.claim(conn, holder("w"), LEASE)) == calm_b  # same band: B runs nothing, A runs two


def test_claim_order_mirrors_core_fair_share(queue_db: Engine, secure_studio: SecureStudio) -> None:
    owners = [*_owners(secure_studio), secure_studio.user_ids["reviewer2"]]
    rng = random.Random(121)
    with queue_db.begin() as conn:
        busy = [j for o in owners[:2] for j in enqueue_many(conn, o, 1 + owners.index(o))]
        repo.claim(conn, holder("w"), LEASE, limit=len(busy))  # owners[0] runs 1, owners[1] runs 2
        queued = [
            QueuedJob(repo.enqueue(conn, new_job(o, priority=p)).id, o, p)
            for o, p in ((rng.choice(owners), rng.choice((0, 0, 1, 3))) for _ in range(40))
        ]
    expected = [j.job_id for j in order_queue(queued, {owners[0]: 1, owners[1]: 2})]
    with queue_db.begin() as conn:
        assert _ids(repo.claim(conn, holder("w"), LEASE, limit=40)) == expected


def test_claim_order_with_batches_and_work_estimates_mirrors_core_fair_share(
    queue_db: Engine, secure_studio: SecureStudio
) -> None:
    """Batches (one transaction each: one created_at) of random sizes, owners, priorities and estimates."""
    owners = [*_owners(secure_studio), secure_studio.user_ids["reviewer2"]]
    rng = random.Random(5)
    queued: list[QueuedJob] = []
    for _ in range(8):
        owner, priority = rng.choice(owners), rng.choice((0, 0, 2))
        with queue_db.begin() as conn:
            for _ in range(rng.randint(1, 6)):
                work = rng.choice((None, 1.0, 50.0, 50.0, rng.uniform(1, 1e6)))
                row = repo.enqueue(conn, new_job(owner, priority=priority, work_estimate=work))
                queued.append(QueuedJob(row.id, owner, priority, row.created_at.timestamp(), work))
    expected = [j.job_id for j in order_queue(queued, {})]
    with queue_db.begin() as conn:
        assert _ids(repo.claim(conn, holder("w"), LEASE, limit=len(queued))) == expected


def test_priority_then_age_within_one_owner(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, _, _ = _owners(secure_studio)
    with queue_db.begin() as conn:
        low = enqueue_many(conn, a, 2, priority=0)
        high = enqueue_many(conn, a, 2, priority=5)
    with queue_db.begin() as conn:
        order = _ids(repo.claim(conn, holder("w"), LEASE, limit=4))
    assert order == [*high, *low]


def test_concurrent_claimers_take_each_job_exactly_once(queue_db: Engine, secure_studio: SecureStudio) -> None:
    owners = _owners(secure_studio)
    with queue_db.begin() as conn:
        all_ids = [j for i in range(240) for j in enqueue_many(conn, owners[i % 3], 1)]
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker(n: int) -> None:
        me = holder(f"claimer{n}")
        try:
            start.wait()
            while True:
                with queue_db.begin() as conn:
                    got = _ids(repo.claim(conn, me, LEASE, limit=1 + n % 3))
                    for job_id in got:
                        repo.transition(conn, job_id, me, JobStatus.SUBMITTED, JobEventKind.SUBMITTED)
                if not got:
                    return
                with lock:
                    claimed.extend(got)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert not [c for c, n in Counter(claimed).items() if n > 1]
    assert sorted(claimed) == sorted(all_ids)
    with queue_db.begin() as conn:
        claims = conn.execute(
            text("SELECT job_id, count(*) FROM job_events WHERE job_event_kind_id = :k GROUP BY job_id"),
            {"k": int(JobEventKind.CLAIMED)},
        ).all()
        statuses = conn.execute(text("SELECT DISTINCT job_status_id, attempts FROM jobs")).all()
    assert len(claims) == len(all_ids)
    assert {n for _, n in claims} == {1}
    assert statuses == [(int(JobStatus.SUBMITTED), 1)]


def test_claim_filters_by_kind(queue_db: Engine, secure_studio: SecureStudio) -> None:
    from x121_desktop.core.enums import JobKind

    a, _, _ = _owners(secure_studio)
    with queue_db.begin() as conn:
        gen = repo.enqueue(conn, new_job(a)).id
        heal = repo.enqueue(conn, repo.NewJob(kind=JobKind.HEAL, inputs={}, owner_id=a)).id
        assert _ids(repo.claim(conn, holder("w"), LEASE, limit=5, kinds=[JobKind.HEAL])) == [heal]
        assert _ids(repo.claim(conn, holder("w"), LEASE, limit=5)) == [gen]


def test_full_run_with_attempt_row_and_lease_cleared(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, _, _ = _owners(secure_studio)
    server = secure_studio.ids["server"]
    me = holder("w")
    with queue_db.begin() as conn:
        job_id = repo.enqueue(conn, new_job(a)).id
        (claimed,) = repo.claim(conn, me, LEASE)
        assert claimed.attempt_no == 1
        assert claimed.job.lease_holder == me
        assert repo.record_attempt(conn, job_id, me, server) == 1
        for to, ev in (
            (JobStatus.UPLOADING, JobEventKind.UPLOADED),
            (JobStatus.SUBMITTED, JobEventKind.SUBMITTED),
            (JobStatus.RUNNING, JobEventKind.STARTED),
        ):
            repo.transition(conn, job_id, me, to, ev, {"server_id": server})
        repo.append_event(conn, job_id, me, JobEventKind.PROGRESS, {"value": 5, "max": 10})
        repo.transition(conn, job_id, me, JobStatus.DOWNLOADING, JobEventKind.NODE_FINISHED)
        done = repo.transition(conn, job_id, me, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED)
        attempt = conn.execute(
            text("SELECT attempt_no, server_id, job_status_id, finished_at IS NOT NULL FROM job_attempts")
        ).one()
        kinds = _event_kinds(conn, job_id)
    assert (done.status, done.lease_holder, done.lease_expires_at, done.server_id) == (
        JobStatus.SUCCEEDED,
        None,
        None,
        server,
    )
    assert done.started_at is not None
    assert done.finished_at is not None
    assert tuple(attempt) == (1, server, int(JobStatus.SUCCEEDED), True)
    assert kinds[:2] == [JobEventKind.CREATED, JobEventKind.CLAIMED]
    assert kinds[-1] == JobEventKind.SUCCEEDED
    assert JobEventKind.PROGRESS in kinds


def test_state_machine_refuses_a_skipped_step(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, _, _ = _owners(secure_studio)
    me = holder("w")
    with queue_db.begin() as conn:
        job_id = repo.enqueue(conn, new_job(a)).id
        repo.claim(conn, me, LEASE)
        with pytest.raises(InvalidJobTransition, match="from claimed to running"):
            repo.transition(conn, job_id, me, JobStatus.RUNNING, JobEventKind.STARTED)
        assert repo.get_job(conn, job_id).status is JobStatus.CLAIMED


def test_release_is_not_an_attempt_and_cancel_request_wins(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, _, _ = _owners(secure_studio)
    me = holder("w")
    with queue_db.begin() as conn:
        first, second = enqueue_many(conn, a, 2)
        repo.claim(conn, me, LEASE, limit=2)
        back = repo.release(conn, first, me)
        assert (back.status, back.attempts, back.lease_holder) == (JobStatus.QUEUED, 0, None)
        assert repo.request_cancel(conn, second, a) is repo.CancelOutcome.REQUESTED
        assert repo.release(conn, second, me).status is JobStatus.CANCELLED
        assert _ids(repo.claim(conn, me, LEASE)) == [first]
        assert repo.get_job(conn, first).attempts == 1


def test_expired_leases_are_reclaimed_exactly_once_by_racing_reclaimers(
    queue_db: Engine, secure_studio: SecureStudio
) -> None:
    owners = _owners(secure_studio)
    dead = holder("dead")
    with queue_db.begin() as conn:
        ids = [j for i in range(60) for j in enqueue_many(conn, owners[i % 3], 1)]
        repo.claim(conn, dead, LEASE, limit=60)
        _expire(conn, ids)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(5)

    def reclaimer() -> None:
        try:
            start.wait()
            mine: list[int] = []
            while True:
                with queue_db.begin() as conn:
                    got = [int(j) for j in repo.reclaim_expired(conn)]
                if not got:
                    break
                mine += got
            results.append(mine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reclaimer) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    everything = [j for r in results for j in r]
    assert sorted(everything) == sorted(ids)  # each job once, by exactly one reclaimer
    with queue_db.begin() as conn:
        lost = conn.execute(
            text("SELECT job_id, count(*) FROM job_events WHERE job_event_kind_id = :k GROUP BY job_id"),
            {"k": int(JobEventKind.LOST)},
        ).all()
        jobs = repo.list_jobs(conn, repo.JobFilter(limit=100))
        notes = conn.execute(text("SELECT count(*) FROM notifications")).scalar_one()
    assert {n for _, n in lost} == {1}
    assert len(lost) == 60
    assert {(j.status, j.attempts, j.lease_holder) for j in jobs} == {(JobStatus.QUEUED, 1, None)}
    assert notes == 60  # every owner was told


def test_a_lapsed_lease_is_queued_for_adoption_whatever_the_policy(
    queue_db: Engine, secure_studio: SecureStudio
) -> None:
    """A stopped dispatcher is not a lost server (revision 0015): its job's prompt may still run, so the job goes
    back to the queue, where the next claimer adopts that prompt, even when its policy forbids a second run."""
    a, _, _ = _owners(secure_studio)
    dead = holder("dead")
    with queue_db.begin() as conn:
        pinned = repo.enqueue(conn, new_job(a, redispatch_allowed=False)).id
        last_try = repo.enqueue(conn, new_job(a, max_attempts=1)).id
        repo.claim(conn, dead, LEASE, limit=2)
        repo.transition(conn, pinned, dead, JobStatus.SUBMITTED, JobEventKind.SUBMITTED)
        _expire(conn, [pinned, last_try])
        assert sorted(repo.reclaim_expired(conn)) == sorted([pinned, last_try])
        p, t = repo.get_job(conn, pinned), repo.get_job(conn, last_try)
        kinds = _event_kinds(conn, pinned)
        message = conn.execute(
            text(
                "SELECT e.data->>'message', n.user_id FROM notifications n JOIN activity_events e "
                "ON e.id = n.activity_event_id WHERE e.job_id = :id"
            ),
            {"id": pinned},
        ).one()
    assert (p.status, p.attempts, p.lease_holder) == (JobStatus.QUEUED, 1, None)
    assert (t.status, t.attempts, t.lease_holder) == (JobStatus.QUEUED, 1, None)
    assert kinds[-2:] == [JobEventKind.LOST, JobEventKind.REQUEUED]
    assert message[1] == a
    assert "follows that prompt where it runs instead of running it again" in message[0]


def test_a_lapsed_lost_job_follows_its_policy(queue_db: Engine, secure_studio: SecureStudio) -> None:
    """A job whose server already lost its prompt (LOST) and whose dispatcher then stopped is queued again only
    if its policy allows re-dispatch and attempts are left, else it fails saying which rule stopped it."""
    a, _, _ = _owners(secure_studio)
    dead = holder("dead")
    with queue_db.begin() as conn:
        pinned = repo.enqueue(conn, new_job(a, redispatch_allowed=False)).id
        last_try = repo.enqueue(conn, new_job(a, max_attempts=1)).id
        again = repo.enqueue(conn, new_job(a)).id
        repo.claim(conn, dead, LEASE, limit=3)
        for job_id in (pinned, last_try, again):
            repo.transition(conn, job_id, dead, JobStatus.LOST, JobEventKind.LOST)
        _expire(conn, [pinned, last_try, again])
        assert sorted(repo.reclaim_expired(conn)) == sorted([pinned, last_try, again])
        p, t, g = (repo.get_job(conn, j) for j in (pinned, last_try, again))
        kinds = _event_kinds(conn, pinned)
        note = conn.execute(
            text(
                "SELECT notification_kind_id, user_id FROM notifications n JOIN activity_events e "
                "ON e.id = n.activity_event_id WHERE e.job_id = :id"
            ),
            {"id": pinned},
        ).one()
    assert p.status is JobStatus.FAILED
    assert "may not be re-dispatched" in (p.error or "")
    assert t.status is JobStatus.FAILED
    assert "after 1 of 1 attempts" in (t.error or "")
    assert g.status is JobStatus.QUEUED
    assert kinds[-2:] == [JobEventKind.LOST, JobEventKind.FAILED]
    assert tuple(note) == (int(NotificationKind.JOB_FAILED), a)


def test_stale_holder_gets_lease_lost_and_writes_nothing(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, _, _ = _owners(secure_studio)
    old, new = holder("old"), holder("new")
    with queue_db.begin() as conn:
        job_id = repo.enqueue(conn, new_job(a)).id
        repo.claim(conn, old, LEASE)
        _expire(conn, [job_id])
        repo.reclaim_expired(conn)
        repo.claim(conn, new, LEASE)
    with queue_db.begin() as conn:
        before = len(repo.job_events(conn, job_id))
        with pytest.raises(repo.LeaseLost, match=f"no longer leased to {old}"):
            repo.transition(conn, job_id, old, JobStatus.SUBMITTED, JobEventKind.SUBMITTED)
        with pytest.raises(repo.LeaseLost):
            repo.append_event(conn, job_id, old, JobEventKind.PROGRESS)
        assert repo.renew_leases(conn, old, LEASE) == 0
        assert len(repo.job_events(conn, job_id)) == before
        assert repo.renew_leases(conn, new, LEASE) == 1
        assert repo.transition(conn, job_id, new, JobStatus.SUBMITTED, JobEventKind.SUBMITTED).attempts == 2


def _snapshot(conn: Connection) -> dict[int, Any]:
    return {j.id: j for j in repo.list_jobs(conn, repo.JobFilter(limit=1000))}


def test_cancel_touches_only_that_job(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, b, _ = _owners(secure_studio)
    me = holder("w")
    with queue_db.begin() as conn:
        a_jobs = enqueue_many(conn, a, 3)
        enqueue_many(conn, b, 3)
        running = _ids(repo.claim(conn, me, LEASE, limit=2))  # A's first and B's first
    with queue_db.begin() as conn:
        before = _snapshot(conn)
        assert repo.request_cancel(conn, a_jobs[1], a) is repo.CancelOutcome.CANCELLED
        assert repo.request_cancel(conn, running[0], a) is repo.CancelOutcome.REQUESTED
        after = _snapshot(conn)
    changed = {i for i in before if before[i] != after[i]}
    assert changed == {a_jobs[1], running[0]}
    assert after[a_jobs[1]].status is JobStatus.CANCELLED
    assert after[a_jobs[1]].finished_at is not None
    assert after[running[0]].cancel_requested
    assert after[running[0]].status is JobStatus.CLAIMED
    with queue_db.begin() as conn:
        flagged = [j.id for j in repo.held_jobs(conn, me) if j.cancel_requested]
        assert flagged == [running[0]]
        assert repo.request_cancel(conn, a_jobs[1], a) is repo.CancelOutcome.ALREADY_ENDED
        ended = repo.transition(conn, running[0], me, JobStatus.CANCELLED, JobEventKind.CANCELLED)
    assert ended.status is JobStatus.CANCELLED
    assert ended.lease_holder is None


def _stored_file(conn: Connection, name: str) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id) "
                "VALUES (encode(sha256(CAST(:n AS bytea)), 'hex'), :p, 10, 2, 3) RETURNING id"
            ),
            {"n": name, "p": f"media/{name}"},
        ).scalar_one()
    )


def test_cache_hit_reuses_outputs_of_an_identical_succeeded_job(queue_db: Engine, secure_studio: SecureStudio) -> None:
    a, b, _ = _owners(secure_studio)
    key = "ab" * 32
    me = holder("w")
    with queue_db.begin() as conn:
        assert repo.find_cache_hit(conn, key) is None
        first = repo.enqueue(conn, new_job(a, cache_key=key)).id
        repo.claim(conn, me, LEASE)
        out = _stored_file(conn, f"out-{first}.mp4")
        repo.add_output(conn, first, me, out, "9")
        repo.transition(conn, first, me, JobStatus.UPLOADING, JobEventKind.UPLOADED)
        assert repo.find_cache_hit(conn, key) is None  # not succeeded yet
        repo.transition(conn, first, me, JobStatus.SUBMITTED, JobEventKind.SUBMITTED)
        repo.transition(conn, first, me, JobStatus.DOWNLOADING, JobEventKind.OUTPUT_STORED)
        repo.transition(conn, first, me, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED)
        source = repo.find_cache_hit(conn, key)
        assert source is not None
        assert source.id == first
        hit = repo.record_cache_hit(conn, new_job(b, cache_key=key), source)
        events = repo.job_events(conn, hit.id)
        outputs = repo.job_outputs(conn, hit.id)
        queued = repo.claim(conn, me, LEASE)
    assert (hit.status, hit.attempts, hit.owner_id) == (JobStatus.SUCCEEDED, 0, b)
    assert [o.file_id for o in outputs] == [out]
    assert [e.kind for e in events] == [JobEventKind.CREATED, JobEventKind.SUCCEEDED]
    assert events[-1].data == {"cache_hit": True, "source_job_id": first, "cache_key": key}
    assert queued == []  # nothing was queued for the hit
