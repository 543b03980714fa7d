"""Every lookup table: fixed smallint id, unique code, label. Rows are seeded by migrations.

Each class mirrors the `LookupEnum` of the same name in `x121_desktop.core.enums`.
"""

from __future__ import annotations

from x121_desktop.db.base import Base, LookupMixin


class UserRoleRow(LookupMixin, Base):
    __tablename__ = "user_role"


class ProjectStatusRow(LookupMixin, Base):
    __tablename__ = "project_status"


class CharacterModeRow(LookupMixin, Base):
    __tablename__ = "character_mode"


class SeedKindRow(LookupMixin, Base):
    __tablename__ = "seed_kind"


class SeedOriginRow(LookupMixin, Base):
    __tablename__ = "seed_origin"


class SceneStatusRow(LookupMixin, Base):
    __tablename__ = "scene_status"


class SegmentStatusRow(LookupMixin, Base):
    __tablename__ = "segment_status"


class TakeStatusRow(LookupMixin, Base):
    __tablename__ = "take_status"


class TakeReasonRow(LookupMixin, Base):
    __tablename__ = "take_reason"


class StitchModeRow(LookupMixin, Base):
    __tablename__ = "stitch_mode"


class SeedPolicyRow(LookupMixin, Base):
    __tablename__ = "seed_policy"


class SeamGradeRow(LookupMixin, Base):
    __tablename__ = "seam_grade"


class JobStatusRow(LookupMixin, Base):
    __tablename__ = "job_status"


class JobKindRow(LookupMixin, Base):
    __tablename__ = "job_kind"


class JobEventKindRow(LookupMixin, Base):
    __tablename__ = "job_event_kind"


class ServerStatusRow(LookupMixin, Base):
    __tablename__ = "server_status"


class CapabilityKindRow(LookupMixin, Base):
    __tablename__ = "capability_kind"


class FileKindRow(LookupMixin, Base):
    __tablename__ = "file_kind"


class RetentionClassRow(LookupMixin, Base):
    __tablename__ = "retention_class"


class VerdictRow(LookupMixin, Base):
    __tablename__ = "verdict"


class AnnotationKindRow(LookupMixin, Base):
    __tablename__ = "annotation_kind"


class ActivityKindRow(LookupMixin, Base):
    __tablename__ = "activity_kind"


class NotificationKindRow(LookupMixin, Base):
    __tablename__ = "notification_kind"


LOOKUP_ROWS: tuple[type[LookupMixin], ...] = (
    UserRoleRow,
    ProjectStatusRow,
    CharacterModeRow,
    SeedKindRow,
    SeedOriginRow,
    SceneStatusRow,
    SegmentStatusRow,
    TakeStatusRow,
    TakeReasonRow,
    StitchModeRow,
    SeedPolicyRow,
    SeamGradeRow,
    JobStatusRow,
    JobKindRow,
    JobEventKindRow,
    ServerStatusRow,
    CapabilityKindRow,
    FileKindRow,
    RetentionClassRow,
    VerdictRow,
    AnnotationKindRow,
    ActivityKindRow,
    NotificationKindRow,
)
