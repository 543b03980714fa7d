"""The job board's writes: an explicit retry and move-to-front, each inside the caller's transaction.

`retry_job`: a FAILED or CANCELLED job is repeated as a NEW job with the same kind, workflow
version, inputs (the same stored files, the same seed), priority and policy; both jobs log a LOG
event naming the other (`retry_of` / `retried_as`), so the link is in the log, never silent. Only
admins submit above priority 0 (the database refuses it otherwise), so a creator's retry of a job an
admin had raised is queued at priority 0.

`move_to_front`: the database function `x121_move_job_to_front` (revision 0012; creators cannot
write `priority` themselves). A QUEUED job goes first among its owner's queued jobs without passing
anyone else's: it takes the owner's highest queued priority band, and the owner's jobs of that band
that the claim would take before it (batch order: `created_at`, then the largest `work_estimate`,
then id; docs/QUEUE.md) step down one band. When it comes up from a lower band, one job of that top
band takes its old place instead (the last of those before it, or the band's last job), so the
owner holds no more jobs in any band than before. An admin moves it to the front of the whole queue
(one band above every other queued job).

Only the job's owner or an admin may do either (`PermissionDenied` with the sentence otherwise;
the database checks it again).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.core.ids import UserId
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.db.repositories.job_events import log_event

RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: the signed-in studio user and whether the database counts them as admin."""

    user_id: UserId
    admin: bool
    may_submit: bool


def whoami(conn: Connection) -> Viewer:
    row = conn.execute(
        text(
            "SELECT x121_current_user_id(), x121_is_admin(), has_table_privilege(current_user, 'public.jobs', 'INSERT')"
        )
    ).one()
    if row[0] is None:
        raise PermissionDenied("This database login is not a studio user", "Ask an admin to add you (x121 user add)")
    return Viewer(UserId(row[0]), bool(row[1]), bool(row[2]))


def _owned(conn: Connection, job_id: int, doing: str) -> tuple[Viewer, repo.JobRow]:
    viewer = whoami(conn)
    job = repo.get_job(conn, job_id)
    if job.owner_id != viewer.user_id and not viewer.admin:
        raise PermissionDenied(
            f"Job {job_id} belongs to another user, so you cannot {doing} it",
            "Ask its owner or a studio admin to do it",
        )
    return viewer, job


def retry_job(conn: Connection, job_id: int) -> repo.JobRow:
    """A new QUEUED job repeating `job_id` (same version, inputs, seed), linked both ways in the event log."""
    viewer, old = _owned(conn, job_id, "retry")
    if old.status not in RETRYABLE:
        raise InvalidInput(
            f"Job {job_id} is {old.status.label.lower()}; only a failed or cancelled job can be retried",
            "Wait until it ends, or cancel it first",
        )
    new = repo.enqueue(
        conn,
        repo.NewJob(
            kind=old.kind,
            inputs=old.inputs,
            priority=old.priority if viewer.admin else min(old.priority, 0),
            workflow_version_id=old.workflow_version_id,
            project_id=old.project_id,
            take_id=old.take_id,
            cache_key=old.cache_key,
            redispatch_allowed=old.redispatch_allowed,
            max_attempts=old.max_attempts,
            work_estimate=old.work_estimate,
        ),
    )
    log_event(
        conn,
        new.id,
        JobEventKind.LOG,
        status=new.status,
        owner_id=new.owner_id,
        data={"retry_of": int(old.id), "by_user": int(viewer.user_id), "message": f"Retry of job {old.id}"},
    )
    log_event(
        conn,
        old.id,
        JobEventKind.LOG,
        status=old.status,
        owner_id=old.owner_id,
        data={"retried_as": int(new.id), "by_user": int(viewer.user_id), "message": f"Retried as job {new.id}"},
    )
    return new


def move_to_front(conn: Connection, job_id: int) -> int:
    """Put a queued job first among its owner's queued jobs (admins: first of the whole queue); its new priority."""
    _owned(conn, job_id, "move")
    return int(repo.call_guarded(conn, "SELECT x121_move_job_to_front(:id)", {"id": job_id}, job_id))
