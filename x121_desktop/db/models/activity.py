"""Activity aggregate: the append-only studio feed and per-user notifications about it.

The feed outlives what it mentions: optional segment/take/job pointers are SET NULL when
those rows go (the event's `data` keeps names for display); the project pointer is RESTRICT
(projects are archived, not deleted). A notification is one delivery of an event to a user
and goes with its event (CASCADE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped

from x121_desktop.db.base import Base, Document, big_pk, created_at, document, fk, lookup_fk, user_fk


class ActivityEvent(Base):
    __tablename__ = "activity_events"
    __table_args__ = (Index("ix_activity_events_project_id_id", "project_id", "id"),)

    id: Mapped[int] = big_pk()
    project_id: Mapped[int | None] = fk("projects.id", nullable=True)
    actor_id: Mapped[int] = user_fk(index=True)
    activity_kind_id: Mapped[int] = lookup_fk("activity_kind")
    at: Mapped[datetime] = created_at()
    data: Mapped[Document] = document()
    segment_id: Mapped[int | None] = fk("segments.id", ondelete="SET NULL", nullable=True, index=True)
    take_id: Mapped[int | None] = fk("takes.id", ondelete="SET NULL", nullable=True, index=True)
    job_id: Mapped[int | None] = fk("jobs.id", ondelete="SET NULL", nullable=True, index=True)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "activity_event_id"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    id: Mapped[int] = big_pk()
    user_id: Mapped[int] = fk("users.id")
    notification_kind_id: Mapped[int] = lookup_fk("notification_kind")
    activity_event_id: Mapped[int] = fk("activity_events.id", ondelete="CASCADE", index=True, type_=BigInteger)
    created_at: Mapped[datetime] = created_at()
    read_at: Mapped[datetime | None]
