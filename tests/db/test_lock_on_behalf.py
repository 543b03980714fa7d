"""Revision 0009: a locked segment's take may be written on behalf of the lock holder's finished job.

Real login roles (tests/db/security_studio.py plus a second creator, Carl), psycopg directly.
A segment of the fixture scene is locked by Creator. Creator's finished job renders into one of
its takes, Carl's finished job into another. Another user (the admin, standing in for any
dispatcher's director) may record Creator's job's take, supersede the previous take and move the
segment to it, when the transaction declares `x121.for_job`; nothing else on the segment, and
nothing for Carl's job, whoever asks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import JobKind, JobStatus, SeamGrade, SegmentStatus, TakeReason, TakeStatus
from x121_desktop.db.security import scram_verifier

__all__ = ["secure_studio"]
LOCK_NOT_AVAILABLE = "55P03"
HINT = "Wait for the lock to be released, or ask an admin to break it."
Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Setup:
    studio: SecureStudio
    carl_role: str
    segment: int
    previous: int  # the segment's current take
    holder_take: int
    holder_job: int
    carl_take: int
    carl_job: int
    running_job: int  # Creator's, still running, for a third take
    running_take: int
    other_segment_job: int  # Creator's finished job for a take of the unlocked fixture segment

    def connect(self, who: str) -> Conn:
        if who == "carl":
            return psycopg.connect(**self.studio.server.conninfo(self.studio.dbname, self.carl_role))
        return self.studio.connect(who)


def _id(conn: Conn, sql: str, *params: object) -> int:
    row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def setup(secure_studio: SecureStudio) -> Iterator[Setup]:
    s = secure_studio
    carl_role = f"t_carl_{uuid.uuid4().hex[:8]}"
    with s.connect(SUPERUSER) as su:
        verifier = scram_verifier(su.pgconn, carl_role, f"pw-{carl_role}")
        carl = _id(su, "SELECT x121_create_user(%s, 'creator', %s, 'Carl')", carl_role, verifier)
        creator = s.user_ids["creator"]
        segment = _id(
            su,
            "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) "
            "VALUES (%s, 1, %s, 17) RETURNING id",
            s.ids["scene"],
            SegmentStatus.GENERATING,
        )

        def take(status: TakeStatus) -> int:
            return _id(
                su,
                "INSERT INTO takes (segment_id, take_reason_id, take_status_id, created_by) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                segment,
                TakeReason.REGENERATE,
                status,
                creator,
            )

        def job(owner: int, take_id: int, status: JobStatus) -> int:
            return _id(
                su,
                "INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id, take_id) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                uuid.uuid4(),
                owner,
                JobKind.GENERATE,
                status,
                take_id,
            )

        previous = take(TakeStatus.READY)
        su.execute("UPDATE segments SET current_take_id = %s WHERE id = %s", (previous, segment))
        holder_take, carl_take, running_take = (take(TakeStatus.GENERATING) for _ in range(3))
        holder_job = job(creator, holder_take, JobStatus.SUCCEEDED)
        carl_job = job(carl, carl_take, JobStatus.SUCCEEDED)
        running_job = job(creator, running_take, JobStatus.RUNNING)
        other_segment_job = job(creator, s.ids["spare_take"], JobStatus.SUCCEEDED)
        su.execute(
            "INSERT INTO segment_locks (segment_id, holder_id, machine, expires_at) "
            "VALUES (%s, %s, 'ws-7', now() + interval '1 hour')",
            (segment, creator),
        )
    try:
        yield Setup(s, carl_role, segment, previous, holder_take, holder_job, carl_take, carl_job, running_job,
                    running_take, other_segment_job)  # fmt: skip
    finally:
        with psycopg.connect(**s.server.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{s.dbname}" WITH (FORCE)')  # type: ignore[arg-type]
            conn.execute(f'DROP ROLE IF EXISTS "{carl_role}"')  # type: ignore[arg-type]


def _record(conn: Conn, take: int, job: int, previous: int | None, segment: int) -> None:
    """What a director does when a job finished: the take, the old take superseded, the segment moved."""
    conn.execute(
        "UPDATE takes SET take_status_id = %s, file_id = NULL, job_id = %s, frame_count = 17, cut_frame = 16 "
        "WHERE id = %s",
        (TakeStatus.READY, job, take),
    )
    if previous is not None:
        conn.execute("UPDATE takes SET take_status_id = %s WHERE id = %s", (TakeStatus.SUPERSEDED, previous))
    conn.execute(
        "UPDATE segments SET current_take_id = %s, segment_status_id = %s, updated_at = now() WHERE id = %s",
        (take, SegmentStatus.GENERATED, segment),
    )


def _attempt(x: Setup, who: str, job: int | None, sql: str, params: tuple[object, ...]) -> psycopg.Error | int:
    conn = x.connect(who)
    try:
        if job is not None:
            conn.execute("SELECT set_config('x121.for_job', %s, true)", (str(job),))
        return conn.execute(sql, params).rowcount  # type: ignore[arg-type]
    except psycopg.Error as exc:
        return exc
    finally:
        conn.rollback()
        conn.close()


def test_another_users_director_records_the_holders_finished_job(setup: Setup) -> None:
    x = setup
    conn = x.connect("admin")
    try:
        conn.execute("SELECT set_config('x121.for_job', %s, true)", (str(x.holder_job),))
        _record(conn, x.holder_take, x.holder_job, x.previous, x.segment)
        row = conn.execute(
            "SELECT s.current_take_id, s.segment_status_id, t.take_status_id, t.job_id, p.take_status_id "
            "FROM segments s JOIN takes t ON t.id = s.current_take_id JOIN takes p ON p.id = %s WHERE s.id = %s",
            (x.previous, x.segment),
        ).fetchone()
        assert row == (x.holder_take, SegmentStatus.GENERATED, TakeStatus.READY, x.holder_job, TakeStatus.SUPERSEDED)
    finally:
        conn.rollback()
        conn.close()


def test_a_third_users_job_for_a_segment_locked_by_someone_else_is_refused(setup: Setup) -> None:
    x = setup
    for who in ("carl", "admin"):  # Carl's own dispatcher, or anyone writing for Carl's job
        conn = x.connect(who)
        try:
            conn.execute("SELECT set_config('x121.for_job', %s, true)", (str(x.carl_job),))
            with pytest.raises(psycopg.Error) as refused:
                _record(conn, x.carl_take, x.carl_job, None, x.segment)
        finally:
            conn.rollback()
            conn.close()
        error = refused.value
        assert error.sqlstate == LOCK_NOT_AVAILABLE
        assert error.diag.message_primary == (
            f"segment {x.segment} is locked by Creator ({x.studio.roles['creator']}) on ws-7 until "
            f"{_until(x)}, and job {x.carl_job} was submitted by Carl ({x.carl_role}), not by the lock holder, "
            "so its take cannot be written"
        )
        assert error.diag.message_hint == HINT


def _until(x: Setup) -> str:
    with x.connect(SUPERUSER) as su:
        row = su.execute(
            "SELECT to_char(expires_at, 'YYYY-MM-DD HH24:MI:SS TZ') FROM segment_locks WHERE segment_id = %s",
            (x.segment,),
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_without_declaring_the_job_the_holders_take_stays_the_holders(setup: Setup) -> None:
    x = setup
    outcome = _attempt(x, "admin", None, "UPDATE takes SET take_status_id = %s, job_id = %s WHERE id = %s",
                       (TakeStatus.READY, x.holder_job, x.holder_take))  # fmt: skip
    assert isinstance(outcome, psycopg.Error)
    assert outcome.sqlstate == LOCK_NOT_AVAILABLE
    assert "is locked by Creator" in str(outcome)
    assert ", and job" not in str(outcome)


@pytest.mark.parametrize(
    ("what", "job", "sql", "reason"),
    [
        ("a new take", "holder", "INSERT INTO takes (segment_id, take_reason_id, take_status_id) "
         "VALUES ({segment}, 2, 1)", "may only record its finished take (not INSERT takes)"),
        ("the prompt", "holder", "UPDATE segments SET prompt = 'mine' WHERE id = {segment}",
         "may only record its finished take (not UPDATE segments)"),
        ("another take's seed", "holder", "UPDATE takes SET seed = 9 WHERE id = {previous}",
         "may only record its finished take (not UPDATE takes)"),
        ("the job's take moved away", "holder", "UPDATE takes SET seed = 9, job_id = {holder_job} "
         "WHERE id = {holder_take}", "may only record its finished take (not UPDATE takes)"),
        ("the segment to a take not the job's", "holder",
         "UPDATE segments SET current_take_id = {carl_take} WHERE id = {segment}",
         "may only record its finished take (not UPDATE segments)"),
        ("a take deleted", "holder", "DELETE FROM takes WHERE id = {previous}",
         "may only record its finished take (not DELETE takes)"),
        ("a seam", "holder", "INSERT INTO seams (scene_id, left_take_id, right_take_id, seam_grade_id, score) "
         f"VALUES ({{scene}}, {{previous}}, {{holder_take}}, {int(SeamGrade.GREEN)}, 0.5)",
         "may only record its finished take (not INSERT seams)"),
        ("a job still running", "running", "UPDATE takes SET take_status_id = 3, job_id = {running_job} "
         "WHERE id = {running_take}", "has not finished (it is running)"),
        ("a job of another segment", "other", "UPDATE takes SET take_status_id = 3, job_id = {other_job} "
         "WHERE id = {holder_take}", "does not render into segment {segment}"),
    ],
)  # fmt: skip
def test_writing_for_the_holders_job_records_only_its_outcome(
    setup: Setup, what: str, job: str, sql: str, reason: str
) -> None:
    x = setup
    jobs = {"holder": x.holder_job, "running": x.running_job, "other": x.other_segment_job}
    names = {
        "segment": x.segment, "previous": x.previous, "holder_take": x.holder_take, "holder_job": x.holder_job,
        "carl_take": x.carl_take, "running_job": x.running_job, "running_take": x.running_take,
        "other_job": x.other_segment_job, "scene": x.studio.ids["scene"], "spare": x.studio.ids["spare_take"],
    }  # fmt: skip
    outcome = _attempt(x, "admin", jobs[job], sql.format(**names), ())
    assert isinstance(outcome, psycopg.Error), f"{what} was allowed"
    assert outcome.sqlstate == LOCK_NOT_AVAILABLE
    assert f"job {jobs[job]} {reason.format(**names)}" in str(outcome)


def test_a_declared_job_id_must_be_a_number(setup: Setup) -> None:
    x = setup
    conn = x.connect("admin")
    try:
        conn.execute("SELECT set_config('x121.for_job', 'all of them', true)")
        with pytest.raises(psycopg.Error) as bad:
            conn.execute("UPDATE segments SET prompt = 'x' WHERE id = %s", (x.segment,))
    finally:
        conn.rollback()
        conn.close()
    assert bad.value.sqlstate == "22023"


def test_the_holder_and_unlocked_segments_are_unaffected(setup: Setup) -> None:
    x = setup
    assert _attempt(x, "creator", x.carl_job, "UPDATE segments SET prompt = 'holder' WHERE id = %s", (x.segment,)) == 1
    spare = x.studio.ids["spare_take"]
    with x.connect(SUPERUSER) as su:  # the fixture segment's lock lapses: anyone may write it again
        su.execute("UPDATE segment_locks SET expires_at = now() - interval '1 s', acquired_at = now() - interval "
                   "'1 hour' WHERE segment_id = %s", (x.studio.ids["segment"],))  # fmt: skip
        su.commit()
        assert _attempt(x, "carl", x.carl_job, "UPDATE takes SET seed = 5 WHERE id = %s", (spare,)) == 1
        su.execute("UPDATE segment_locks SET expires_at = now() + interval '1 hour' WHERE segment_id = %s",
                   (x.studio.ids["segment"],))  # fmt: skip


def test_downgrade_restores_the_0006_guard_and_upgrade_the_job_rule(new_database: Callable[[], str]) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from x121_desktop.db.migrate import alembic_config, upgrade

    def state() -> tuple[bool, int]:
        with engine.connect() as conn:
            body = conn.exec_driver_sql("SELECT prosrc FROM pg_proc WHERE proname = 'x121_guard_segment_lock'")
            refined = conn.exec_driver_sql("SELECT count(*) FROM seed_origin WHERE code = 'refined'").scalar_one()
            return "x121.for_job" in body.scalar_one(), int(refined)

    engine = create_engine(new_database())
    try:
        upgrade(engine)
        assert state() == (True, 1)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0008")
        assert state() == (False, 0)
        assert upgrade(engine).up_to_date
        assert state() == (True, 1)
    finally:
        engine.dispose()
