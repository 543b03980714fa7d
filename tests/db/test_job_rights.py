"""Revision 0012: PostgreSQL itself holds every login to the job queue's rules.

Real logins (tests/db/job_rights_studio.py: creator, a second creator Carl, admin, reviewer), acts
tried with psycopg directly, as anyone with psql could, and the dispatcher's own steps through
the repository on an engine signed in as the login. Refusals are asserted by SQLSTATE: 42501 for
a missing privilege or a guard's refusal, 23514 for a move the state machine does not have.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.db.job_rights_studio import ILLEGAL, REFUSED, MakeJob, Rights, made_jobs, rights
from tests.db.security_studio import SUPERUSER, secure_studio
from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import PermissionDenied
from x121_desktop.core.orchestration.states import can_transition
from x121_desktop.db.repositories import job_dispatch, job_runs
from x121_desktop.db.repositories import jobs as repo

__all__ = ["made_jobs", "rights", "secure_studio"]

LEASE = timedelta(seconds=30)
HOLDER = "ws-ada:4242:abc"


def _claim(x: Rights, who: str, job: int) -> None:
    """`who`'s dispatcher claims `job` for the fixture server, as claim_placed does, and commits."""
    with x.engine(who).begin() as conn:
        claimed = job_dispatch.assign(conn, job, HOLDER, LEASE, x.studio.ids["server"], {"server": "gpu-1"})
    assert claimed is not None


def _status(x: Rights, job: int) -> JobStatus:
    return JobStatus(x.one("SELECT job_status_id FROM jobs WHERE id = %s", job))


def test_the_database_mirrors_the_state_machine(rights: Rights) -> None:
    pairs = [(a, b) for a in JobStatus for b in JobStatus]
    with rights.connect("reviewer") as conn:
        allowed = [
            bool(conn.execute("SELECT x121_job_transition_allowed(%s::smallint, %s::smallint)", (a, b)).fetchone()[0])  # type: ignore[index]
            for a, b in pairs
        ]
    assert allowed == [a is not b and can_transition(a, b) for a, b in pairs]


TAMPER = [
    ("cancel it directly", "UPDATE jobs SET job_status_id = 9 WHERE id = %s", REFUSED),
    ("flag it cancelled", "UPDATE jobs SET cancel_requested = true WHERE id = %s", REFUSED),
    ("raise its priority", "UPDATE jobs SET priority = 100 WHERE id = %s", REFUSED),
    ("lower its priority", "UPDATE jobs SET priority = -100 WHERE id = %s", REFUSED),
    ("rewrite its inputs", "UPDATE jobs SET inputs = '{\"params\": {\"seed\": 666}}' WHERE id = %s", REFUSED),
    ("swap its workflow", "UPDATE jobs SET workflow_version_id = NULL WHERE id = %s", REFUSED),
    ("change its estimate", "UPDATE jobs SET work_estimate = 1 WHERE id = %s", REFUSED),
    ("change its cache key", "UPDATE jobs SET cache_key = repeat('e', 64) WHERE id = %s", REFUSED),
    ("point it at another take", "UPDATE jobs SET take_id = NULL WHERE id = %s", REFUSED),
    ("give it away", "UPDATE jobs SET owner_id = owner_id WHERE id = %s", REFUSED),
    ("allow more attempts", "UPDATE jobs SET max_attempts = 99 WHERE id = %s", REFUSED),
    ("forge its claiming login", "UPDATE jobs SET lease_login = 'x' WHERE id = %s", REFUSED),
    ("touch it while queued", "UPDATE jobs SET error = 'x', updated_at = now() WHERE id = %s", REFUSED),
    ("mark it running", "UPDATE jobs SET job_status_id = 5 WHERE id = %s", ILLEGAL),
    ("mark it succeeded", "UPDATE jobs SET job_status_id = 7 WHERE id = %s", ILLEGAL),
    ("delete it", "DELETE FROM jobs WHERE id = %s", REFUSED),
    ("log a line on it", "INSERT INTO job_events (job_id, job_event_kind_id) VALUES (%s, 17)", REFUSED),
    ("forge its success event", "INSERT INTO job_events (job_id, job_event_kind_id) VALUES (%s, 10)", REFUSED),
    ("give it outputs", "INSERT INTO job_outputs (job_id, file_id, node_id) "
     "SELECT %s, id, '9' FROM files ORDER BY id LIMIT 1", REFUSED),
    ("cancel it through the function", "SELECT x121_cancel_job(%s)", REFUSED),
    ("move it to the front", "SELECT x121_move_job_to_front(%s)", REFUSED),
]  # fmt: skip


@pytest.mark.parametrize(("what", "sql", "refusal"), TAMPER, ids=[t[0] for t in TAMPER])
def test_a_creator_cannot_touch_another_users_queued_job(
    rights: Rights, made_jobs: MakeJob, what: str, sql: str, refusal: str
) -> None:
    job = made_jobs("creator")
    before = rights.one("SELECT to_jsonb(j) FROM jobs j WHERE id = %s", job)
    assert rights.act("carl", sql, job) == refusal, what
    assert rights.one("SELECT to_jsonb(j) FROM jobs j WHERE id = %s", job) == before


OWNER_REFUSED = [t for t in TAMPER if t[0] in {
    "cancel it directly", "flag it cancelled", "raise its priority", "rewrite its inputs", "swap its workflow",
    "change its estimate", "give it away", "forge its claiming login", "mark it succeeded", "delete it",
}]  # fmt: skip


@pytest.mark.parametrize(("what", "sql", "refusal"), OWNER_REFUSED, ids=[t[0] for t in OWNER_REFUSED])
def test_the_owner_cannot_either_except_through_the_functions(
    rights: Rights, made_jobs: MakeJob, what: str, sql: str, refusal: str
) -> None:
    assert rights.act("creator", sql, made_jobs("creator")) == refusal, what


def test_the_owner_and_an_admin_cancel_a_queued_job_through_the_function(rights: Rights, made_jobs: MakeJob) -> None:
    mine, other = made_jobs("creator"), made_jobs("creator")
    with rights.engine("creator").begin() as conn:
        assert repo.request_cancel(conn, mine) is repo.CancelOutcome.CANCELLED
    with rights.engine("carl").begin() as conn, pytest.raises(PermissionDenied) as refused:
        repo.request_cancel(conn, other)
    assert refused.value.sentence == (
        f"Job {other} belongs to another user, so you cannot cancel it. Ask its owner or a studio admin to cancel it"
    )
    with rights.engine("admin").begin() as conn:
        assert repo.request_cancel(conn, other) is repo.CancelOutcome.CANCELLED
        assert repo.request_cancel(conn, other) is repo.CancelOutcome.ALREADY_ENDED
    assert (_status(rights, mine), _status(rights, other)) == (JobStatus.CANCELLED, JobStatus.CANCELLED)
    with rights.engine(SUPERUSER).connect() as conn:
        [event] = [e for e in repo.job_events(conn, other) if e.kind is JobEventKind.CANCELLED]
    assert event.data == {"by_user": rights.user_id("admin")}


def test_cancelling_a_running_job_asks_the_dispatcher_holding_it(rights: Rights, made_jobs: MakeJob) -> None:
    job = made_jobs("admin")  # run by the creator's workstation
    _claim(rights, "creator", job)
    with rights.connect(SUPERUSER, autocommit=True) as listener:
        listener.execute("LISTEN x121_jobs")
        with rights.engine("admin").begin() as conn:
            assert repo.request_cancel(conn, job) is repo.CancelOutcome.REQUESTED
        notices = [n.payload for n in listener.notifies(timeout=2, stop_after=1)]
    assert f'"job_id" : {job}' in notices[0]
    assert '"event" : "cancel_requested"' in notices[0]
    with rights.engine("creator").begin() as conn:  # the holder sees the flag at its next heartbeat
        held, cancel = job_runs.renew(conn, HOLDER, [job], LEASE)
        assert (held, cancel) == ({job}, {job})
        ended = repo.transition(conn, job, HOLDER, JobStatus.CANCELLED, JobEventKind.CANCELLED, {"why": "asked"})
    assert ended.status is JobStatus.CANCELLED
    assert rights.one("SELECT lease_login FROM jobs WHERE id = %s", job) == rights.role("creator")


def test_new_jobs_are_queued_at_priority_zero_or_lower_unless_an_admin_submits_them(rights: Rights) -> None:
    insert = "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id, priority) VALUES (gen_random_uuid(), 1, %s, %s)"
    assert rights.act("carl", insert, JobStatus.QUEUED, 5) == REFUSED
    assert rights.act("carl", insert, JobStatus.QUEUED, 0) == "ok"
    assert rights.act("carl", insert, JobStatus.QUEUED, -3) == "ok"
    assert rights.act("carl", insert, JobStatus.RUNNING, 0) == REFUSED
    assert rights.act("carl", insert, JobStatus.CLAIMED, 0) == REFUSED
    assert rights.act("admin", insert, JobStatus.QUEUED, 5) == "ok"
    assert rights.act("reviewer", insert, JobStatus.QUEUED, 0) == REFUSED
    forged = "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id, {}) VALUES (gen_random_uuid(), 1, 1, {})"
    for column, value in (("lease_login", "'t_admin'"), ("attempts", "1"), ("cancel_requested", "true"),
                          ("lease_holder", "'x'"), ("owner_id", str(rights.user_id("creator")))):  # fmt: skip
        assert rights.act("carl", forged.format(column, value)) == REFUSED, column


def test_only_the_login_that_claimed_a_job_moves_it_and_writes_its_records(rights: Rights, made_jobs: MakeJob) -> None:
    job = made_jobs("admin")
    _claim(rights, "creator", job)
    assert rights.one("SELECT lease_login FROM jobs WHERE id = %s", job) == rights.role("creator")
    server = rights.studio.ids["server"]
    for sql in (
        "UPDATE jobs SET job_status_id = 3 WHERE id = %s",
        "UPDATE jobs SET job_status_id = 8, lease_holder = NULL, lease_expires_at = NULL WHERE id = %s",
        "UPDATE jobs SET lease_expires_at = now() + interval '1 hour' WHERE id = %s",
        "UPDATE jobs SET lease_holder = 'carl:1:x' WHERE id = %s",
        "INSERT INTO job_events (job_id, job_event_kind_id, attempt_no) VALUES (%s, 6, 1)",
        "UPDATE job_attempts SET job_status_id = 8 WHERE job_id = %s",
        "INSERT INTO node_timings (job_id, node_id, class_type, server_id, seconds) "
        f"VALUES (%s, '3', 'K', {server}, 1)",
        "INSERT INTO cost_records (job_id, server_id, gpu_seconds, rate_per_hour, cost) "
        f"VALUES (%s, {server}, 1, 0, 0)",
        "INSERT INTO job_outputs (job_id, file_id, node_id) SELECT %s, id, '9' FROM files ORDER BY id LIMIT 1",
    ):
        assert rights.act("carl", sql, job) == REFUSED, sql
    with rights.engine("carl").begin() as conn, pytest.raises(repo.LeaseLost):  # even with the holder string
        repo.transition(conn, job, HOLDER, JobStatus.UPLOADING, JobEventKind.UPLOADED)
    with rights.engine("creator").begin() as conn:  # the claiming dispatcher runs it to the end
        for to, kind in ((JobStatus.UPLOADING, JobEventKind.UPLOADED), (JobStatus.SUBMITTED, JobEventKind.SUBMITTED),
                         (JobStatus.RUNNING, JobEventKind.STARTED),
                         (JobStatus.DOWNLOADING, JobEventKind.OUTPUT_STORED)):  # fmt: skip
            repo.transition(conn, job, HOLDER, to, kind)
        repo.append_event(conn, job, HOLDER, JobEventKind.PROGRESS, {"value": 1, "max": 2})
        output = conn.execute(text("SELECT id FROM files ORDER BY id LIMIT 1")).scalar_one()
        repo.add_output(conn, job, HOLDER, output, "9")
        repo.record_node_timings(conn, job, server, [("3", "KSampler", 1.5)])
        repo.record_cost(conn, job, server, 1.5)
        repo.transition(conn, job, HOLDER, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED)
    assert _status(rights, job) is JobStatus.SUCCEEDED
    assert rights.act("creator", "UPDATE jobs SET job_status_id = 8 WHERE id = %s", job) == ILLEGAL  # ended
    assert rights.act("creator", "UPDATE jobs SET error = 'late' WHERE id = %s", job) == REFUSED


def test_an_admin_may_move_a_held_job_but_only_along_the_state_machine(rights: Rights, made_jobs: MakeJob) -> None:
    job = made_jobs("creator")
    _claim(rights, "creator", job)
    assert rights.act("admin", "UPDATE jobs SET job_status_id = 6 WHERE id = %s", job) == ILLEGAL
    failed = (
        "UPDATE jobs SET job_status_id = 8, error = 'stuck', lease_holder = NULL, lease_expires_at = NULL WHERE id = %s"
    )
    assert rights.act("admin", failed, job) == "ok"
    assert rights.act("carl", failed, job) == REFUSED


def _lapse(x: Rights, job: int) -> None:
    with x.connect(SUPERUSER) as conn:  # time passes: the claiming dispatcher stopped renewing
        conn.execute("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = %s", (job,))


def test_another_login_takes_back_a_lapsed_lease_only_as_reclaim_does(rights: Rights, made_jobs: MakeJob) -> None:
    job, cancelled = made_jobs("admin"), made_jobs("admin")
    for each in (job, cancelled):
        _claim(rights, "creator", each)
    assert (
        rights.act(
            "carl", "UPDATE jobs SET job_status_id = 1, lease_holder = NULL, lease_expires_at = NULL WHERE id = %s", job
        )
        == REFUSED
    )  # fmt: skip  (still live)
    with rights.engine("admin").begin() as conn:
        repo.request_cancel(conn, cancelled)
    for each in (job, cancelled):
        _lapse(rights, each)
    for sql in (
        "UPDATE jobs SET job_status_id = 7, lease_holder = NULL, lease_expires_at = NULL WHERE id = %s",
        "UPDATE jobs SET job_status_id = 8, lease_holder = NULL, lease_expires_at = NULL WHERE id = %s",
        "UPDATE jobs SET job_status_id = 4 WHERE id = %s",
        "UPDATE jobs SET lease_expires_at = now() + interval '1 hour' WHERE id = %s",
    ):
        assert rights.act("carl", sql, job) == REFUSED, sql
    assert (
        rights.act(
            "carl",
            "UPDATE jobs SET job_status_id = 1, lease_holder = NULL, lease_expires_at = NULL WHERE id = %s",
            cancelled,
        )
        == REFUSED
    )  # fmt: skip  (its owner asked to cancel it)
    with rights.engine("carl").begin() as conn:
        taken = repo.reclaim_expired(conn)
    assert sorted(taken) == sorted([job, cancelled])
    assert (_status(rights, job), _status(rights, cancelled)) == (JobStatus.QUEUED, JobStatus.CANCELLED)
    assert rights.one("SELECT lease_login FROM jobs WHERE id = %s", job) == rights.carl_role
    assert rights.one(
        "SELECT array_agg(k.code ORDER BY e.id) FROM job_events e JOIN job_event_kind k ON k.id = e.job_event_kind_id "
        "WHERE e.job_id = %s", job
    )[-2:] == ["lost", "requeued"]  # fmt: skip
    with rights.engine("creator").begin() as conn, pytest.raises(repo.LeaseLost):  # the first dispatcher, too late
        repo.transition(conn, job, HOLDER, JobStatus.UPLOADING, JobEventKind.UPLOADED)


def test_a_lapsed_lease_goes_back_to_the_queue_whatever_the_policy_but_a_lost_job_only_as_it_allows(
    rights: Rights, made_jobs: MakeJob
) -> None:
    """Revision 0015: a stopped dispatcher is not a lost server, so another login takes back its lapsed job as
    queued (the next claimer adopts the prompt) even when the job may not be re-dispatched; a job its server
    had already lost (LOST) is taken back only as its policy says: here, failed."""
    submitted, lost = made_jobs("admin"), made_jobs("admin")
    with rights.connect(SUPERUSER) as conn:
        conn.execute("UPDATE jobs SET redispatch_allowed = false WHERE id = ANY(%s)", ([submitted, lost],))
        conn.commit()
    for each in (submitted, lost):
        _claim(rights, "creator", each)
    with rights.engine("creator").begin() as conn:
        repo.transition(conn, submitted, HOLDER, JobStatus.SUBMITTED, JobEventKind.SUBMITTED)
        repo.transition(conn, lost, HOLDER, JobStatus.LOST, JobEventKind.LOST)
    for each in (submitted, lost):
        _lapse(rights, each)
    back = "UPDATE jobs SET job_status_id = 1, lease_holder = NULL, lease_expires_at = NULL WHERE id = %s"
    failed = "UPDATE jobs SET job_status_id = 8, lease_holder = NULL, lease_expires_at = NULL WHERE id = %s"
    assert (rights.act("carl", back, submitted), rights.act("carl", failed, submitted)) == ("ok", REFUSED)
    assert (rights.act("carl", back, lost), rights.act("carl", failed, lost)) == (REFUSED, "ok")
    with rights.engine("carl").begin() as conn:
        assert sorted(repo.reclaim_expired(conn)) == sorted([submitted, lost])
    assert (_status(rights, submitted), _status(rights, lost)) == (JobStatus.QUEUED, JobStatus.FAILED)


def test_a_succeeded_insert_is_a_cache_hit_record_never_a_cache_source(rights: Rights, made_jobs: MakeJob) -> None:
    key = "d" * 64
    with rights.connect("carl") as conn:  # a job "succeeded" with outputs of its owner's choosing
        row = conn.execute(
            "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id, cache_key) VALUES (gen_random_uuid(), 1, 7, %s) "
            "RETURNING id",
            (key,),
        ).fetchone()
        assert row is not None
        conn.execute("INSERT INTO job_outputs (job_id, file_id, node_id) SELECT %s, id, '9' FROM files LIMIT 1", row)
        conn.execute("INSERT INTO job_events (job_id, job_event_kind_id) VALUES (%s, 10)", row)
        conn.commit()
    try:
        with rights.engine("creator").connect() as conn:
            assert repo.find_cache_hit(conn, key) is None
        ran = made_jobs("admin")  # the same key, really run by the creator's dispatcher
        with rights.connect(SUPERUSER) as conn:
            conn.execute("UPDATE jobs SET cache_key = %s WHERE id = %s", (key, ran))
        _claim(rights, "creator", ran)
        with rights.engine("creator").begin() as conn:
            output = conn.execute(text("SELECT id FROM files ORDER BY id DESC LIMIT 1")).scalar_one()
            repo.add_output(conn, ran, HOLDER, output, "7")
            repo.transition(conn, ran, HOLDER, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED)
        with rights.engine("carl").begin() as conn:  # Carl's identical submission reuses it
            source = repo.find_cache_hit(conn, key)
            assert source is not None
            assert source.id == ran
            hit = repo.record_cache_hit(conn, repo.NewJob(kind=source.kind, inputs={}, cache_key=key), source)
            assert [o.file_id for o in repo.job_outputs(conn, hit.id)] == [output]
            assert [e.kind for e in repo.job_events(conn, hit.id)] == [JobEventKind.CREATED, JobEventKind.SUCCEEDED]
    finally:
        with rights.connect(SUPERUSER) as conn:
            conn.execute("DELETE FROM jobs WHERE cache_key = %s", (key,))


def test_downgrade_gives_creators_plain_rights_again_and_upgrade_takes_them(
    new_database: Callable[[], str],
) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from x121_desktop.db.migrate import alembic_config, upgrade

    def state() -> tuple[bool, bool, bool, bool]:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT has_column_privilege('x121_creator', 'jobs', 'priority', 'UPDATE'), "
                    "has_table_privilege('x121_creator', 'jobs', 'DELETE'), "
                    "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'jobs'::regclass AND attname = 'lease_login' "
                    "        AND NOT attisdropped), "
                    "(SELECT prosrc LIKE '%is not an output of job%' FROM pg_proc "
                    " WHERE proname = 'x121_job_write_refusal')"
                )
            ).one()
        return bool(row[0]), bool(row[1]), bool(row[2]), bool(row[3])

    engine = create_engine(new_database())
    try:
        upgrade(engine)
        assert state() == (False, False, True, True)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0011")
        assert state() == (True, True, False, False)
        assert upgrade(engine).up_to_date
        assert state() == (False, False, True, True)
    finally:
        engine.dispose()


def test_reviewers_cannot_call_the_job_functions_and_nobody_calls_the_internal_ones(
    rights: Rights, made_jobs: MakeJob
) -> None:
    job = made_jobs("creator")
    assert rights.act("reviewer", "SELECT x121_cancel_job(%s)", job) == REFUSED
    assert rights.act("reviewer", "SELECT x121_move_job_to_front(%s)", job) == REFUSED
    for internal in ("SELECT x121_log_job_event(%s, 'log', 1::smallint, 1, NULL, '{}')",
                     "SELECT x121_job_for_owner(%s, 'cancel')"):  # fmt: skip
        assert rights.act("admin", internal, job) == REFUSED, internal
    with rights.connect(SUPERUSER) as conn:
        public = conn.execute(
            "SELECT has_function_privilege('public', 'x121_cancel_job(integer)', 'EXECUTE'), "
            "has_function_privilege('public', 'x121_move_job_to_front(integer)', 'EXECUTE')"
        ).fetchone()
    assert public == (False, False)


def test_a_job_another_login_claims_under_the_same_holder_string_reads_as_lost(
    rights: Rights, made_jobs: MakeJob
) -> None:
    """The holder string is the client's to choose: the first dispatcher's heartbeat and writes must not fail on it."""
    taken, kept = made_jobs("admin"), made_jobs("admin")
    for job in (taken, kept):
        _claim(rights, "creator", job)
    _lapse(rights, taken)
    with rights.engine("carl").begin() as conn:
        assert repo.reclaim_expired(conn) == [taken]
        again = job_dispatch.assign(conn, taken, HOLDER, LEASE, rights.studio.ids["server"], {"server": "gpu-1"})
    assert again is not None  # Carl's claim, under the creator's holder string
    with rights.engine("creator").begin() as conn:
        assert job_runs.renew(conn, HOLDER, [taken, kept], LEASE) == ({kept}, set())
        assert repo.renew_leases(conn, HOLDER, LEASE) == 1
        with pytest.raises(repo.LeaseLost, match=f"signed in as {rights.carl_role}"):
            repo.transition(conn, taken, HOLDER, JobStatus.UPLOADING, JobEventKind.UPLOADED)
    assert rights.one("SELECT lease_login FROM jobs WHERE id = %s", taken) == rights.carl_role
