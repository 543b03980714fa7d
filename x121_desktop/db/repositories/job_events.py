"""The job event log, the NOTIFY announcement of every change, and owner notifications. Never commits.

Every state change appends one `job_events` row and sends `pg_notify('x121_jobs', …)` in the
caller's transaction, so listeners hear about it exactly when (and only if) it commits. The
payload is JSON `{"job_id", "status", "owner_id", "event", "event_id"}` (codes of the lookup
rows); `db.notify.JobListener` parses it.

`notify_owner` tells a job's owner about an outcome through the studio feed: one
`activity_events` row (actor: the signed-in user, e.g. the dispatcher's login) and one
`notifications` row for the owner. Two statements on purpose: the notifications insert policy
looks the event up, and a row inserted by the same statement would not be visible to it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import ActivityKind, JobEventKind, JobStatus, NotificationKind
from x121_desktop.core.ids import JobId
from x121_desktop.db.repositories.job_records import CHANNEL, JobEventRow, JobNotFound

NOTICE_SQL = (
    "pg_notify('" + CHANNEL + "', json_build_object('job_id', {job}, 'status', {status}, "
    "'owner_id', {owner}, 'event', {event}, 'event_id', {event_id})::text)"
)
"""The NOTIFY expression; format it with SQL expressions for the five fields."""

_LOG = text(
    "WITH ev AS (INSERT INTO job_events (job_id, job_event_kind_id, attempt_no, data) "
    "VALUES (:job_id, :kind, :attempt_no, CAST(:data AS jsonb)) RETURNING id) "
    "SELECT ev.id, "
    + NOTICE_SQL.format(
        job="CAST(:job_id AS integer)",
        status="CAST(:status AS text)",
        owner="CAST(:owner_id AS integer)",
        event="CAST(:event AS text)",
        event_id="ev.id",
    )
    + " FROM ev"
)


def to_json(data: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(data or {}), separators=(",", ":"), default=str)


def log_event(
    conn: Connection,
    job_id: int,
    kind: JobEventKind,
    *,
    status: JobStatus,
    owner_id: int,
    attempt_no: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> int:
    """Append one event and announce it (with the job's status after the change); returns the event id."""
    row = conn.execute(
        _LOG,
        {
            "job_id": job_id,
            "kind": int(kind),
            "attempt_no": attempt_no,
            "data": to_json(data),
            "status": status.code,
            "owner_id": owner_id,
            "event": kind.code,
        },
    ).one()
    return int(row[0])


def job_events(conn: Connection, job_id: int, *, after_id: int | None = None) -> list[JobEventRow]:
    """The job's events in the order they happened (only those after `after_id`, to follow a log)."""
    rows = conn.execute(
        text(
            "SELECT id, job_id, job_event_kind_id, attempt_no, at, data FROM job_events "
            "WHERE job_id = :job_id AND id > :after ORDER BY id"
        ),
        {"job_id": job_id, "after": after_id or 0},
    ).all()
    return [JobEventRow(int(r[0]), JobId(r[1]), JobEventKind(r[2]), r[3], r[4], r[5]) for r in rows]


_OWNER_KINDS: Mapping[JobStatus, tuple[ActivityKind, NotificationKind]] = {
    JobStatus.SUCCEEDED: (ActivityKind.JOB_SUCCEEDED, NotificationKind.JOB_FINISHED),
    JobStatus.FAILED: (ActivityKind.JOB_FAILED, NotificationKind.JOB_FAILED),
    JobStatus.CANCELLED: (ActivityKind.JOB_FAILED, NotificationKind.JOB_FINISHED),
    JobStatus.LOST: (ActivityKind.JOB_FAILED, NotificationKind.JOB_FAILED),
    JobStatus.QUEUED: (ActivityKind.JOB_QUEUED, NotificationKind.SYSTEM),
}
"""Outcome → (feed kind, notification kind). QUEUED here means 'queued again after a loss'."""


def notify_owner(
    conn: Connection,
    job_id: int,
    status: JobStatus,
    message: str,
    data: Mapping[str, Any] | None = None,
) -> int:
    """Tell the job's owner what happened to it (feed event + notification); returns the activity event id.

    `status` is the outcome being reported (SUCCEEDED, FAILED, CANCELLED, LOST, or QUEUED for
    "queued again after a loss"); `message` is the sentence the owner reads, e.g. the failing
    node and exception. The feed event's `data` holds `job_id`, `status`, `message` and `data`.
    """
    activity, notification = _OWNER_KINDS.get(status, (ActivityKind.JOB_FAILED, NotificationKind.SYSTEM))
    job = conn.execute(
        text("SELECT owner_id, project_id, take_id FROM jobs WHERE id = :id"), {"id": job_id}
    ).one_or_none()
    if job is None:
        raise JobNotFound(job_id)
    owner_id, project_id, take_id = job
    payload = {"job_id": job_id, "status": status.code, "message": message, **dict(data or {})}
    event_id = conn.execute(
        text(
            "INSERT INTO activity_events (project_id, activity_kind_id, data, take_id, job_id) "
            "VALUES (:project_id, :kind, CAST(:data AS jsonb), :take_id, :job_id) RETURNING id"
        ),
        {
            "project_id": project_id,
            "kind": int(activity),
            "data": to_json(payload),
            "take_id": take_id,
            "job_id": job_id,
        },
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO notifications (user_id, notification_kind_id, activity_event_id) "
            "VALUES (:user_id, :kind, :event_id)"
        ),
        {"user_id": owner_id, "kind": int(notification), "event_id": event_id},
    )
    return int(event_id)
