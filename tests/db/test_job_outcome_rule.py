"""Revision 0012 on revision 0009's rule: writing a locked segment's take for the holder's job records only
what the job really produced.

0009 lets another user's director record the lock holder's finished job on the holder's locked
segment (`x121.for_job`). It trusted `jobs.status`, `take_id` and `owner_id`, which any creator
could rewrite; now the database keeps those as the queue made them (tests/db/test_job_rights.py),
and the rule also checks the outcome: the take's file must be one of the job's outputs (written
only by the login that ran it), and only a job that succeeded makes its take ready and current.
Real logins: Creator holds the lock and owns the jobs; the admin stands in for another user's
director; Carl is a creator who would like to help the outcome along.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
import pytest

from tests.db.job_rights_studio import ILLEGAL, REFUSED, Rights, rights
from tests.db.security_studio import SUPERUSER, secure_studio
from x121_desktop.core.enums import FileKind, JobKind, JobStatus, RetentionClass, SegmentStatus, TakeReason, TakeStatus

__all__ = ["rights", "secure_studio"]
LOCKED = "55P03"


@dataclass(frozen=True)
class Outcome:
    segment: int
    previous: int  # the segment's current take
    done_take: int
    done_job: int  # succeeded, with one output
    output: int  # its output file
    stranger: int  # a file that is no output of it
    failed_take: int
    failed_job: int


@pytest.fixture(scope="module")
def outcome(rights: Rights) -> Outcome:
    creator = rights.user_id("creator")
    with rights.connect(SUPERUSER) as su:

        def one(sql: str, *params: object) -> int:
            row = su.execute(sql, params).fetchone()  # type: ignore[arg-type]
            assert row is not None
            return int(row[0])

        def file(name: str) -> int:
            return one(
                "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by) "
                "VALUES (encode(sha256(%s::bytea), 'hex'), %s, 2048, %s, %s, %s) RETURNING id",
                name.encode(), f"media/{name}", FileKind.VIDEO, RetentionClass.WORKING, creator,
            )  # fmt: skip

        segment = one(
            "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) "
            "VALUES (%s, 7, %s, 17) RETURNING id",
            rights.studio.ids["scene"], SegmentStatus.GENERATING,
        )  # fmt: skip

        def take(status: TakeStatus) -> int:
            return one(
                "INSERT INTO takes (segment_id, take_reason_id, take_status_id, created_by) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                segment, TakeReason.REGENERATE, status, creator,
            )  # fmt: skip

        def job(take_id: int, status: JobStatus) -> int:
            return one(
                "INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id, take_id) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                uuid.uuid4(), creator, JobKind.GENERATE, status, take_id,
            )  # fmt: skip

        previous = take(TakeStatus.READY)
        su.execute("UPDATE segments SET current_take_id = %s WHERE id = %s", (previous, segment))
        done_take, failed_take = take(TakeStatus.GENERATING), take(TakeStatus.GENERATING)
        done_job, failed_job = job(done_take, JobStatus.SUCCEEDED), job(failed_take, JobStatus.FAILED)
        output, stranger = file(f"out-{uuid.uuid4().hex}.mp4"), file(f"other-{uuid.uuid4().hex}.mp4")
        su.execute("INSERT INTO job_outputs (job_id, file_id, node_id) VALUES (%s, %s, '9')", (done_job, output))
        su.execute(
            "INSERT INTO segment_locks (segment_id, holder_id, machine, expires_at) "
            "VALUES (%s, %s, 'ws-7', now() + interval '1 hour')",
            (segment, creator),
        )
    return Outcome(segment, previous, done_take, done_job, output, stranger, failed_take, failed_job)


def _for_job(x: Rights, job: int, *statements: tuple[str, tuple[object, ...]]) -> str:
    """As the admin's director, declaring `job`: 'ok' or 'SQLSTATE: message' of the first refusal (rolled back)."""
    with x.connect("admin") as conn:
        try:
            conn.execute("SELECT set_config('x121.for_job', %s, true)", (str(job),))
            for sql, params in statements:
                conn.execute(sql, params)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            return f"{exc.sqlstate}: {exc.diag.message_primary}"
        finally:
            conn.rollback()
    return "ok"


def _take(status: TakeStatus, file: int | None, job: int, take: int) -> tuple[str, tuple[object, ...]]:
    return (
        "UPDATE takes SET take_status_id = %s, file_id = %s, job_id = %s, frame_count = 17 WHERE id = %s",
        (status, file, job, take),
    )


def test_the_holders_succeeded_job_is_recorded_with_its_own_output(rights: Rights, outcome: Outcome) -> None:
    o = outcome
    assert _for_job(
        rights, o.done_job,
        _take(TakeStatus.READY, o.output, o.done_job, o.done_take),
        ("UPDATE takes SET take_status_id = %s WHERE id = %s", (TakeStatus.SUPERSEDED, o.previous)),
        ("UPDATE segments SET current_take_id = %s, segment_status_id = %s WHERE id = %s",
         (o.done_take, SegmentStatus.GENERATED, o.segment)),
    ) == "ok"  # fmt: skip


def test_a_file_that_is_not_the_jobs_output_is_refused(rights: Rights, outcome: Outcome) -> None:
    o = outcome
    refusal = _for_job(rights, o.done_job, _take(TakeStatus.READY, o.stranger, o.done_job, o.done_take))
    assert refusal.startswith(f"{LOCKED}: segment {o.segment} is locked by Creator")
    assert refusal.endswith(f"and file {o.stranger} is not an output of job {o.done_job}")


def test_a_failed_job_only_fails_its_take(rights: Rights, outcome: Outcome) -> None:
    o = outcome
    assert _for_job(rights, o.failed_job, _take(TakeStatus.FAILED, None, o.failed_job, o.failed_take)) == "ok"
    ready = _for_job(rights, o.failed_job, _take(TakeStatus.READY, None, o.failed_job, o.failed_take))
    assert ready.endswith(f"job {o.failed_job} failed, so its take can only be marked failed or cancelled")
    current = _for_job(
        rights, o.failed_job,
        ("UPDATE segments SET current_take_id = %s WHERE id = %s", (o.failed_take, o.segment)),
    )  # fmt: skip
    assert current.endswith(f"job {o.failed_job} did not succeed, so its take cannot become the current take")
    supersede = _for_job(
        rights,
        o.failed_job,
        ("UPDATE takes SET take_status_id = %s WHERE id = %s", (TakeStatus.SUPERSEDED, o.previous)),
    )
    assert supersede.endswith(f"job {o.failed_job} did not succeed, so it cannot supersede take {o.previous}")


def test_what_the_rule_trusts_cannot_be_forged_by_another_creator(rights: Rights, outcome: Outcome) -> None:
    o = outcome
    assert rights.act("carl", "UPDATE jobs SET job_status_id = 7 WHERE id = %s", o.failed_job) == ILLEGAL
    assert rights.act("carl", "UPDATE jobs SET take_id = %s WHERE id = %s", o.done_take, o.failed_job) == REFUSED
    assert rights.act("carl", "INSERT INTO job_outputs (job_id, file_id, node_id) VALUES (%s, %s, '9')",
                      o.done_job, o.stranger) == REFUSED  # fmt: skip
    forged = (
        "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id, take_id, owner_id) "
        "VALUES (gen_random_uuid(), 1, 7, %s, %s)"
    )
    assert rights.act("carl", forged, o.done_take, rights.user_id("creator")) == REFUSED  # as the holder's, succeeded
