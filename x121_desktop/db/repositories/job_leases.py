"""Claims, leases and state changes of queued jobs. Plain functions over a Connection; never commits.

Claiming is one statement mirroring `core.orchestration.fairshare.order_queue`: priority bands
strictly (higher first); inside a band, round-robin by owner with the fewest running first (a
job's turn = its owner's jobs holding a server slot + its FIFO rank among that owner's queued jobs
of the band); then the lower id. The first `limit` rows in that order not locked by another
claimer are taken with `FOR UPDATE SKIP LOCKED` and become CLAIMED with a lease (`holder`,
expiry) and `attempts + 1`.

Attempts: `attempts` counts claims; a `job_attempts` row is written by `record_attempt` when the
dispatcher has chosen a server (the server is not known at claim time, and the row needs one).
A claim released before any attempt row exists (`release`, e.g. no server free) is not counted.

Only the lease holder moves a job (`transition`, `release`, `record_attempt`, `append_event`,
`add_output`); a dispatcher whose lease was reclaimed gets `LeaseLost` and writes nothing.
`reclaim_expired` takes back jobs whose lease ran out exactly once, even with several
reclaimers racing (the rows are locked with SKIP LOCKED and re-checked under the lock).

PostgreSQL enforces the same (revision 0012): a claim records the claiming login in
`jobs.lease_login`, and only that login (or an admin) may then move the job, renew its lease or
write its attempts, events, outputs and timings, by legal transitions only; any login may take back
a job whose lease lapsed, but only to the state `reclaim_expired` chooses. The lease holder string
(`machine:pid:…`) tells one login's dispatchers apart in these functions; the database tells logins apart.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import JobEventKind, JobKind, JobStatus
from x121_desktop.core.ids import JobId, UserId
from x121_desktop.core.orchestration.states import ACTIVE, LOST, TERMINAL, InvalidJobTransition, can_transition
from x121_desktop.db.repositories.job_dispatch import fair_share_sql, run
from x121_desktop.db.repositories.job_events import NOTICE_SQL, log_event, notify_owner, to_json
from x121_desktop.db.repositories.job_records import (
    ClaimedJob,
    JobNotFound,
    JobRow,
    LeaseLost,
    ReclaimedJob,
    job_columns,
    job_from_row,
)

HELD: frozenset[JobStatus] = ACTIVE | {LOST}
"""States in which a job has a lease holder."""

PRE_SUBMIT: frozenset[JobStatus] = frozenset({JobStatus.CLAIMED, JobStatus.UPLOADING})
"""Held states a claim can be released from without it counting as an attempt."""

OURS = "coalesce(lease_login, session_user) = session_user"
"""SQL: the job was claimed by this login (revision 0012's `lease_login`; empty for claims made before it).

Every statement that finds a held job by its lease holder string adds this: a job another login
claimed under the same holder string (the string is the client's to choose) is not ours, so it
reads as a lost lease instead of failing the whole statement on the database's guard."""

RECLAIM_BATCH = 500

CLAIM_SLACK = 16
"""Candidates ranked beyond `limit`, to step over rows other claimers hold locked right now.

The claim reads only each owner's first `limit + CLAIM_SLACK` queued jobs (owners found by a skip
scan of the partial index `ix_jobs_queued_owner`), ranks those and locks in that order, so its cost
grows with the number of owners, not with the queue's length. With more rows than this locked by
concurrent claimers a claim may come back short; the caller simply claims again. 16 covers 16
claimers taking one job at a time (each holds one row locked while claiming); 64 ranked 4x the rows
for no gain there (claim execution 0.31 -> 0.22 ms with 1,000 queued jobs of 4 owners)."""


def _ids(statuses: Collection[JobStatus]) -> list[int]:
    return sorted(int(s) for s in statuses)


def _claim_sql(window: int, limit: int, with_kinds: bool) -> str:
    notice = NOTICE_SQL.format(job="c.id", status="'claimed'", owner="c.owner_id", event="'claimed'", event_id="ev.id")
    return (
        fair_share_sql(window, with_kinds)
        + f""", picked AS (
    SELECT j.id, k.turn, k.priority FROM ranked k JOIN jobs j ON j.id = k.id
    WHERE j.job_status_id = {int(JobStatus.QUEUED)}
    ORDER BY k.priority DESC, k.turn, k.id
    LIMIT {int(limit)}
    FOR UPDATE OF j SKIP LOCKED
), claimed AS (
    UPDATE jobs SET job_status_id = %(claimed)s, lease_holder = %(holder)s, lease_expires_at = now() + %(lease)s,
                    attempts = jobs.attempts + 1, updated_at = now()
    FROM picked WHERE jobs.id = picked.id
    RETURNING {job_columns("jobs")}
), ev AS (
    INSERT INTO job_events (job_id, job_event_kind_id, attempt_no, data)
    SELECT id, %(event)s, attempts, jsonb_build_object('holder', CAST(%(holder)s AS text)) FROM claimed
    RETURNING id, job_id
)
SELECT {job_columns("c")}, {notice}
FROM claimed c JOIN picked p ON p.id = c.id JOIN ev ON ev.job_id = c.id
ORDER BY p.priority DESC, p.turn, p.id
"""
    )


@functools.cache
def _claim_statement(limit: int, with_kinds: bool) -> str:
    return _claim_sql(limit + CLAIM_SLACK, limit, with_kinds)


def claim(
    conn: Connection,
    holder: str,
    lease: timedelta,
    limit: int = 1,
    kinds: Sequence[JobKind] | None = None,
) -> list[ClaimedJob]:
    """Lease up to `limit` queued jobs to `holder` (unique per dispatcher run, e.g. `host:pid:random`).

    The statement is prepared (LIMITs are literals, one statement per `limit`), so after a few
    claims PostgreSQL reuses a generic plan instead of planning each claim.
    """
    if lease <= timedelta(0) or limit < 1:
        raise ValueError("claim needs a positive lease and limit")
    params: dict[str, Any] = {
        "claimed": int(JobStatus.CLAIMED),
        "holder": holder,
        "lease": lease,
        "event": int(JobEventKind.CLAIMED),
    }
    if kinds:
        params["kinds"] = [int(k) for k in kinds]
    rows = run(conn, _claim_statement(limit, bool(kinds)), params)
    return [ClaimedJob(job, job.attempts) for job in map(job_from_row, rows)]


def renew_leases(conn: Connection, holder: str, lease: timedelta) -> int:
    """Heartbeat: extend every lease `holder` still has; returns how many (fewer than expected = some were lost).

    Only jobs this login claimed count (`OURS`)."""
    result = conn.execute(
        text(
            "UPDATE jobs SET lease_expires_at = now() + :lease "
            f"WHERE lease_holder = :holder AND job_status_id = ANY(:held) AND {OURS}"
        ),
        {"lease": lease, "holder": holder, "held": _ids(HELD)},
    )
    return int(result.rowcount)


def held_jobs(conn: Connection, holder: str) -> list[JobRow]:
    """The jobs `holder` leases now (check `cancel_requested` on each: the holder must act on it)."""
    rows = conn.execute(
        text(f"SELECT {job_columns()} FROM jobs WHERE lease_holder = :holder ORDER BY id"), {"holder": holder}
    ).all()
    return [job_from_row(r) for r in rows]


def _set_clause(to: JobStatus) -> str:
    sets = ["job_status_id = %(to)s", "updated_at = now()", "error = COALESCE(%(error)s, jobs.error)"]
    if to not in HELD:  # terminal or queued again: the lease ends
        sets += ["lease_holder = NULL", "lease_expires_at = NULL"]
    if to in TERMINAL:
        sets.append("finished_at = now()")
    if to in (JobStatus.SUBMITTED, JobStatus.RUNNING):
        sets.append("started_at = COALESCE(jobs.started_at, now())")
    if to is JobStatus.QUEUED:  # released before reaching a server: not an attempt unless one was recorded
        sets.append(
            "attempts = jobs.attempts - CASE WHEN jobs.job_status_id = ANY(%(pre_submit)s) AND NOT EXISTS ("
            "SELECT 1 FROM job_attempts a WHERE a.job_id = jobs.id AND a.attempt_no = jobs.attempts) "
            "THEN 1 ELSE 0 END"
        )
    return ", ".join(sets)


def _transition_sql(to: JobStatus) -> str:
    attempt_ends = to not in HELD or to is LOST
    finished = "now()" if attempt_ends else "NULL"
    notice = NOTICE_SQL.format(
        job="u.id", status=f"'{to.code}'", owner="u.owner_id", event="CAST(%(event_code)s AS text)", event_id="ev.id"
    )
    return f"""
WITH u AS (
    UPDATE jobs SET {_set_clause(to)}
    WHERE id = %(id)s AND lease_holder = %(holder)s AND job_status_id = ANY(%(from)s) AND {OURS}
    RETURNING {job_columns("jobs")}
), att AS (
    UPDATE job_attempts a SET job_status_id = %(to)s, finished_at = {finished},
                              error = COALESCE(%(error)s, a.error)
    FROM u WHERE a.job_id = u.id AND a.attempt_no = u.attempts AND a.finished_at IS NULL
), ev AS (
    INSERT INTO job_events (job_id, job_event_kind_id, attempt_no, data)
    SELECT id, %(event)s, attempts, CAST(%(data)s AS jsonb) FROM u RETURNING id
)
SELECT {job_columns("u")}, {notice} FROM u, ev
"""


_TRANSITIONS = {to: _transition_sql(to) for to in JobStatus}


def _refusal(conn: Connection, job_id: int, holder: str, to: JobStatus) -> Exception:
    found = conn.execute(
        text(f"SELECT job_status_id, lease_holder, {OURS}, lease_login FROM jobs WHERE id = :id"), {"id": job_id}
    ).one_or_none()
    if found is None:
        return JobNotFound(job_id)
    status, current, ours, login = JobStatus(found[0]), found[1], bool(found[2]), found[3]
    if current != holder or not ours:
        return LeaseLost(job_id, holder, current if ours else f"{current}, signed in as {login}", status)
    return InvalidJobTransition(status, to)


def transition(
    conn: Connection,
    job_id: int,
    holder: str,
    to: JobStatus,
    event: JobEventKind,
    data: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> JobRow:
    """Move a held job to `to` (checked against the state machine), log `event` and NOTIFY, in one statement.

    Raises LeaseLost if `holder` no longer leases the job, InvalidJobTransition if the state machine
    does not connect its current state to `to`. Leaving the held states ends the lease; the current
    job_attempts row follows the job's state. Returns the job as it is now (see `cancel_requested`).
    """
    allowed = [s for s in HELD if can_transition(s, to)]
    rows = run(
        conn,
        _TRANSITIONS[to],
        {
            "id": job_id,
            "holder": holder,
            "from": _ids(allowed),
            "to": int(to),
            "error": error,
            "event": int(event),
            "event_code": event.code,
            "data": to_json(data),
            "pre_submit": _ids(PRE_SUBMIT),
        },
    )
    if not rows:
        raise _refusal(conn, job_id, holder, to)
    return job_from_row(rows[0])


def release(conn: Connection, job_id: int, holder: str, reason: str = "no server free") -> JobRow:
    """Give a claimed job back to the queue before anything reached a server (not counted as an attempt).

    A job whose cancellation was requested meanwhile ends as CANCELLED instead.
    """
    cancel = conn.execute(
        text(f"SELECT cancel_requested FROM jobs WHERE id = :id AND lease_holder = :holder AND {OURS}"),
        {"id": job_id, "holder": holder},
    ).scalar_one_or_none()
    if cancel:
        return transition(conn, job_id, holder, JobStatus.CANCELLED, JobEventKind.CANCELLED, {"reason": reason})
    return transition(
        conn, job_id, holder, JobStatus.QUEUED, JobEventKind.REQUEUED, {"reason": reason, "released_by": holder}
    )


def _held_row(conn: Connection, job_id: int, holder: str) -> tuple[UserId, JobStatus, int]:
    found = conn.execute(
        text(
            f"SELECT owner_id, job_status_id, attempts FROM jobs WHERE id = :id AND lease_holder = :holder AND {OURS}"
        ),
        {"id": job_id, "holder": holder},
    ).one_or_none()
    if found is None:
        raise _refusal(conn, job_id, holder, JobStatus.RUNNING)
    return UserId(found[0]), JobStatus(found[1]), int(found[2])


def append_event(
    conn: Connection, job_id: int, holder: str, kind: JobEventKind, data: Mapping[str, Any] | None = None
) -> int:
    """Log an event that is not a state change (progress, node started/finished, log line, output stored)."""
    owner, status, attempt = _held_row(conn, job_id, holder)
    return log_event(conn, job_id, kind, status=status, owner_id=owner, attempt_no=attempt, data=data)


def record_attempt(conn: Connection, job_id: int, holder: str, server_id: int) -> int:
    """The dispatcher chose `server_id` for this claim: write (or re-point) the job_attempts row; returns attempt_no."""
    row = conn.execute(
        text(
            "WITH j AS (UPDATE jobs SET server_id = :server, updated_at = now() "
            f"WHERE id = :id AND lease_holder = :holder AND job_status_id = ANY(:active) AND {OURS} "
            "RETURNING id, attempts, job_status_id) "
            "INSERT INTO job_attempts (job_id, attempt_no, server_id, job_status_id, lease_holder) "
            "SELECT id, attempts, :server, job_status_id, :holder FROM j "
            "ON CONFLICT (job_id, attempt_no) DO UPDATE SET server_id = EXCLUDED.server_id "
            "RETURNING attempt_no"
        ),
        {"server": server_id, "id": job_id, "holder": holder, "active": _ids(ACTIVE)},
    ).one_or_none()
    if row is None:
        raise _refusal(conn, job_id, holder, JobStatus.SUBMITTED)
    return int(row[0])


def add_output(conn: Connection, job_id: int, holder: str, file_id: int, node_id: str) -> None:
    """Link a stored file (already written, row committed or in this transaction) to the job as an output."""
    _held_row(conn, job_id, holder)
    conn.execute(
        text(
            "INSERT INTO job_outputs (job_id, file_id, node_id) VALUES (:job, :file, :node) "
            "ON CONFLICT (job_id, node_id, file_id) DO NOTHING"
        ),
        {"job": job_id, "file": file_id, "node": node_id},
    )


_RECLAIM = text(
    """
WITH expired AS (
    SELECT id, lease_holder, job_status_id AS was, cancel_requested, redispatch_allowed, attempts,
           max_attempts, error
    FROM jobs
    WHERE job_status_id = ANY(:held) AND lease_expires_at < now()
    ORDER BY id LIMIT :batch
    FOR UPDATE SKIP LOCKED
), decided AS (
    SELECT e.id, e.lease_holder, e.was,
           CASE WHEN e.cancel_requested THEN :cancelled
                WHEN e.was <> :lost OR e.redispatch_allowed AND e.attempts < e.max_attempts THEN :queued
                ELSE :failed END AS next,
           CASE WHEN e.cancel_requested OR e.was <> :lost THEN e.error
                WHEN NOT e.redispatch_allowed THEN format(
                    'Its dispatcher (%s) stopped renewing its lease and this job may not be re-dispatched',
                    e.lease_holder)
                WHEN e.attempts >= e.max_attempts THEN format(
                    'Its dispatcher (%s) stopped renewing its lease after %s of %s attempts',
                    e.lease_holder, e.attempts, e.max_attempts)
                ELSE e.error END AS reason
    FROM expired e
)
UPDATE jobs j SET job_status_id = d.next, lease_holder = NULL, lease_expires_at = NULL, updated_at = now(),
                  error = d.reason, finished_at = CASE WHEN d.next = :queued THEN NULL ELSE now() END
FROM decided d WHERE j.id = d.id
RETURNING j.id, j.owner_id, j.job_status_id, j.attempts, d.lease_holder, d.was, j.error, j.server_id, j.prompt_id
"""
)

_AFTER_LOST_EVENT = {
    JobStatus.QUEUED: JobEventKind.REQUEUED,
    JobStatus.FAILED: JobEventKind.FAILED,
    JobStatus.CANCELLED: JobEventKind.CANCELLED,
}


def reclaim_expired(conn: Connection) -> list[JobId]:
    """`reclaim_expired_jobs`, as the ids of the jobs taken back."""
    return [r.job_id for r in reclaim_expired_jobs(conn)]


def reclaim_expired_jobs(conn: Connection) -> list[ReclaimedJob]:
    """Take back held jobs whose lease ran out: LOST event, then QUEUED, or CANCELLED if their owner asked.

    A stopped dispatcher is not a lost server: the prompt it submitted may still run, so the job is
    queued again whatever its policy, and the next claimer adopts that prompt (same prompt_id) from
    its server; it runs the job again only where the policy allows, and fails it otherwise
    (`services/orchestrator/runner.py`). A job that was already LOST (its server lost the prompt)
    is queued only if its policy allows re-dispatch and attempts are left, else FAILED (revision 0015).

    Each job is reclaimed exactly once however many clients call this at the same time: rows are
    locked with SKIP LOCKED and re-checked under the lock, so a racing reclaimer skips or no
    longer matches them. The owner is told (feed + notification). Returns what it did to each.
    """
    rows = conn.execute(
        _RECLAIM,
        {
            "held": _ids(HELD),
            "batch": RECLAIM_BATCH,
            "cancelled": int(JobStatus.CANCELLED),
            "queued": int(JobStatus.QUEUED),
            "failed": int(JobStatus.FAILED),
            "lost": int(LOST),
        },
    ).all()
    done: list[ReclaimedJob] = []
    for job_id, owner, status_id, attempt, holder, was, error, server_id, prompt_id in sorted(rows):
        status = JobStatus(status_id)
        conn.execute(
            text(
                "UPDATE job_attempts SET job_status_id = :lost, finished_at = now(), "
                "error = 'lease expired: the dispatcher stopped answering' "
                "WHERE job_id = :id AND attempt_no = :attempt AND finished_at IS NULL"
            ),
            {"lost": int(LOST), "id": job_id, "attempt": attempt},
        )
        lost_data = {"holder": holder, "was": JobStatus(was).code}
        log_event(conn, job_id, JobEventKind.LOST, status=LOST, owner_id=owner, attempt_no=attempt, data=lost_data)
        after = {"reason": "lease expired", "holder": holder, **({"error": error} if error else {})}
        log_event(
            conn, job_id, _AFTER_LOST_EVENT[status], status=status, owner_id=owner, attempt_no=attempt, data=after
        )
        message = (
            f"Job {job_id}'s dispatcher ({holder}) stopped answering: the job is queued again with the same "
            "prompt id, and the next dispatcher follows that prompt where it runs instead of running it again"
            if status is JobStatus.QUEUED
            else error or f"Job {job_id} was lost by its dispatcher ({holder}) and ended as {status.code}"
        )
        notify_owner(conn, job_id, status, message, after)
        done.append(ReclaimedJob(JobId(job_id), UserId(owner), holder, status, server_id, str(prompt_id)))
    return done
