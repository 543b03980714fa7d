"""Revision 0013: jobs on hold and paused queues, enforced by PostgreSQL for real login roles.

Real logins (tests/db/job_rights_studio.py: creator, a second creator Carl, admin, reviewer). Holds,
releases and pauses go through the repository (the SECURITY DEFINER functions) on an engine signed
in as the login; what anyone with psql could try instead is tried with psycopg directly and must be
refused (42501). The claim is the dispatcher's own look statement (`job_dispatch.look`) and take
(`job_dispatch.assign`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.db.job_rights_studio import REFUSED, MakeJob, Rights, made_jobs, no_pause_left, rights
from tests.db.security_studio import SUPERUSER, secure_studio
from x121_desktop.core.enums import JobEventKind, JobKind, JobStatus
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.db.repositories import job_dispatch, job_pauses
from x121_desktop.db.repositories import jobs as repo

__all__ = ["made_jobs", "no_pause_left", "rights", "secure_studio"]

LEASE = timedelta(seconds=30)
HOLDER = "ws-hold:1:abc"


pytestmark = pytest.mark.usefixtures("no_pause_left")


@pytest.fixture
def submitted(rights: Rights) -> Iterator[Callable[[str], repo.JobRow]]:
    """`submit(login)`: a job `login` submits through the repository (as the app does), removed afterwards."""
    made: list[int] = []

    def submit(who: str, kind: JobKind = JobKind.GENERATE) -> repo.JobRow:
        with rights.engine(who).begin() as conn:
            job = repo.enqueue(conn, repo.NewJob(kind=kind, inputs={"params": {"seed": 7}, "files": {}}))
        made.append(int(job.id))
        return job

    yield submit
    with rights.connect(SUPERUSER) as conn:
        conn.execute("DELETE FROM jobs WHERE id = ANY(%s)", (made,))


def _status(x: Rights, job: int) -> JobStatus:
    return JobStatus(x.one("SELECT job_status_id FROM jobs WHERE id = %s", job))


def _events(x: Rights, job: int) -> list[tuple[JobEventKind, dict[str, object]]]:
    with x.engine(SUPERUSER).connect() as conn:
        return [(e.kind, dict(e.data)) for e in repo.job_events(conn, job)]


def _ranked(x: Rights, who: str = "carl") -> list[int]:
    """The job ids the dispatcher's look statement offers, in claim order (as `who`'s dispatcher sees them)."""
    with x.engine(who).begin() as conn:
        _, found = job_dispatch.look(conn, 24, {x.studio.ids["server"]: 50})
    return [int(c.job.id) for c in found]


def test_the_owner_and_an_admin_hold_and_release_another_creator_cannot(rights: Rights, made_jobs: MakeJob) -> None:
    job = made_jobs("creator")
    order = ("created_at", "work_estimate", "priority", "prompt_id", "attempts")
    before = rights.one(f"SELECT json_build_array({', '.join(order)})::text FROM jobs WHERE id = %s", job)
    with rights.engine("creator").begin() as conn:
        assert repo.hold(conn, job) is repo.HoldOutcome.HELD
        assert repo.hold(conn, job) is repo.HoldOutcome.ALREADY_HELD
    assert _status(rights, job) is JobStatus.HELD
    with rights.engine("carl").begin() as conn, pytest.raises(PermissionDenied) as refused:
        repo.release_hold(conn, job)
    assert refused.value.sentence == (
        f"Job {job} belongs to another user, so you cannot release it. Ask its owner or a studio admin to release it"
    )
    assert rights.act("carl", "SELECT x121_release_job(%s)", job) == REFUSED
    assert rights.act("reviewer", "SELECT x121_release_job(%s)", job) == REFUSED
    with rights.engine("admin").begin() as conn:
        assert repo.release_hold(conn, job) is repo.ReleaseOutcome.RELEASED
        assert repo.release_hold(conn, job) is repo.ReleaseOutcome.NOT_HELD
    assert _status(rights, job) is JobStatus.QUEUED
    assert rights.act("carl", "SELECT x121_hold_job(%s)", job) == REFUSED
    assert rights.act("reviewer", "SELECT x121_hold_job(%s)", job) == REFUSED
    assert _status(rights, job) is JobStatus.QUEUED
    after = rights.one(f"SELECT json_build_array({', '.join(order)})::text FROM jobs WHERE id = %s", job)
    assert after == before  # its place in the queue is what it was
    held = [(k, d) for k, d in _events(rights, job) if k in (JobEventKind.HELD, JobEventKind.RELEASED)]
    assert held == [
        (JobEventKind.HELD, {"by_user": rights.user_id("creator")}),
        (JobEventKind.RELEASED, {"by_user": rights.user_id("admin")}),
    ]


TAMPER = [
    ("hold it by an update", "UPDATE jobs SET job_status_id = 11 WHERE id = %s", False),
    ("release it by an update", "UPDATE jobs SET job_status_id = 1 WHERE id = %s", True),
    ("cancel it by an update", "UPDATE jobs SET job_status_id = 9 WHERE id = %s", True),
    ("touch it while held", "UPDATE jobs SET updated_at = now() WHERE id = %s", True),
    ("claim it while held", "UPDATE jobs SET job_status_id = 2, lease_holder = 'x', lease_expires_at = now() "
     "+ interval '1 hour', attempts = attempts + 1 WHERE id = %s", True),
]  # fmt: skip


@pytest.mark.parametrize(("what", "sql", "held"), TAMPER, ids=[t[0] for t in TAMPER])
@pytest.mark.parametrize("who", ["creator", "admin"])
def test_nobody_holds_or_releases_by_a_plain_update(
    rights: Rights, made_jobs: MakeJob, what: str, sql: str, held: bool, who: str
) -> None:
    job = made_jobs("creator")
    if held:
        with rights.engine("creator").begin() as conn:
            repo.hold(conn, job)
    before = rights.one("SELECT to_jsonb(j) FROM jobs j WHERE id = %s", job)
    assert rights.act(who, sql, job) == REFUSED, what
    assert rights.one("SELECT to_jsonb(j) FROM jobs j WHERE id = %s", job) == before


def test_nobody_writes_the_paused_queues_or_inserts_a_held_job_directly(rights: Rights) -> None:
    me = rights.user_id("admin")
    for who in ("creator", "admin", "reviewer"):
        assert rights.act(who, "INSERT INTO job_queue_pauses (user_id, paused_by) VALUES (NULL, %s)", me) == REFUSED
        assert rights.act(who, "DELETE FROM job_queue_pauses") == REFUSED
    insert = "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id) VALUES (gen_random_uuid(), 1, 11)"
    assert rights.act("creator", insert) == REFUSED
    assert rights.act("admin", insert) == REFUSED


def test_only_a_queued_job_is_held_and_only_a_held_job_released(rights: Rights, made_jobs: MakeJob) -> None:
    running, queued = made_jobs("creator"), made_jobs("creator")
    with rights.engine("creator").begin() as conn:
        assert job_dispatch.assign(conn, running, HOLDER, LEASE, rights.studio.ids["server"], {}) is not None
    with rights.engine("creator").begin() as conn, pytest.raises(InvalidInput) as refused:
        repo.hold(conn, running)
    assert refused.value.sentence == (
        f"Job {running} is claimed; only a queued job can be put on hold. "
        "A dispatcher has it already; cancel it if it must not run"
    )
    with rights.engine("creator").begin() as conn, pytest.raises(InvalidInput) as refused:
        repo.release_hold(conn, running)
    assert refused.value.sentence == (
        f"Job {running} is claimed; only a job on hold can be released. Pick a job that is on hold"
    )
    with rights.engine("creator").begin() as conn:
        repo.hold(conn, queued)
        assert repo.request_cancel(conn, queued) is repo.CancelOutcome.CANCELLED  # at once, like a queued job
    assert _status(rights, queued) is JobStatus.CANCELLED


def test_a_held_job_is_never_offered_and_comes_back_in_its_fair_share_place(rights: Rights, made_jobs: MakeJob) -> None:
    t = "2030-01-01 00:00:0{}+00"
    a = [made_jobs("creator", work=w, created_at=t.format(1)) for w in (10.0, 30.0, 20.0)]  # one batch
    a_late = made_jobs("creator", work=99.0, created_at=t.format(2))  # a later batch: never overtakes
    b = [made_jobs("carl", created_at=t.format(1)) for _ in range(2)]
    c = made_jobs("admin", created_at=t.format(3))
    ours = {*a, a_late, *b, c}
    original = [j for j in _ranked(rights) if j in ours]
    assert set(original) == ours
    mine = [j for j in original if j in {*a, a_late}]
    assert mine == [a[1], a[2], a[0], a_late]  # batch order: largest estimate first, the later batch last
    with rights.engine("creator").begin() as conn:
        repo.hold(conn, a[1])
        repo.hold(conn, a_late)
    while_held = [j for j in _ranked(rights) if j in ours]
    assert set(while_held) == ours - {a[1], a_late}
    assert [j for j in while_held if j in a] == [a[2], a[0]]  # the rest of the batch took its turns meanwhile
    with rights.engine("carl").begin() as conn:  # a dispatcher's take cannot have it either
        assert job_dispatch.assign(conn, a[1], HOLDER, LEASE, rights.studio.ids["server"], {}) is None
    with rights.engine("creator").begin() as conn:
        repo.release_hold(conn, a_late)
        repo.release_hold(conn, a[1])
    assert [j for j in _ranked(rights) if j in ours] == original


def test_pausing_my_queue_holds_my_queued_jobs_and_what_i_submit_until_i_resume(
    rights: Rights, made_jobs: MakeJob, submitted: Callable[..., repo.JobRow]
) -> None:
    queued = [made_jobs("creator"), made_jobs("creator")]
    held_alone = made_jobs("creator")
    carls = made_jobs("carl")
    with rights.engine("creator").begin() as conn:
        repo.hold(conn, held_alone)
    me = rights.user_id("creator")
    waiting = rights.one("SELECT count(*) FROM jobs WHERE owner_id = %s AND job_status_id = 1", me)
    assert waiting >= 2  # these two and the studio fixture's queued job
    with rights.connect(SUPERUSER, autocommit=True) as listener:
        listener.execute("LISTEN x121_job_queue")
        with rights.engine("creator").begin() as conn:
            assert job_pauses.pause_queue(conn) == waiting
        [notice] = [json.loads(n.payload) for n in listener.notifies(timeout=2, stop_after=1)]
    assert notice == {"scope": "user", "user_id": me, "paused": True, "by_user": me, "jobs": waiting}
    assert [_status(rights, j) for j in (*queued, carls)] == [JobStatus.HELD, JobStatus.HELD, JobStatus.QUEUED]
    assert (JobEventKind.HELD, {"by_user": me, "queue_paused": True}) in _events(rights, queued[0])
    with rights.engine("carl").begin() as conn:  # other clients see it
        [pause] = job_pauses.queue_pauses(conn)
    name = rights.one("SELECT display_name FROM users WHERE id = %s", me)
    assert (pause.user_id, pause.user, pause.paused_by, pause.paused_by_name) == (me, name, me, name)
    with rights.connect(SUPERUSER, autocommit=True) as listener:
        listener.execute("LISTEN x121_jobs")
        new = submitted("creator")
        payloads = [json.loads(n.payload) for n in listener.notifies(timeout=2, stop_after=2)]
    assert new.status is JobStatus.HELD
    assert [(p["event"], p["status"]) for p in payloads] == [("created", "held"), ("held", "held")]
    assert _events(rights, new.id)[-1] == (JobEventKind.HELD, {"queue_paused": True, "at_submission": True})
    assert submitted("carl").status is JobStatus.QUEUED  # only my queue is paused
    assert submitted("creator", JobKind.EDITOR_TEST_RUN).status is JobStatus.QUEUED  # claimed at once by the editor
    with rights.engine("creator").begin() as conn:
        assert job_pauses.pause_queue(conn) == 0  # already paused: nothing more to hold
        assert job_pauses.resume_queue(conn) == waiting + 1
        assert job_pauses.resume_queue(conn) == 0
        assert job_pauses.queue_pauses(conn) == []
    assert [_status(rights, j) for j in (*queued, new.id)] == [JobStatus.QUEUED] * 3
    assert _status(rights, held_alone) is JobStatus.HELD  # held one by one: stays on hold
    assert _events(rights, new.id)[-1] == (JobEventKind.RELEASED, {"by_user": me, "queue_resumed": True})
    assert submitted("creator").status is JobStatus.QUEUED


def test_a_submission_racing_a_pause_is_held_by_it(rights: Rights) -> None:
    """The insert's shared lock (122, owner) makes a pause wait for a submission still in flight, then hold it."""
    me = rights.user_id("creator")
    waiting = rights.one("SELECT count(*) FROM jobs WHERE owner_id = %s AND job_status_id = 1", me)
    insert = "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id) VALUES (gen_random_uuid(), 1, 1) RETURNING id"
    held: list[int] = []
    with rights.connect("creator") as submitting, rights.connect("creator") as pausing:
        job = submitting.execute(insert).fetchone()[0]  # type: ignore[index]  # not committed: the pause cannot see it

        def pause() -> None:
            held.append(pausing.execute("SELECT x121_pause_queue()").fetchone()[0])  # type: ignore[index]
            pausing.commit()

        thread = threading.Thread(target=pause)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waits for the submission's transaction
        submitting.commit()
        thread.join(10)
    assert held == [waiting + 1]
    assert _status(rights, job) is JobStatus.HELD
    with rights.engine("creator").begin() as conn:
        assert job_pauses.resume_queue(conn) == waiting + 1
    with rights.connect(SUPERUSER) as conn:
        conn.execute("DELETE FROM jobs WHERE id = %s", (job,))


def test_only_an_admin_pauses_the_studio_queue_and_then_nothing_is_claimed(
    rights: Rights, made_jobs: MakeJob, submitted: Callable[..., repo.JobRow]
) -> None:
    jobs = [made_jobs("creator"), made_jobs("carl")]
    for who in ("creator", "carl"):
        with rights.engine(who).begin() as conn, pytest.raises(PermissionDenied) as refused:
            job_pauses.pause_queue(conn, studio=True)
        assert refused.value.sentence == (
            "Only a studio admin can pause the studio queue. Pause your own queue instead, or ask an admin"
        )
    assert rights.act("reviewer", "SELECT x121_pause_queue(true)") == REFUSED
    assert set(jobs) <= set(_ranked(rights))
    with rights.connect(SUPERUSER, autocommit=True) as listener:
        listener.execute("LISTEN x121_job_queue")
        with rights.engine("admin").begin() as conn:
            assert job_pauses.pause_queue(conn, studio=True) == 0
        [notice] = [json.loads(n.payload) for n in listener.notifies(timeout=2, stop_after=1)]
    assert notice == {"scope": "studio", "user_id": None, "paused": True, "by_user": rights.user_id("admin"), "jobs": 0}
    assert [_status(rights, j) for j in jobs] == [JobStatus.QUEUED] * 2  # queued jobs stay queued
    for who in ("creator", "carl", "admin", SUPERUSER):  # no dispatcher is offered or takes anything
        assert _ranked(rights, who) == [], who
        with rights.engine(who).begin() as conn:
            assert job_dispatch.assign(conn, jobs[0], HOLDER, LEASE, rights.studio.ids["server"], {}) is None, who
    assert _status(rights, jobs[0]) is JobStatus.QUEUED
    editor_run = submitted("creator", JobKind.EDITOR_TEST_RUN)  # a person's test run on a chosen server
    with rights.engine("creator").begin() as conn:
        assert job_dispatch.assign(conn, editor_run.id, HOLDER, LEASE, rights.studio.ids["server"], {}) is not None
    with rights.engine("creator").begin() as conn, pytest.raises(PermissionDenied):
        job_pauses.resume_queue(conn, studio=True)
    with rights.engine("carl").begin() as conn:
        [pause] = job_pauses.queue_pauses(conn)
    assert (pause.user_id, pause.paused_by) == (None, rights.user_id("admin"))
    with rights.engine("admin").begin() as conn:
        assert job_pauses.resume_queue(conn, studio=True) == 0
    assert set(jobs) <= set(_ranked(rights))


def test_the_claim_reads_the_studio_pause_in_its_first_statement(rights: Rights, made_jobs: MakeJob) -> None:
    """No extra round trip: the pause is a one-time filter inside the look's ranking statement."""
    made_jobs("creator")
    with rights.engine("carl").connect() as conn:
        sql = job_dispatch.fair_share_sql(24) + " SELECT id FROM ranked"
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql).all())
    assert "job_queue_pauses" in plan
    assert "One-Time Filter" in plan


def test_downgrade_puts_held_jobs_back_in_the_queue_and_upgrade_restores_holds(
    new_database: Callable[[], str],
) -> None:
    from alembic import command

    from x121_desktop.db.migrate import alembic_config, upgrade

    engine = create_engine(new_database())
    try:
        upgrade(engine)
        with engine.begin() as conn:
            job = repo.enqueue(conn, repo.NewJob(kind=JobKind.GENERATE, inputs={}))
            repo.hold(conn, job.id)
            job_pauses.pause_queue(conn, studio=True)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0012")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT job_status_id FROM jobs WHERE id = :j"), {"j": job.id}).scalar_one() == 1
            assert conn.execute(text("SELECT to_regclass('job_queue_pauses')")).scalar_one() is None
            assert conn.execute(text("SELECT count(*) FROM job_status")).scalar_one() == 10
            cancel = conn.execute(text("SELECT prosrc FROM pg_proc WHERE proname = 'x121_cancel_job'")).scalar_one()
            assert "NOT IN (1, 11)" not in cancel
        assert upgrade(engine).up_to_date
        with engine.begin() as conn:
            assert repo.hold(conn, job.id) is repo.HoldOutcome.HELD
    finally:
        engine.dispose()
