"""The job queue repository: plain functions over a SQLAlchemy Connection. Never commits.

This module is the one to import: it holds enqueueing, reads, the warm-start cache and
cancellation, and re-exports the lease functions (`job_leases`), the event log and owner
notifications (`job_events`) and the records (`job_records`). Every write that changes a job's
state appends a `job_events` row and NOTIFYs channel `x121_jobs` in the caller's transaction.

    enqueue(conn, NewJob) -> JobRow                      QUEUED, event CREATED
    claim(conn, holder, lease, limit=1, kinds=None)      fair share, FOR UPDATE SKIP LOCKED
    renew_leases(conn, holder, lease) -> int             heartbeat
    release(conn, job_id, holder)                        back to QUEUED, not an attempt
    transition(conn, job_id, holder, to, event, data, error=None)   holder only, state machine checked
    record_attempt / append_event / add_output / record_node_timings / record_cost   (job_runs)
    claim_placed(conn, holder, lease, servers, capacity, plan)   claim for a server (job_dispatch)
    reclaim_expired(conn) -> list[JobId]                 exactly once, owner notified
    request_cancel(conn, job_id) -> CancelOutcome        x121_cancel_job: the owner or an admin
    hold(conn, job_id) / release(conn, job_id)           x121_hold_job / x121_release_job (revision 0013)
    find_cache_hit(conn, cache_key) / record_cache_hit(conn, NewJob, source)
    get_job / list_jobs / job_events / job_outputs / notify_owner

PostgreSQL holds every caller to the queue's rules (revision 0012, docs/SECURITY.md "Jobs"): a held
job changes only by the login that claimed it (`jobs.lease_login`) or an admin, a job's owner,
priority and inputs never change after insert, and cancelling or reordering goes through the
SECURITY DEFINER functions `x121_cancel_job` / `x121_move_job_to_front` (`call_guarded` turns their
refusals into X121Errors). Revision 0013 adds the status HELD (on hold: never claimed, released back
to its old place in the queue) through `x121_hold_job` / `x121_release_job`; a job submitted while
its owner's queue is paused is held at insert by the database (`enqueue` returns it HELD), and the
paused queues themselves are `job_pauses`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import InvalidInput, PermissionDenied, X121Error
from x121_desktop.core.ids import FileId
from x121_desktop.db.repositories.job_dispatch import PlacedClaim, claim_placed
from x121_desktop.db.repositories.job_events import NOTICE_SQL, job_events, log_event, notify_owner, to_json
from x121_desktop.db.repositories.job_leases import (
    add_output,
    append_event,
    claim,
    held_jobs,
    reclaim_expired,
    record_attempt,
    release,
    renew_leases,
    transition,
)
from x121_desktop.db.repositories.job_order import JobPlan
from x121_desktop.db.repositories.job_records import (
    CHANNEL,
    CancelOutcome,
    ClaimedJob,
    JobEventRow,
    JobFilter,
    JobNotFound,
    JobOutputRow,
    JobRow,
    LeaseLost,
    NewJob,
    ReclaimedJob,
    job_columns,
    job_from_row,
)
from x121_desktop.db.repositories.job_runs import record_cost, record_node_timings

__all__ = [
    "CHANNEL",
    "CancelOutcome",
    "ClaimedJob",
    "HoldOutcome",
    "JobEventRow",
    "JobFilter",
    "JobNotFound",
    "JobOutputRow",
    "JobPlan",
    "JobRow",
    "LeaseLost",
    "NewJob",
    "PlacedClaim",
    "ReclaimedJob",
    "ReleaseOutcome",
    "add_output",
    "append_event",
    "call_guarded",
    "claim",
    "claim_placed",
    "enqueue",
    "find_cache_hit",
    "get_job",
    "held_jobs",
    "hold",
    "job_events",
    "job_outputs",
    "list_jobs",
    "notify_owner",
    "reclaim_expired",
    "record_attempt",
    "record_cache_hit",
    "record_cost",
    "record_node_timings",
    "release",
    "release_hold",
    "renew_leases",
    "request_cancel",
    "transition",
]

_INSERT_COLUMNS = (
    "prompt_id, owner_id, project_id, workflow_version_id, job_kind_id, job_status_id, priority, inputs, "
    "cache_key, redispatch_allowed, take_id, max_attempts, work_estimate"
)
_INSERT_VALUES = (
    ":prompt_id, COALESCE(CAST(:owner_id AS integer), x121_current_user_id()), :project_id, "
    ":workflow_version_id, :kind, :status, :priority, CAST(:inputs AS jsonb), :cache_key, "
    ":redispatch_allowed, :take_id, :max_attempts, :work_estimate"
)
_ENQUEUE = text(
    f"WITH j AS (INSERT INTO jobs ({_INSERT_COLUMNS}) VALUES ({_INSERT_VALUES}) RETURNING {job_columns()}), "
    "ev AS (INSERT INTO job_events (job_id, job_event_kind_id, data) "
    "SELECT id, :event, '{}'::jsonb FROM j RETURNING id) "
    f"SELECT {job_columns('j')}, "
    + NOTICE_SQL.format(
        job="j.id",
        status="(SELECT s.code FROM job_status s WHERE s.id = j.job_status_id)",  # held when the queue is paused
        owner="j.owner_id",
        event="'created'",
        event_id="ev.id",
    )
    + " FROM j, ev"
)


def _new_job_params(job: NewJob, status: JobStatus) -> dict[str, object]:
    return {
        "prompt_id": job.prompt_id,
        "owner_id": job.owner_id,
        "project_id": job.project_id,
        "workflow_version_id": job.workflow_version_id,
        "kind": int(job.kind),
        "status": int(status),
        "priority": job.priority,
        "inputs": to_json(job.inputs),
        "cache_key": job.cache_key,
        "redispatch_allowed": job.redispatch_allowed,
        "take_id": job.take_id,
        "max_attempts": job.max_attempts,
        "work_estimate": job.work_estimate,
    }


def enqueue(conn: Connection, job: NewJob) -> JobRow:
    """Queue a job (owner: the signed-in user unless given); logs CREATED and wakes dispatchers (NOTIFY).

    While its owner's queue is paused the database holds it at insert (status HELD, a `held` event
    with `queue_paused` and `at_submission`, revision 0013): the row returned says so.
    """
    params = _new_job_params(job, JobStatus.QUEUED) | {"event": int(JobEventKind.CREATED)}
    return job_from_row(conn.execute(_ENQUEUE, params).one())


def get_job(conn: Connection, job_id: int) -> JobRow:
    row = conn.execute(text(f"SELECT {job_columns()} FROM jobs WHERE id = :id"), {"id": job_id}).one_or_none()
    if row is None:
        raise JobNotFound(job_id)
    return job_from_row(row)


def list_jobs(conn: Connection, filters: JobFilter | None = None) -> list[JobRow]:
    """Jobs matching every given filter, newest first (page with `before_id`)."""
    f = filters or JobFilter()
    where: list[str] = []
    params: dict[str, object] = {"limit": max(1, f.limit)}
    if f.owner_id is not None:
        where.append("owner_id = :owner_id")
        params["owner_id"] = f.owner_id
    if f.statuses:
        where.append("job_status_id = ANY(:statuses)")
        params["statuses"] = [int(s) for s in f.statuses]
    if f.kinds:
        where.append("job_kind_id = ANY(:kinds)")
        params["kinds"] = [int(k) for k in f.kinds]
    if f.project_id is not None:
        where.append("project_id = :project_id")
        params["project_id"] = f.project_id
    if f.before_id is not None:
        where.append("id < :before_id")
        params["before_id"] = f.before_id
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = conn.execute(text(f"SELECT {job_columns()} FROM jobs {clause}ORDER BY id DESC LIMIT :limit"), params).all()
    return [job_from_row(r) for r in rows]


def job_outputs(conn: Connection, job_id: int) -> list[JobOutputRow]:
    rows = conn.execute(
        text("SELECT file_id, node_id FROM job_outputs WHERE job_id = :id ORDER BY node_id, file_id"), {"id": job_id}
    ).all()
    return [JobOutputRow(FileId(r[0]), str(r[1])) for r in rows]


def find_cache_hit(conn: Connection, cache_key: str) -> JobRow | None:
    """The latest SUCCEEDED job with this warm-start key that has outputs and was run by a dispatcher, if any.

    Only a job that was claimed (`attempts > 0`) is a source: its outputs were written by the login
    that ran it. A cache-hit record (attempts 0) reuses such a job's outputs and is never a source
    itself, so a job inserted as succeeded with outputs of its owner's choosing poisons no cache.
    """
    row = conn.execute(
        text(
            f"SELECT {job_columns('j')} FROM jobs j WHERE j.cache_key = :key AND j.job_status_id = :succeeded "
            "AND j.attempts > 0 AND EXISTS (SELECT 1 FROM job_outputs o WHERE o.job_id = j.id) "
            "ORDER BY j.finished_at DESC NULLS LAST, j.id DESC LIMIT 1"
        ),
        {"key": cache_key, "succeeded": int(JobStatus.SUCCEEDED)},
    ).one_or_none()
    return None if row is None else job_from_row(row)


def record_cache_hit(conn: Connection, job: NewJob, source: JobRow) -> JobRow:
    """Record `job` as already done by reusing `source`'s outputs: no GPU time, no queueing.

    The new job is created SUCCEEDED (attempts 0) with the same output files linked, and logs
    CREATED then SUCCEEDED with `{"cache_hit": true, "source_job_id": …}` (JobEventKind has no
    separate cache-hit member; the data says it).
    """
    row = conn.execute(
        text(
            f"INSERT INTO jobs ({_INSERT_COLUMNS}, started_at, finished_at) "
            f"VALUES ({_INSERT_VALUES}, now(), now()) RETURNING {job_columns()}"
        ),
        _new_job_params(job, JobStatus.SUCCEEDED),
    ).one()
    created = job_from_row(row)
    conn.execute(
        text(
            "INSERT INTO job_outputs (job_id, file_id, node_id) "
            "SELECT :new, file_id, node_id FROM job_outputs WHERE job_id = :source"
        ),
        {"new": created.id, "source": source.id},
    )
    log_event(conn, created.id, JobEventKind.CREATED, status=JobStatus.SUCCEEDED, owner_id=created.owner_id)
    log_event(
        conn,
        created.id,
        JobEventKind.SUCCEEDED,
        status=JobStatus.SUCCEEDED,
        owner_id=created.owner_id,
        data={"cache_hit": True, "source_job_id": source.id, "cache_key": source.cache_key},
    )
    return created


_OUTCOMES = {o.value: o for o in CancelOutcome}
_REFUSALS: Mapping[str, type[X121Error]] = {"42501": PermissionDenied, "22023": InvalidInput}


def call_guarded(conn: Connection, sql: str, params: Mapping[str, object], job_id: int | None) -> Any:
    """The value one of the guarded job functions returns; its refusals become X121Errors with the database's
    sentence and hint (42501 PermissionDenied, 22023 InvalidInput, no such job JobNotFound).
    `job_id` None: a function about no one job (a paused queue)."""
    try:
        return conn.execute(text(sql), params).scalar_one()
    except DBAPIError as exc:
        orig = exc.orig
        state = orig.sqlstate if isinstance(orig, psycopg.Error) else None
        if state == "P0002" and job_id is not None:
            raise JobNotFound(job_id) from exc
        kind = _REFUSALS.get(state or "")
        if kind is None or not isinstance(orig, psycopg.Error):
            raise
        problem = orig.diag.message_primary or str(orig)
        raise kind(problem[:1].upper() + problem[1:], (orig.diag.message_hint or "").rstrip(".")) from exc


def request_cancel(conn: Connection, job_id: int, by_user: int | None = None) -> CancelOutcome:
    """Cancel one job through `x121_cancel_job`: a queued job ends now; a held one gets `cancel_requested`
    for its lease holder to act on (an interrupt, then CANCELLED), or for `reclaim_expired` should its
    dispatcher be gone. Only this job's row is touched. The database lets only the job's owner or an
    admin do it (PermissionDenied otherwise) and records the signed-in user as `by_user` in the event;
    the `by_user` argument is not used (kept for existing callers).
    """
    del by_user  # the database knows who is calling
    found = call_guarded(conn, "SELECT x121_cancel_job(:id)", {"id": job_id}, job_id)
    return _OUTCOMES[str(found)]


class HoldOutcome(Enum):
    HELD = "held"
    """It was queued and is now on hold."""
    ALREADY_HELD = "already_held"
    """It was on hold already; nothing changed."""


class ReleaseOutcome(Enum):
    RELEASED = "released"
    """It was on hold and is queued again, in the place it had."""
    NOT_HELD = "not_held"
    """It was queued (not on hold); nothing changed."""


def hold(conn: Connection, job_id: int) -> HoldOutcome:
    """Put a queued job on hold through `x121_hold_job`: no dispatcher claims it until it is released.

    Only its owner or an admin (PermissionDenied otherwise), only a queued job (InvalidInput naming its
    state otherwise); logs a `held` event with `by_user` and NOTIFYs like every job change.
    """
    return HoldOutcome(str(call_guarded(conn, "SELECT x121_hold_job(:id)", {"id": job_id}, job_id)))


def release_hold(conn: Connection, job_id: int) -> ReleaseOutcome:
    """Release a job on hold through `x121_release_job`: QUEUED again with its id, `created_at`, estimate and
    priority unchanged, so its batch position and fair-share turn are what they were (`release` is the
    dispatcher's hand-back of a claim, a different thing). Owner or admin; a held job only."""
    return ReleaseOutcome(str(call_guarded(conn, "SELECT x121_release_job(:id)", {"id": job_id}, job_id)))
