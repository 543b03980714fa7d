"""Frozen records and errors of the job queue repository (`db.repositories.jobs`).

Everything here crosses layers: the dispatcher, the queue service, the CLI and the UI read
these values, never ORM rows. `inputs` and event `data` are the jsonb documents as read
(plain dicts); treat them as read-only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from x121_desktop.core.enums import JobEventKind, JobKind, JobStatus
from x121_desktop.core.errors import NotFound, X121Error
from x121_desktop.core.ids import FileId, JobId, UserId

CHANNEL = "x121_jobs"
"""The NOTIFY channel every job state change is announced on (payload: `JobNotice` JSON)."""


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to enqueue. `prompt_id` is chosen here, on the client, and kept for every resubmission."""

    kind: JobKind
    inputs: Mapping[str, Any]
    prompt_id: uuid.UUID = field(default_factory=uuid.uuid4)
    priority: int = 0
    """Higher runs first (within the owner's fair share)."""
    workflow_version_id: int | None = None
    project_id: int | None = None
    take_id: int | None = None
    cache_key: str | None = None
    """`core.orchestration.cache_key.warm_start_key(...)`: 64 lower-case hex digits, or None (never reused)."""
    redispatch_allowed: bool = True
    """Whether a job whose dispatcher or server was lost may be queued again (same prompt_id)."""
    max_attempts: int = 3
    owner_id: int | None = None
    """None: the signed-in user (the database default; only a superuser may name someone else)."""
    work_estimate: float | None = None
    """Work in pixel-frames (`comfy.needs.work_estimate` of its prompt); orders a batch, largest first."""


@dataclass(frozen=True, slots=True)
class JobRow:
    id: JobId
    prompt_id: uuid.UUID
    owner_id: UserId
    kind: JobKind
    status: JobStatus
    priority: int
    inputs: Mapping[str, Any]
    cache_key: str | None
    redispatch_allowed: bool
    workflow_version_id: int | None
    project_id: int | None
    take_id: int | None
    server_id: int | None
    lease_holder: str | None
    lease_expires_at: datetime | None
    attempts: int
    """How many times the job was claimed for dispatch (a released claim does not count)."""
    max_attempts: int
    cancel_requested: bool
    error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    work_estimate: float | None = None
    """Work in pixel-frames, estimated from its prompt when it was submitted (None: unknown)."""


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this holder now leases. `attempt_no` numbers this dispatch (== job.attempts)."""

    job: JobRow
    attempt_no: int

    @property
    def id(self) -> JobId:
        return self.job.id

    @property
    def prompt_id(self) -> uuid.UUID:
        return self.job.prompt_id


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A stored input file of a job, as its upload needs it."""

    sha256: str
    rel_path: str


@dataclass(frozen=True, slots=True)
class JobEventRow:
    id: int
    job_id: JobId
    kind: JobEventKind
    attempt_no: int | None
    at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class JobOutputRow:
    file_id: FileId
    node_id: str


@dataclass(frozen=True, slots=True)
class JobFilter:
    owner_id: int | None = None
    statuses: Sequence[JobStatus] = ()
    kinds: Sequence[JobKind] = ()
    project_id: int | None = None
    before_id: int | None = None
    """Paging: only jobs with a smaller id (newest first)."""
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ReclaimedJob:
    """What `reclaim_expired` did to one job whose lease ran out."""

    job_id: JobId
    owner_id: UserId
    lost_holder: str
    status: JobStatus
    """QUEUED (for adoption; a LOST job only where re-dispatch is allowed), FAILED, or CANCELLED (cancel requested)."""
    server_id: int | None = None
    """The server its last attempt went to (where its prompt may still be queued or running)."""
    prompt_id: str = ""


class CancelOutcome(Enum):
    CANCELLED = "cancelled"
    """It was queued (or released) and is now cancelled."""
    REQUESTED = "requested"
    """It is being dispatched: its lease holder was asked to interrupt it and will end it as cancelled."""
    ALREADY_ENDED = "already_ended"
    """It had already succeeded, failed or been cancelled; nothing changed."""


class LeaseLost(X121Error):
    """A dispatcher acted on a job it no longer holds (its lease expired and was reclaimed)."""

    exit_code = 7

    def __init__(self, job_id: int, holder: str, current_holder: str | None, status: JobStatus) -> None:
        self.job_id = job_id
        self.holder = holder
        self.current_holder = current_holder
        self.status = status
        now = f"held by {current_holder}" if current_holder else "not held by anyone"
        super().__init__(
            f"Job {job_id} is no longer leased to {holder} (it is {status.code} and {now})",
            "Stop working on it: its lease expired and the queue took it back; nothing was written",
        )


class JobNotFound(NotFound):
    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        super().__init__(f"There is no job {job_id}", "Check the id with `x121 job list`")


JOB_FIELDS = [
    "id",
    "prompt_id",
    "owner_id",
    "job_kind_id",
    "job_status_id",
    "priority",
    "inputs",
    "cache_key",
    "redispatch_allowed",
    "workflow_version_id",
    "project_id",
    "take_id",
    "server_id",
    "lease_holder",
    "lease_expires_at",
    "attempts",
    "max_attempts",
    "cancel_requested",
    "error",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "work_estimate",
]


def job_columns(alias: str = "") -> str:
    """The `jobs` columns `job_from_row` reads, in order (qualified with `alias.` when given)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in JOB_FIELDS)


def job_from_row(r: Sequence[Any]) -> JobRow:
    return JobRow(
        id=JobId(r[0]),
        prompt_id=r[1],
        owner_id=UserId(r[2]),
        kind=JobKind(r[3]),
        status=JobStatus(r[4]),
        priority=int(r[5]),
        inputs=r[6],
        cache_key=r[7],
        redispatch_allowed=bool(r[8]),
        workflow_version_id=r[9],
        project_id=r[10],
        take_id=r[11],
        server_id=r[12],
        lease_holder=r[13],
        lease_expires_at=r[14],
        attempts=int(r[15]),
        max_attempts=int(r[16]),
        cancel_requested=bool(r[17]),
        error=r[18],
        created_at=r[19],
        updated_at=r[20],
        started_at=r[21],
        finished_at=r[22],
        work_estimate=None if r[23] is None else float(r[23]),
    )
