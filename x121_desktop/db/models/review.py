"""Review aggregate: final approvals, reviewer verdicts, frame annotations, comments, mentions.

Review rows refer to takes, segments and projects with RESTRICT (reviewed work cannot vanish
under its review). Inside the aggregate: replies and mentions go with their comment (CASCADE).
Final approval (`approvals`, one per take) is separate from verdicts: any reviewer votes,
only creators and admins approve (enforced by the security migration).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import (
    Base,
    Document,
    created_at,
    document,
    fk,
    lookup_fk,
    pk,
    text_default,
    updated_at,
    user_fk,
)


class Approval(Base):
    """FINAL approval of a take."""

    __tablename__ = "approvals"

    id: Mapped[int] = pk()
    take_id: Mapped[int] = fk("takes.id")
    approved_by: Mapped[int] = user_fk()
    approved_at: Mapped[datetime] = created_at()
    note: Mapped[str] = text_default()

    __table_args__ = (UniqueConstraint("take_id"),)


class Verdict(Base):
    """One reviewer's vote on a take (changeable; history lives in activity events)."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("take_id", "reviewer_id"),)

    id: Mapped[int] = pk()
    take_id: Mapped[int] = fk("takes.id")
    reviewer_id: Mapped[int] = user_fk(index=True)
    verdict_id: Mapped[int] = lookup_fk("verdict")
    note: Mapped[str] = text_default()
    created_at: Mapped[datetime] = created_at()


class Annotation(Base):
    """A drawing, marker or voice note on a frame range of a take."""

    __tablename__ = "annotations"
    __table_args__ = (
        CheckConstraint("frame_start >= 0", name="frame_start_not_negative"),
        CheckConstraint("frame_count >= 1", name="frame_count_positive"),
    )

    id: Mapped[int] = pk()
    take_id: Mapped[int] = fk("takes.id", index=True)
    author_id: Mapped[int] = user_fk()
    annotation_kind_id: Mapped[int] = lookup_fk("annotation_kind")
    frame_start: Mapped[int]
    frame_count: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    data: Mapped[Document] = document()
    """Shapes in normalised frame coordinates, colour, text."""
    voice_file_id: Mapped[int | None] = fk("files.id", nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Comment(Base):
    """A comment on a project, optionally pinned to a segment, a take and a frame."""

    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint("length(btrim(body)) > 0", name="body_not_blank"),
        CheckConstraint("frame IS NULL OR frame >= 0", name="frame_not_negative"),
        CheckConstraint("frame IS NULL OR take_id IS NOT NULL", name="frame_needs_take"),
        CheckConstraint("parent_comment_id <> id", name="parent_not_self"),
    )

    id: Mapped[int] = pk()
    project_id: Mapped[int] = fk("projects.id", index=True)
    segment_id: Mapped[int | None] = fk("segments.id", nullable=True, index=True)
    take_id: Mapped[int | None] = fk("takes.id", nullable=True, index=True)
    parent_comment_id: Mapped[int | None] = fk("comments.id", ondelete="CASCADE", nullable=True, index=True)
    frame: Mapped[int | None]
    author_id: Mapped[int] = user_fk()
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    edited_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class CommentMention(Base):
    __tablename__ = "comment_mentions"

    comment_id: Mapped[int] = fk("comments.id", ondelete="CASCADE", primary_key=True)
    user_id: Mapped[int] = fk("users.id", primary_key=True, index=True)
