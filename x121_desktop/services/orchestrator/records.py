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

from x121_desktop.comfy.templates import Manifest, apply, parse_manifest
from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import NotFound
from x121_desktop.core.ids import FileId, JobId, ServerId, UserId
from x121_desktop.db.repositories import job_events
from x121_desktop.db.repositories import job_leases as leases
from x121_desktop.db.repositories.job_records import LeaseLost

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

CLAIM_NOTICE = job_events.NOTICE_SQL.format(
    job="u.id", status="'claimed'", owner="u.owner_id", event="'claimed'", event_id="e.id"
)
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


JOB_COLUMNS = (
    "j.id, j.prompt_id, j.owner_id, j.inputs, j.workflow_version_id, j.redispatch_allowed, j.attempts, "
    "j.max_attempts, j.server_id, j.cancel_requested"
)


def job_from(r: Any) -> JobRow:
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


def load_job(conn: Connection, job_id: JobId) -> JobRow:
    return job_from(conn.execute(text(f"SELECT {JOB_COLUMNS} FROM jobs j WHERE j.id = :id"), {"id": job_id}).one())


def candidates(conn: Connection, limit: int) -> list[JobRow]:
    """Queued jobs in claim order (priority, then owners with fewer running jobs, then age), row-locked."""
    rows = conn.execute(
        text(
            f"WITH running AS (SELECT owner_id, count(*) AS n FROM jobs WHERE job_status_id IN ({_ACTIVE_SQL}) "
            f"GROUP BY owner_id) SELECT {JOB_COLUMNS} FROM jobs j LEFT JOIN running r ON r.owner_id = j.owner_id "
            "WHERE j.job_status_id = :q AND NOT j.cancel_requested "
            "ORDER BY j.priority DESC, coalesce(r.n, 0), j.created_at, j.id LIMIT :n FOR UPDATE OF j SKIP LOCKED"
        ),
        {"q": int(JobStatus.QUEUED), "n": limit},
    ).all()
    return [job_from(r) for r in rows]


def input_files(conn: Connection, job: JobRow) -> dict[str, tuple[str, str]]:
    """target → (sha256, rel_path) of the stored files a job uploads."""
    files: dict[str, Any] = dict(job.inputs.get("files") or {})
    if not files:
        return {}
    rows = conn.execute(
        text("SELECT id, sha256, rel_path FROM files WHERE id = ANY(:ids)"), {"ids": [int(v) for v in files.values()]}
    ).all()
    found = {r.id: (r.sha256, r.rel_path) for r in rows}
    missing = sorted({int(v) for v in files.values()} - set(found))
    if missing:
        raise NotFound(
            f"Job {job.id} names stored file(s) {', '.join(map(str, missing))} that do not exist",
            "Submit the job again with files from the media store.",
        )
    return {target: found[int(fid)] for target, fid in files.items()}


def event(conn: Connection, job_id: JobId, kind: JobEventKind, data: dict[str, Any], attempt: int | None) -> None:
    conn.execute(
        text(
            "INSERT INTO job_events (job_id, job_event_kind_id, attempt_no, data) "
            "VALUES (:j, :k, :a, CAST(:d AS jsonb))"
        ),
        {"j": job_id, "k": int(kind), "a": attempt, "d": json.dumps(data)},
    )


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
    """The queue repository's checked transition (event + NOTIFY in one statement); False when the lease is gone."""
    try:
        leases.transition(conn, job_id, holder, to, kind, data, error)
    except LeaseLost:
        return False
    return True


def fail_unclaimed(conn: Connection, job_id: JobId, sentence: str, reasons: list[str]) -> bool:
    """Refuse a QUEUED job before any GPU time (no capable server): FAILED with every reason."""
    row = conn.execute(
        text(
            "UPDATE jobs SET job_status_id = :f, error = :e, finished_at = now(), updated_at = now() "
            "WHERE id = :id AND job_status_id = :q RETURNING owner_id"
        ),
        {"f": int(JobStatus.FAILED), "e": sentence, "id": job_id, "q": int(JobStatus.QUEUED)},
    ).first()
    if row is None:
        return False
    data = {"refused": True, "reasons": reasons}
    job_events.log_event(conn, job_id, JobEventKind.FAILED, status=JobStatus.FAILED, owner_id=row.owner_id, data=data)
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


def reclaim_expired(conn: Connection) -> list[JobId]:
    """The queue repository's reclaim: each expired job exactly once → LOST, then QUEUED or FAILED, owner told."""
    return leases.reclaim_expired(conn)


def release(conn: Connection, job_id: JobId, holder: str, why: str) -> bool:
    """Give a claimed job back untouched (shutdown before it was submitted)."""
    return transition(conn, job_id, holder, JobStatus.QUEUED, JobEventKind.REQUEUED, {"released": why})


def notify_owner(conn: Connection, job_id: JobId, status: JobStatus, message: str, data: dict[str, Any]) -> int:
    """Feed event + notification for the job's owner (queue repository), with a link to the job."""
    return job_events.notify_owner(conn, job_id, status, message, {**data, "link": f"x121://jobs/{int(job_id)}"})


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


@dataclass(frozen=True, slots=True)
class Workflow:
    """A job's workflow version: API prompt and parsed manifest."""

    api_json: dict[str, Any]
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class Resolved:
    """What the claim read for the runner: the workflow (None: inline prompt) and the input files."""

    workflow: Workflow | None
    files: dict[str, tuple[str, str]]


def load_workflow(conn: Connection, job: JobRow) -> Workflow | None:
    """The workflow version a job renders, or None for a job carrying its prompt inline."""
    if job.workflow_version_id is None or "prompt" in job.inputs:
        return None
    row = conn.execute(
        text("SELECT api_json, manifest FROM workflow_versions WHERE id = :v"), {"v": job.workflow_version_id}
    ).one()
    return Workflow(dict(row.api_json), parse_manifest(row.manifest, f"workflow version {job.workflow_version_id}"))


def render_prompt(job: JobRow, workflow: Workflow | None, names: dict[str, str] | None = None) -> dict[str, Any]:
    """The API prompt of a job: inline `inputs.prompt`, or its workflow version with `inputs.params` applied.

    `inputs.files` maps a manifest parameter (or `node.input` for inline prompts) to a stored file id;
    `names` gives the names the server returned for those uploads (placeholders when None).
    """
    files: dict[str, Any] = dict(job.inputs.get("files") or {})
    uploaded = names if names is not None else dict.fromkeys(files, UPLOAD_PLACEHOLDER)
    if workflow is not None:
        params = {**dict(job.inputs.get("params") or {}), **uploaded}
        return dict(apply(workflow.manifest, workflow.api_json, params))
    prompt: dict[str, Any] = {k: {**v, "inputs": dict(v.get("inputs", {}))} for k, v in job.inputs["prompt"].items()}
    for target, name in uploaded.items():
        node_id, _, input_name = target.partition(".")
        prompt[node_id]["inputs"][input_name] = name
    return prompt


def assign(conn: Connection, job_id: JobId, holder: str, server_id: ServerId, server: str, lease_s: float) -> int:
    """Claim a QUEUED job (row-locked by the caller) for `holder` on a server, in one statement; returns the attempt."""
    return int(
        conn.execute(
            text(
                "WITH u AS (UPDATE jobs SET job_status_id = :c, lease_holder = :h, "
                "  lease_expires_at = now() + make_interval(secs => :l), server_id = :s, attempts = attempts + 1, "
                "  error = NULL, updated_at = now() WHERE id = :id RETURNING id, attempts, owner_id), "
                "a AS (INSERT INTO job_attempts (job_id, attempt_no, server_id, job_status_id, lease_holder) "
                "  SELECT id, attempts, :s, :c, :h FROM u), "
                "e AS (INSERT INTO job_events (job_id, job_event_kind_id, attempt_no, data) "
                "  SELECT id, :k, attempts, CAST(:d AS jsonb) FROM u RETURNING id) "
                f"SELECT u.attempts, {CLAIM_NOTICE} FROM u, e"
            ),
            {
                "c": int(JobStatus.CLAIMED),
                "h": holder,
                "l": lease_s,
                "s": server_id,
                "id": job_id,
                "k": int(JobEventKind.CLAIMED),
                "d": json.dumps({"server": server, "holder": holder}),
            },
        ).scalar_one()
    )


def reassign(conn: Connection, job_id: JobId, server_id: ServerId) -> None:
    """The job's prompt was found on another server than the one it was claimed for: it runs there."""
    conn.execute(text("UPDATE jobs SET server_id = :s WHERE id = :j"), {"s": server_id, "j": job_id})
