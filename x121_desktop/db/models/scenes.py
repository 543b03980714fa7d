"""Scenes aggregate: a scene, its ordered segments, each segment's take tree, and the seams.

Inside the aggregate deletes CASCADE (scene → segments → takes; scene/takes → seams); from
outside, approvals, verdicts, annotations, comments and jobs refer to takes with RESTRICT, so
a scene whose takes were reviewed or rendered cannot be deleted by accident.

Cycles are broken with `use_alter`: `segments.current_take_id` → takes (SET NULL: the pointer
clears if its take goes) and `takes.job_id` → jobs (jobs also point at their take).
`takes.parent_take_id` is NO ACTION, not RESTRICT: a whole tree can go with its segment in one
statement, but a single parent take cannot be deleted while children remain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import REAL, BigInteger, CheckConstraint, Integer, UniqueConstraint, text
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


class Scene(Base):
    __tablename__ = "scenes"
    __table_args__ = (
        UniqueConstraint("character_id", "name"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint("min_frames > 0 AND max_frames >= min_frames", name="frame_range"),
        CheckConstraint("fps_num > 0 AND fps_den > 0", name="fps_positive"),
        CheckConstraint("likeness_weight >= 0", name="likeness_weight_not_negative"),
    )

    id: Mapped[int] = pk()
    character_id: Mapped[int] = fk("characters.id")
    name: Mapped[str]
    scene_status_id: Mapped[int] = lookup_fk("scene_status")
    workflow_version_id: Mapped[int | None] = fk("workflow_versions.id", nullable=True, index=True)
    min_frames: Mapped[int]
    """Shortest acceptable scene length, in frames."""
    max_frames: Mapped[int]
    """Longest acceptable scene length, in frames."""
    fps_num: Mapped[int] = mapped_column(Integer, server_default=text("24"))
    fps_den: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    prompt: Mapped[str] = text_default()
    negative_prompt: Mapped[str] = text_default()
    seed_policy_id: Mapped[int] = lookup_fk("seed_policy")
    base_seed: Mapped[int | None] = mapped_column(BigInteger)
    likeness_weight: Mapped[float] = mapped_column(REAL, server_default=text("1.0"))
    stitch_mode_id: Mapped[int] = lookup_fk("stitch_mode")
    settings: Mapped[Document] = document()
    """Generation settings: `params` (fixed workflow parameters) and `limits` (planning frame limits)."""
    created_by: Mapped[int] = user_fk()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (
        # Deferred so segments can be reordered in one transaction.
        UniqueConstraint("scene_id", "position", deferrable=True, initially="DEFERRED"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("planned_frames > 0", name="planned_frames_positive"),
    )

    id: Mapped[int] = pk()
    scene_id: Mapped[int] = fk("scenes.id", ondelete="CASCADE")
    position: Mapped[int]
    segment_status_id: Mapped[int] = lookup_fk("segment_status", index=True)
    prompt: Mapped[str | None]
    """Overrides the scene prompt for this segment when set."""
    planned_frames: Mapped[int]
    current_take_id: Mapped[int | None] = fk("takes.id", ondelete="SET NULL", nullable=True, use_alter=True, index=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Take(Base):
    """One rendered (or pending) version of a segment; `parent_take_id` forms the version tree."""

    __tablename__ = "takes"
    __table_args__ = (
        CheckConstraint("parent_take_id <> id", name="parent_not_self"),
        CheckConstraint("cut_frame IS NULL OR cut_frame >= 0", name="cut_frame_not_negative"),
        CheckConstraint("frame_count IS NULL OR frame_count > 0", name="frame_count_positive"),
        CheckConstraint("cut_frame IS NULL OR frame_count IS NULL OR cut_frame < frame_count", name="cut_inside_take"),
    )

    id: Mapped[int] = pk()
    segment_id: Mapped[int] = fk("segments.id", ondelete="CASCADE", index=True)
    parent_take_id: Mapped[int | None] = fk("takes.id", ondelete="NO ACTION", nullable=True, index=True)
    take_reason_id: Mapped[int] = lookup_fk("take_reason")
    take_status_id: Mapped[int] = lookup_fk("take_status")
    file_id: Mapped[int | None] = fk("files.id", nullable=True, index=True)
    """The rendered video; NULL until the job stores it."""
    start_file_id: Mapped[int | None] = fk("files.id", nullable=True)
    """The start frame image the take was generated from (seed or previous cut frame)."""
    job_id: Mapped[int | None] = fk("jobs.id", nullable=True, use_alter=True, index=True)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    cut_frame: Mapped[int | None]
    """Frame index where the next segment chains from (and this take is cut)."""
    frame_count: Mapped[int | None]
    likeness_distance: Mapped[float | None] = mapped_column(REAL)
    """Mean face-embedding L2 distance from the hero seed; lower is closer."""
    created_by: Mapped[int] = user_fk()
    created_at: Mapped[datetime] = created_at()


class Seam(Base):
    """The measured join between two consecutive takes, its grade and the remedy applied."""

    __tablename__ = "seams"
    __table_args__ = (
        UniqueConstraint("left_take_id", "right_take_id"),
        CheckConstraint("left_take_id <> right_take_id", name="distinct_takes"),
    )

    id: Mapped[int] = pk()
    scene_id: Mapped[int] = fk("scenes.id", ondelete="CASCADE", index=True)
    left_take_id: Mapped[int] = fk("takes.id", ondelete="CASCADE")
    right_take_id: Mapped[int] = fk("takes.id", ondelete="CASCADE", index=True)
    seam_grade_id: Mapped[int] = lookup_fk("seam_grade")
    score: Mapped[float] = mapped_column(REAL)
    metrics: Mapped[Document] = document()
    remedy: Mapped[Document | None] = document(nullable=True)
    measured_at: Mapped[datetime] = created_at()
