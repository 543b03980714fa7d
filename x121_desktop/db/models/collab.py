"""Collaboration aggregate: advisory edit locks and live presence.

Locks expire (`expires_at`) and are renewed by heartbeat; a lock goes with the thing it locks
(CASCADE). `lease_token` names one acquisition (revision 0006), so two processes of one user are
told apart; locks change only through the `x121_*_lock` functions of that revision.
Presence is ephemeral: its location pointers are SET NULL when the row they point at goes; the
user pointer is RESTRICT like every authored row.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import Base, created_at, fk, user_fk


class SegmentLock(Base):
    __tablename__ = "segment_locks"
    __table_args__ = (CheckConstraint("expires_at > acquired_at", name="expires_after_acquired"),)

    segment_id: Mapped[int] = fk("segments.id", ondelete="CASCADE", primary_key=True)
    holder_id: Mapped[int] = user_fk(index=True)
    machine: Mapped[str]
    acquired_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime]
    lease_token: Mapped[uuid.UUID] = mapped_column(Uuid, server_default=text("gen_random_uuid()"), unique=True)


class WorkflowLock(Base):
    __tablename__ = "workflow_locks"
    __table_args__ = (CheckConstraint("expires_at > acquired_at", name="expires_after_acquired"),)

    workflow_id: Mapped[int] = fk("workflows.id", ondelete="CASCADE", primary_key=True)
    holder_id: Mapped[int] = user_fk(index=True)
    machine: Mapped[str]
    acquired_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime]
    lease_token: Mapped[uuid.UUID] = mapped_column(Uuid, server_default=text("gen_random_uuid()"), unique=True)


class Presence(Base):
    """Where a user is looking right now, per machine (heartbeat-refreshed)."""

    __tablename__ = "presence"
    __table_args__ = (
        CheckConstraint("frame IS NULL OR frame >= 0", name="frame_not_negative"),
        Index("ix_presence_project_heartbeat", "project_id", "heartbeat_at"),
    )

    user_id: Mapped[int] = fk("users.id", primary_key=True)
    machine: Mapped[str] = mapped_column(Text, primary_key=True)
    project_id: Mapped[int | None] = fk("projects.id", ondelete="SET NULL", nullable=True)
    scene_id: Mapped[int | None] = fk("scenes.id", ondelete="SET NULL", nullable=True)
    segment_id: Mapped[int | None] = fk("segments.id", ondelete="SET NULL", nullable=True)
    take_id: Mapped[int | None] = fk("takes.id", ondelete="SET NULL", nullable=True)
    frame: Mapped[int | None]
    heartbeat_at: Mapped[datetime] = created_at()
