"""Jobs aggregate: the shared queue, each job's attempts, event log, outputs, timings and cost.

Claims use `FOR UPDATE SKIP LOCKED` over `ix_jobs_claim` plus a lease (`lease_holder`,
`lease_expires_at`) renewed by heartbeat; resubmission reuses the client-chosen `prompt_id`.
Attempts, events, outputs and node timings go with their job (CASCADE); cost records are
accounting and keep their job (RESTRICT), as do the takes and seeds a job produced.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CHAR, CheckConstraint, Index, Integer, Numeric, SmallInteger, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import (
    Base,
    Document,
    big_pk,
    created_at,
    document,
    fk,
    flag,
    lookup_fk,
    pk,
    updated_at,
    user_fk,
)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("work_estimate >= 0", name="work_estimate_not_negative"),
        CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
        CheckConstraint("cache_key IS NULL OR cache_key ~ '^[0-9a-f]{64}$'", name="cache_key_hex"),
        CheckConstraint("(lease_holder IS NULL) = (lease_expires_at IS NULL)", name="lease_complete"),
        Index("ix_jobs_claim", "job_status_id", "priority", "created_at"),
        # Queued jobs only (status 1 = QUEUED), each owner's in claim order: the fair-share claim
        # reads owners by skip scan and each owner's first jobs from here (revisions 0003, 0010).
        Index(
            "ix_jobs_queued_owner",
            "owner_id",
            text("priority DESC"),
            "created_at",
            text("work_estimate DESC NULLS LAST"),
            "id",
            postgresql_where=text("job_status_id = 1"),
        ),
    )

    id: Mapped[int] = pk()
    prompt_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    """Client-chosen ComfyUI prompt id; reused when the job is resubmitted."""
    owner_id: Mapped[int] = user_fk(index=True)
    project_id: Mapped[int | None] = fk("projects.id", nullable=True, index=True)
    workflow_version_id: Mapped[int | None] = fk("workflow_versions.id", nullable=True)
    job_kind_id: Mapped[int] = lookup_fk("job_kind")
    job_status_id: Mapped[int] = lookup_fk("job_status")
    priority: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    """Higher runs first."""
    inputs: Mapped[Document] = document()
    cache_key: Mapped[str | None] = mapped_column(CHAR(64), index=True)
    """sha256 of workflow version + inputs; an equal succeeded job can be reused."""
    redispatch_allowed: Mapped[bool] = flag(default=True)
    take_id: Mapped[int | None] = fk("takes.id", nullable=True, index=True)
    """The take this job renders into, if any."""
    server_id: Mapped[int | None] = fk("comfy_servers.id", nullable=True, index=True)
    lease_holder: Mapped[str | None]
    """`machine:pid` of the claiming client."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_login: Mapped[str | None]
    """The login that claimed the job (or refused it, or took it back after its lease lapsed); written by
    the database's trigger, never by clients (revision 0012, docs/SECURITY.md)."""
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("3"))
    cancel_requested: Mapped[bool] = flag()
    error: Mapped[str | None]
    """The last failure, as reported to a person."""
    work_estimate: Mapped[float | None]
    """Work in pixel-frames (`comfy.needs.work_estimate`), set at submission; orders a batch, largest first."""
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class JobAttempt(Base):
    """One dispatch of a job to a server."""

    __tablename__ = "job_attempts"
    __table_args__ = (
        UniqueConstraint("job_id", "attempt_no"),
        CheckConstraint("attempt_no >= 1", name="attempt_no_positive"),
        CheckConstraint("finished_at IS NULL OR finished_at >= started_at", name="finished_after_start"),
    )

    id: Mapped[int] = pk()
    job_id: Mapped[int] = fk("jobs.id", ondelete="CASCADE")
    attempt_no: Mapped[int]
    server_id: Mapped[int] = fk("comfy_servers.id", index=True)
    job_status_id: Mapped[int] = lookup_fk("job_status")
    """Where this attempt ended (or stands)."""
    lease_holder: Mapped[str]
    started_at: Mapped[datetime] = created_at()
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None]


class JobEvent(Base):
    """Append-only event log of a job (state changes, progress, node events)."""

    __tablename__ = "job_events"
    __table_args__ = (Index("ix_job_events_job_id_id", "job_id", "id"),)

    id: Mapped[int] = big_pk()
    job_id: Mapped[int] = fk("jobs.id", ondelete="CASCADE")
    job_event_kind_id: Mapped[int] = lookup_fk("job_event_kind")
    attempt_no: Mapped[int | None]
    at: Mapped[datetime] = created_at()
    data: Mapped[Document] = document()


class JobOutput(Base):
    """A stored file a job produced, and the node that produced it."""

    __tablename__ = "job_outputs"
    __table_args__ = (UniqueConstraint("job_id", "node_id", "file_id"),)

    id: Mapped[int] = pk()
    job_id: Mapped[int] = fk("jobs.id", ondelete="CASCADE")
    file_id: Mapped[int] = fk("files.id", index=True)
    node_id: Mapped[str] = mapped_column(Text)


class NodeTiming(Base):
    """How long one node of a job ran on a server (execution time, for speed estimates)."""

    __tablename__ = "node_timings"
    __table_args__ = (
        CheckConstraint("seconds >= 0", name="seconds_not_negative"),
        Index("ix_node_timings_class_server", "class_type", "server_id"),
    )

    id: Mapped[int] = big_pk()
    job_id: Mapped[int] = fk("jobs.id", ondelete="CASCADE", index=True)
    node_id: Mapped[str]
    class_type: Mapped[str]
    server_id: Mapped[int] = fk("comfy_servers.id")
    seconds: Mapped[float]
    recorded_at: Mapped[datetime] = created_at()


class CostRecord(Base):
    """GPU time billed to a job on a server, at the rate in force then."""

    __tablename__ = "cost_records"
    __table_args__ = (
        CheckConstraint("gpu_seconds >= 0", name="gpu_seconds_not_negative"),
        CheckConstraint("rate_per_hour >= 0", name="rate_not_negative"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = pk()
    job_id: Mapped[int] = fk("jobs.id", index=True)
    server_id: Mapped[int] = fk("comfy_servers.id", index=True)
    gpu_seconds: Mapped[float]
    rate_per_hour: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    cost: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    recorded_at: Mapped[datetime] = created_at()


class JobQueuePause(Base):
    """A paused queue (revision 0013): one user's (`user_id`) or, with `user_id` NULL, the whole studio's.

    A row means paused. Written only through `x121_pause_queue` / `x121_resume_queue` (docs/SECURITY.md,
    "Jobs on hold"); everyone may read it (each client shows who paused what).
    """

    __tablename__ = "job_queue_pauses"
    __table_args__ = (UniqueConstraint("user_id", postgresql_nulls_not_distinct=True),)

    id: Mapped[int] = pk()
    user_id: Mapped[int | None] = fk("users.id", ondelete="CASCADE", nullable=True)
    """Whose queue; NULL: the studio's (no job is claimed while that row exists)."""
    paused_by: Mapped[int] = user_fk()
    paused_at: Mapped[datetime] = created_at()
