"""The dispatcher's SQL: leases, state changes with NOTIFY, and what a run leaves behind.

Every function runs inside the caller's transaction (the dispatcher commits). A state change
only applies while the caller still holds the job's lease, so a dispatcher whose lease was
reclaimed can never overwrite the job's new owner. Each change appends a `job_events` row and
sends `NOTIFY x121_jobs '{"job_id":…, "status":…}'` so every client sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from x121_desktop.comfy.templates import apply, parse_manifest
from x121_desktop.core.enums import ActivityKind, JobEventKind, JobStatus, NotificationKind
from x121_desktop.core.ids import FileId, JobId, ServerId, UserId

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

CHANNEL = "x121_jobs"
ACTIVE = (JobStatus.CLAIMED, JobStatus.UPLOADING, JobStatus.SUBMITTED, JobStatus.RUNNING, JobStatus.DOWNLOADING)
TERMINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
_ACTIVE_SQL = ",".join(str(int(s)) for s in ACTIVE)
UPLOAD_PLACEHOLDER = "x121-upload-pending.png"
_TERMINAL_SQL = ",".join(str(int(s)) for s in TERMINAL)


@dataclass(frozen=True, slots=True)
class JobRow:
    """What a runner needs of a claimed job."""

    id: JobId
    prompt_id: str
    owner_id: UserId
    inputs: dict[str, Any]
    workflow_version_id: int | None
    redispatch_allowed: bool
    attempts: int
    max_attempts: int
    server_id: ServerId | None
    cancel_requested: bool


def load_job(conn: Connection, job_id: JobId) -> JobRow:
    r = conn.execute(
        text(
            "SELECT id, prompt_id, owner_id, inputs, workflow_version_id, redispatch_allowed, attempts, "
            "max_attempts, server_id, cancel_requested FROM jobs WHERE id = :id"
        ),
        {"id": job_id},
    ).one()
    return JobRow(
        JobId(r.id),
        str(r.prompt_id),
        UserId(r.owner_id),
        dict(r.inputs or {}),
        r.workflow_version_id,
        r.redispatch_allowed,
        r.attempts,
        r.max_attempts,
        None if r.server_id is None else ServerId(r.server_id),
        r.cancel_requested,
    )


def event(conn: Connection, job_id: JobId, kind: JobEventKind, data: dict[str, Any], attempt: int | None) -> None:
    conn.execute(
        text(
            "INSERT INTO job_events (job_id, job_event_kind_id, attempt_no, data) "
            "VALUES (:j, :k, :a, CAST(:d AS jsonb))"
        ),
        {"j": job_id, "k": int(kind), "a": attempt, "d": json.dumps(data)},
    )


def _notify(conn: Connection, job_id: JobId, status: JobStatus) -> None:
    payload = json.dumps({"job_id": int(job_id), "status": status.name.lower()})
    conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})


def transition(
    conn: Connection,
    job_id: JobId,
    holder: str,
    to: JobStatus,
    kind: JobEventKind,
    data: dict[str, Any] | None = None,
    *,
    error: str | None = None,
) -> bool:
    """Move a job this holder leases to `to`; False (and nothing written) when the lease is gone."""
    sets = ["job_status_id = :to", "updated_at = now()"]
    if to is JobStatus.RUNNING:
        sets.append("started_at = coalesce(started_at, now())")
    if to in TERMINAL:
        sets += ["finished_at = now()", "lease_holder = NULL", "lease_expires_at = NULL"]
    if to is JobStatus.QUEUED:
        sets += ["lease_holder = NULL", "lease_expires_at = NULL"]
    if error is not None:
        sets.append("error = :err")
    row = conn.execute(
        text(
            f"UPDATE jobs SET {', '.join(sets)} WHERE id = :id AND lease_holder = :h "
            f"AND job_status_id NOT IN ({_TERMINAL_SQL}) RETURNING attempts"
        ),
        {"to": int(to), "id": job_id, "h": holder, "err": error},
    ).first()
    if row is None:
        return False
    attempt = int(row.attempts) or None
    event(conn, job_id, kind, {"status": to.name.lower(), **(data or {})}, attempt)
    if to in (*TERMINAL, JobStatus.LOST, JobStatus.QUEUED) and attempt is not None:
        conn.execute(
            text(
                "UPDATE job_attempts SET job_status_id = :s, finished_at = now(), error = :e "
                "WHERE job_id = :j AND attempt_no = :a AND finished_at IS NULL"
            ),
            {"s": int(to if to is not JobStatus.QUEUED else JobStatus.LOST), "e": error, "j": job_id, "a": attempt},
        )
    elif attempt is not None:
        conn.execute(
            text("UPDATE job_attempts SET job_status_id = :s WHERE job_id = :j AND attempt_no = :a"),
            {"s": int(to), "j": job_id, "a": attempt},
        )
    _notify(conn, job_id, to)
    return True


def fail_unclaimed(conn: Connection, job_id: JobId, reasons: list[str]) -> bool:
    """Refuse a QUEUED job before any GPU time (no capable server): FAILED with every reason."""
    sentence = "No registered ComfyUI server can run this job: " + " ".join(reasons)
    row = conn.execute(
        text(
            "UPDATE jobs SET job_status_id = :f, error = :e, finished_at = now(), updated_at = now() "
            "WHERE id = :id AND job_status_id = :q RETURNING id"
        ),
        {"f": int(JobStatus.FAILED), "e": sentence, "id": job_id, "q": int(JobStatus.QUEUED)},
    ).first()
    if row is None:
        return False
    event(conn, job_id, JobEventKind.FAILED, {"status": "failed", "refused": True, "reasons": reasons}, None)
    _notify(conn, job_id, JobStatus.FAILED)
    return True


def renew(conn: Connection, holder: str, job_ids: list[JobId], lease_s: float) -> tuple[set[JobId], set[JobId]]:
    """Extend this holder's leases; returns (still held, cancel requested among them)."""
    if not job_ids:
        return set(), set()
    rows = conn.execute(
        text(
            "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => :s) "
            "WHERE id = ANY(:ids) AND lease_holder = :h RETURNING id, cancel_requested"
        ),
        {"s": lease_s, "ids": [int(j) for j in job_ids], "h": holder},
    ).all()
    return {JobId(r.id) for r in rows}, {JobId(r.id) for r in rows if r.cancel_requested}


def reclaim_expired(conn: Connection, limit: int = 50) -> list[JobId]:
    """Jobs whose holder stopped renewing go back to QUEUED, each exactly once (row locks)."""
    rows = conn.execute(
        text(
            f"UPDATE jobs j SET job_status_id = :q, lease_holder = NULL, lease_expires_at = NULL, updated_at = now() "
            f"FROM (SELECT id, lease_holder FROM jobs WHERE lease_expires_at < now() "
            f"      AND job_status_id IN ({_ACTIVE_SQL}) ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED) old "
            f"WHERE j.id = old.id RETURNING j.id, j.attempts, old.lease_holder"
        ),
        {"q": int(JobStatus.QUEUED), "n": limit},
    ).all()
    for r in rows:
        event(conn, JobId(r.id), JobEventKind.LEASE_EXPIRED, {"holder": r.lease_holder}, r.attempts or None)
        conn.execute(
            text(
                "UPDATE job_attempts SET job_status_id = :l, finished_at = now(), error = 'lease expired' "
                "WHERE job_id = :j AND finished_at IS NULL"
            ),
            {"l": int(JobStatus.LOST), "j": r.id},
        )
        _notify(conn, JobId(r.id), JobStatus.QUEUED)
    return [JobId(r.id) for r in rows]


def release(conn: Connection, job_id: JobId, holder: str, why: str) -> bool:
    """Give a claimed job back untouched (shutdown before it was submitted)."""
    return transition(conn, job_id, holder, JobStatus.QUEUED, JobEventKind.REQUEUED, {"released": why})


def notify_owner(conn: Connection, job_id: JobId, owner: UserId, kind: ActivityKind, data: dict[str, Any]) -> int:
    """An activity event about the job and a notification row for its owner; returns the notification id."""
    project = conn.execute(text("SELECT project_id FROM jobs WHERE id = :j"), {"j": job_id}).scalar()
    event_id = conn.execute(
        text(
            "INSERT INTO activity_events (project_id, activity_kind_id, data, job_id) "
            "VALUES (:p, :k, CAST(:d AS jsonb), :j) RETURNING id"
        ),
        {"p": project, "k": int(kind), "d": json.dumps({**data, "link": f"x121://jobs/{int(job_id)}"}), "j": job_id},
    ).scalar_one()
    notification = NotificationKind.JOB_FAILED if kind is ActivityKind.JOB_FAILED else NotificationKind.SYSTEM
    return int(
        conn.execute(
            text(
                "INSERT INTO notifications (user_id, notification_kind_id, activity_event_id) "
                "VALUES (:u, :k, :e) RETURNING id"
            ),
            {"u": owner, "k": int(notification), "e": event_id},
        ).scalar_one()
    )


def add_output(conn: Connection, job_id: JobId, node_id: str, file_id: FileId) -> None:
    conn.execute(
        text(
            "INSERT INTO job_outputs (job_id, node_id, file_id) VALUES (:j, :n, :f) "
            "ON CONFLICT (job_id, node_id, file_id) DO NOTHING"
        ),
        {"j": job_id, "n": node_id, "f": file_id},
    )


def add_timings(conn: Connection, job_id: JobId, server_id: ServerId, timings: list[tuple[str, str, float]]) -> None:
    for node_id, class_type, seconds in timings:
        conn.execute(
            text(
                "INSERT INTO node_timings (job_id, node_id, class_type, server_id, seconds) VALUES (:j, :n, :c, :s, :x)"
            ),
            {"j": job_id, "n": node_id, "c": class_type, "s": server_id, "x": max(0.0, seconds)},
        )


def add_cost(conn: Connection, job_id: JobId, server_id: ServerId, gpu_seconds: float) -> None:
    rate = conn.execute(text("SELECT rate_per_hour FROM comfy_servers WHERE id = :s"), {"s": server_id}).scalar()
    rate = Decimal(rate) if rate is not None else Decimal(0)
    seconds = max(0.0, gpu_seconds)
    cost = (rate * Decimal(str(round(seconds, 3))) / Decimal(3600)).quantize(Decimal("0.0001"))
    conn.execute(
        text(
            "INSERT INTO cost_records (job_id, server_id, gpu_seconds, rate_per_hour, cost) VALUES (:j, :s, :g, :r, :c)"
        ),
        {"j": job_id, "s": server_id, "g": seconds, "r": rate, "c": cost},
    )


def attempt_servers(conn: Connection, job_id: JobId) -> list[ServerId]:
    """Servers earlier attempts of this job went to, newest first."""
    rows = conn.execute(
        text("SELECT server_id FROM job_attempts WHERE job_id = :j ORDER BY attempt_no DESC"), {"j": job_id}
    ).all()
    seen: list[ServerId] = []
    for r in rows:
        if ServerId(r.server_id) not in seen:
            seen.append(ServerId(r.server_id))
    return seen


def resolve_prompt(conn: Connection, job: JobRow, names: dict[str, str] | None = None) -> dict[str, Any]:
    """The API prompt of a job: inline `inputs.prompt`, or its workflow version with `inputs.params` applied.

    `inputs.files` maps a manifest parameter (or `node.input` for inline prompts) to a stored file id;
    `names` gives the names the server returned for those uploads (placeholders when None).
    """
    files: dict[str, Any] = dict(job.inputs.get("files") or {})
    uploaded = names if names is not None else dict.fromkeys(files, UPLOAD_PLACEHOLDER)
    if job.workflow_version_id is not None and "prompt" not in job.inputs:
        row = conn.execute(
            text("SELECT api_json, manifest FROM workflow_versions WHERE id = :v"), {"v": job.workflow_version_id}
        ).one()
        manifest = parse_manifest(row.manifest, f"workflow version {job.workflow_version_id}")
        params = {**dict(job.inputs.get("params") or {}), **uploaded}
        return dict(apply(manifest, row.api_json, params))
    prompt: dict[str, Any] = {k: {**v, "inputs": dict(v.get("inputs", {}))} for k, v in job.inputs["prompt"].items()}
    for target, name in uploaded.items():
        node_id, _, input_name = target.partition(".")
        prompt[node_id]["inputs"][input_name] = name
    return prompt


def assign(conn: Connection, job_id: JobId, holder: str, server_id: ServerId, server: str, lease_s: float) -> int:
    """Claim a QUEUED job (already row-locked by the caller) for `holder` on a server; returns the attempt number."""
    attempts = int(
        conn.execute(
            text(
                "UPDATE jobs SET job_status_id = :c, lease_holder = :h, "
                "lease_expires_at = now() + make_interval(secs => :l), server_id = :s, attempts = attempts + 1, "
                "error = NULL, updated_at = now() WHERE id = :id RETURNING attempts"
            ),
            {"c": int(JobStatus.CLAIMED), "h": holder, "l": lease_s, "s": server_id, "id": job_id},
        ).scalar_one()
    )
    conn.execute(
        text(
            "INSERT INTO job_attempts (job_id, attempt_no, server_id, job_status_id, lease_holder) "
            "VALUES (:j, :a, :s, :c, :h)"
        ),
        {"j": job_id, "a": attempts, "s": server_id, "c": int(JobStatus.CLAIMED), "h": holder},
    )
    event(conn, job_id, JobEventKind.CLAIMED, {"status": "claimed", "server": server, "holder": holder}, attempts)
    _notify(conn, job_id, JobStatus.CLAIMED)
    return attempts
