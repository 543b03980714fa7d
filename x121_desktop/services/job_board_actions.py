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

`hold_jobs` / `release_jobs` (revision 0013, `x121_hold_job` / `x121_release_job`): several jobs in
one transaction, each in its own savepoint, so a job that cannot be held (not yours, already
running) is reported in the outcome's sentence while the others are held. A job on hold is never
claimed; released, it is QUEUED again in the place it had (id, `created_at`, estimate, priority).
`set_queue_paused`: the signed-in user's queue (their queued jobs held, and what they submit while
it is paused; resuming releases what the pause held) or, admins only, the studio's (no job is
claimed until an admin resumes it). `queue_state`: every paused queue, as every client sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import InvalidInput, PermissionDenied, X121Error
from x121_desktop.core.ids import JobId, UserId
from x121_desktop.db.repositories import job_pauses
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.db.repositories.job_events import log_event
from x121_desktop.db.repositories.job_pauses import QueuePause

RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: the signed-in studio user and whether the database counts them as admin."""

    user_id: UserId
    admin: bool
    may_submit: bool
    """Whether this login may insert jobs (creators and admins), so has a queue of its own to pause."""


def whoami(conn: Connection) -> Viewer:
    row = conn.execute(
        text(
            "SELECT x121_current_user_id(), x121_is_admin(), "
            "has_any_column_privilege(current_user, 'public.jobs', 'INSERT')"  # column grants since revision 0012
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


# ---------------------------------------------------------------------------------------- on hold


@dataclass(frozen=True, slots=True)
class HoldResult:
    """What holding (or releasing) several jobs did, job by job."""

    hold: bool
    """True: put on hold; False: released."""
    changed: tuple[JobId, ...]
    unchanged: tuple[JobId, ...]
    """Already on hold (hold) or not on hold (release)."""
    refused: tuple[tuple[JobId, str], ...]
    """(job, the database's sentence) for each job it would not change."""

    @property
    def sentence(self) -> str:
        """What happened, job by job ('Put jobs 4 and 5 on hold. Job 6 is running; only a queued job …')."""
        parts = []
        if self.changed:
            parts.append(
                f"{'Put' if self.hold else 'Released'} {_jobs(self.changed)} {'on' if self.hold else 'from'} hold."
            )
        if self.unchanged:
            was = "was" if len(self.unchanged) == 1 else "were"
            parts.append(f"{_jobs(self.unchanged).capitalize()} {was} {'already' if self.hold else 'not'} on hold.")
        parts += [f"{sentence.rstrip('.')}." for _, sentence in self.refused]
        return " ".join(parts) or "No job was selected."


def _jobs(ids: Sequence[int]) -> str:
    if len(ids) == 1:
        return f"job {ids[0]}"
    return "jobs " + ", ".join(str(i) for i in ids[:-1]) + f" and {ids[-1]}"


def _each(conn: Connection, job_ids: Sequence[int], act: Callable[[Connection, int], bool], hold: bool) -> HoldResult:
    changed: list[JobId] = []
    unchanged: list[JobId] = []
    refused: list[tuple[JobId, str]] = []
    for job_id in dict.fromkeys(job_ids):  # each once, in the order given
        try:
            with conn.begin_nested():
                (changed if act(conn, job_id) else unchanged).append(JobId(job_id))
        except X121Error as exc:
            refused.append((JobId(job_id), exc.sentence))
    return HoldResult(hold, tuple(changed), tuple(unchanged), tuple(refused))


def _submitter(conn: Connection, doing: str) -> Viewer:
    viewer = whoami(conn)
    if not viewer.may_submit:
        raise PermissionDenied(
            f"Your login cannot submit jobs, so it cannot {doing}", "Ask an admin to make you a creator"
        )
    return viewer


def hold_jobs(conn: Connection, job_ids: Sequence[int]) -> HoldResult:
    """Put queued jobs on hold (`x121_hold_job`: the owner or an admin); the others are reported, not changed."""
    _submitter(conn, "put jobs on hold")
    return _each(conn, job_ids, lambda c, j: repo.hold(c, j) is repo.HoldOutcome.HELD, True)


def release_jobs(conn: Connection, job_ids: Sequence[int]) -> HoldResult:
    """Release jobs on hold (`x121_release_job`): QUEUED again in the place each had."""
    _submitter(conn, "release jobs from hold")
    return _each(conn, job_ids, lambda c, j: repo.release_hold(c, j) is repo.ReleaseOutcome.RELEASED, False)


@dataclass(frozen=True, slots=True)
class QueueState:
    """Which queues are paused, as the signed-in user sees them."""

    studio: QueuePause | None
    """The studio's paused queue (no job is claimed), or None."""
    mine: QueuePause | None
    """The signed-in user's paused queue (their jobs are held), or None."""
    users: tuple[QueuePause, ...]
    """Every user's paused queue (theirs included)."""


def queue_state(conn: Connection) -> QueueState:
    me = whoami(conn).user_id
    pauses = job_pauses.queue_pauses(conn)
    studio = next((p for p in pauses if p.user_id is None), None)
    users = tuple(p for p in pauses if p.user_id is not None)
    return QueueState(studio, next((p for p in users if p.user_id == me), None), users)


@dataclass(frozen=True, slots=True)
class QueueChange:
    """What pausing or resuming a queue did."""

    studio: bool
    """The studio's queue (else the signed-in user's)."""
    paused: bool
    jobs: int
    """Jobs put on hold (pause) or released (resume); always 0 for the studio's queue."""

    @property
    def sentence(self) -> str:
        n = f"{self.jobs} job{'' if self.jobs == 1 else 's'}" if self.jobs else "no job"
        if self.studio and self.paused:
            return "The studio queue is paused: no job starts until an admin resumes it; running jobs finish."
        if self.studio:
            return "The studio queue is running again: dispatchers take queued jobs."
        if self.paused:
            return f"Your queue is paused ({n} put on hold); the jobs you submit are held until you resume it."
        return f"Your queue is running again ({n} released from hold)."


def set_queue_paused(conn: Connection, paused: bool, *, studio: bool = False) -> QueueChange:
    """Pause or resume the signed-in user's queue (or, admins only, the studio's)."""
    doing = "pause" if paused else "resume"
    viewer = _submitter(conn, f"{doing} a queue") if not studio else whoami(conn)
    if studio and not viewer.admin:  # the database says the same; a reviewer cannot even call it
        raise PermissionDenied(
            f"Only a studio admin can {doing} the studio queue",
            "Pause your own queue instead, or ask an admin" if paused else f"Ask an admin to {doing} it",
        )
    act = job_pauses.pause_queue if paused else job_pauses.resume_queue
    return QueueChange(studio, paused, act(conn, studio=studio))
