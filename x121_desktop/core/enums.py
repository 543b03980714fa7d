"""Python mirrors of the database lookup tables.

Every status, role, kind and verdict in the schema is a `smallint` foreign key to a
lookup table (`id`, unique `code`, `label`). Each table has one `LookupEnum` here whose
member value is the row id, whose lower-cased name is the code and whose label is the
human label. The migrations seed the rows with literal values, and
`tests/architecture/test_enum_sync.py` compares the migrated rows with these enums both
ways, so a new member needs one revision and one enum entry (ARCHITECTURE §6.7).

Ids are stable forever: add members with new ids, never renumber.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Self


class LookupEnum(IntEnum):
    """An IntEnum whose members are declared as `NAME = id, "Label"`."""

    _label: str

    def __new__(cls, value: int, label: str = "") -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def code(self) -> str:
        """The lookup row's `code`: the member name in lower case."""
        return self.name.lower()

    @property
    def label(self) -> str:
        """The lookup row's human `label`."""
        return self._label

    @classmethod
    def from_code(cls, code: str) -> Self:
        """The member whose code is `code`; ValueError if there is none."""
        try:
            return cls[code.upper()]
        except KeyError:
            raise ValueError(f"{cls.__name__} has no code {code!r}") from None


class UserRole(LookupEnum):
    ADMIN = 1, "Administrator"
    CREATOR = 2, "Creator"
    REVIEWER = 3, "Reviewer"


class ProjectStatus(LookupEnum):
    ACTIVE = 1, "Active"
    ON_HOLD = 2, "On hold"
    DELIVERED = 3, "Delivered"
    ARCHIVED = 4, "Archived"


class CharacterMode(LookupEnum):
    FORWARD = 1, "Forward (A to B)"
    REVERSE = 2, "Reverse (B to A)"
    MANUAL = 3, "Manual"


class SeedKind(LookupEnum):
    A = 1, "Seed A"
    B = 2, "Seed B"


class SeedOrigin(LookupEnum):
    GIVEN = 1, "Given"
    GENERATED = 2, "Generated"
    MERGED = 3, "Merged"
    REFINED = 4, "Refined"


class SceneStatus(LookupEnum):
    DRAFT = 1, "Draft"
    PLANNED = 2, "Planned"
    IN_PROGRESS = 3, "In progress"
    IN_REVIEW = 4, "In review"
    APPROVED = 5, "Approved"
    DELIVERED = 6, "Delivered"
    ARCHIVED = 7, "Archived"


class SegmentStatus(LookupEnum):
    PLANNED = 1, "Planned"
    QUEUED = 2, "Queued"
    GENERATING = 3, "Generating"
    GENERATED = 4, "Generated"
    IN_REVIEW = 5, "In review"
    APPROVED = 6, "Approved"
    REJECTED = 7, "Rejected"
    STALE = 8, "Stale"
    NEEDS_REGEN = 9, "Needs regeneration"
    FAILED = 10, "Failed"
    CANCELLED = 11, "Cancelled"


class TakeStatus(LookupEnum):
    PENDING = 1, "Pending"
    GENERATING = 2, "Generating"
    READY = 3, "Ready"
    APPROVED = 4, "Approved"
    REJECTED = 5, "Rejected"
    SUPERSEDED = 6, "Superseded"
    FAILED = 7, "Failed"
    CANCELLED = 8, "Cancelled"


class TakeReason(LookupEnum):
    INITIAL = 1, "Initial generation"
    REGENERATE = 2, "Regenerate"
    HEAL = 3, "Seam heal"
    RECHAIN = 4, "Re-chain from new start frame"
    RESTORE = 5, "Restore earlier take"
    VARIANT = 6, "Variant"
    TRIM = 7, "Trim"
    IMPORT = 8, "Imported"


class StitchMode(LookupEnum):
    SIMPLE = 1, "Simple (cut)"
    ADVANCED = 2, "Advanced (overlap, trim, heal)"


class SeedPolicy(LookupEnum):
    FIXED = 1, "Fixed seed"
    INCREMENT = 2, "Increment per segment"
    RANDOM = 3, "Random per take"
    INHERIT = 4, "Inherit from parent take"


class SeamGrade(LookupEnum):
    GREEN = 1, "Green"
    AMBER = 2, "Amber"
    RED = 3, "Red"


class JobStatus(LookupEnum):
    QUEUED = 1, "Queued"
    CLAIMED = 2, "Claimed"
    UPLOADING = 3, "Uploading inputs"
    SUBMITTED = 4, "Submitted"
    RUNNING = 5, "Running"
    DOWNLOADING = 6, "Downloading outputs"
    SUCCEEDED = 7, "Succeeded"
    FAILED = 8, "Failed"
    CANCELLED = 9, "Cancelled"
    LOST = 10, "Lost"
    HELD = 11, "On hold"


class JobKind(LookupEnum):
    GENERATE = 1, "Generate segment"
    HEAL = 2, "Heal seam"
    SEED_GENERATE = 3, "Generate seed image"
    SEED_MERGE = 4, "Merge seed images"
    UPSCALE = 5, "Upscale"
    INTERPOLATE = 6, "Frame interpolation"
    SCRIPT = 7, "Refinement script"
    ANALYZE = 8, "Analyze media"
    EXPORT = 9, "Export"
    EDITOR_TEST_RUN = 10, "Editor test run"


class JobEventKind(LookupEnum):
    CREATED = 1, "Created"
    CLAIMED = 2, "Claimed"
    UPLOADED = 3, "Inputs uploaded"
    SUBMITTED = 4, "Submitted"
    STARTED = 5, "Started"
    PROGRESS = 6, "Progress"
    NODE_STARTED = 7, "Node started"
    NODE_FINISHED = 8, "Node finished"
    OUTPUT_STORED = 9, "Output stored"
    SUCCEEDED = 10, "Succeeded"
    FAILED = 11, "Failed"
    CANCEL_REQUESTED = 12, "Cancel requested"
    CANCELLED = 13, "Cancelled"
    LEASE_EXPIRED = 14, "Lease expired"
    LOST = 15, "Lost"
    REQUEUED = 16, "Requeued"
    LOG = 17, "Log line"
    HELD = 18, "Put on hold"
    RELEASED = 19, "Released from hold"


class ServerStatus(LookupEnum):
    ONLINE = 1, "Online"
    BUSY = 2, "Busy"
    DRAINING = 3, "Draining"
    OFFLINE = 4, "Offline"
    ERRORED = 5, "Errored"


class CapabilityKind(LookupEnum):
    NODE_TYPE = 1, "Node type"
    MODEL = 2, "Model file"


class FileKind(LookupEnum):
    IMAGE = 1, "Image"
    VIDEO = 2, "Video"
    AUDIO = 3, "Audio"
    PROXY = 4, "Proxy video"
    THUMBNAIL = 5, "Thumbnail"
    MASK = 6, "Mask"
    WORKFLOW = 7, "Workflow document"
    EXPORT = 8, "Export"
    OTHER = 9, "Other"


class RetentionClass(LookupEnum):
    PERMANENT = 1, "Permanent"
    DELIVERABLE = 2, "Deliverable"
    WORKING = 3, "Working"
    SCRATCH = 4, "Scratch"
    CACHE = 5, "Cache"


class Verdict(LookupEnum):
    APPROVE = 1, "Approve"
    REJECT = 2, "Reject"
    FLAG = 3, "Flag"


class AnnotationKind(LookupEnum):
    FREEHAND = 1, "Freehand"
    ARROW = 2, "Arrow"
    RECTANGLE = 3, "Rectangle"
    ELLIPSE = 4, "Ellipse"
    TEXT = 5, "Text"
    VOICE = 6, "Voice note"
    MARKER = 7, "Marker"


class ActivityKind(LookupEnum):
    PROJECT_CREATED = 1, "Project created"
    CHARACTER_CREATED = 2, "Character created"
    SEED_ADDED = 3, "Seed image added"
    HERO_CHOSEN = 4, "Hero seed chosen"
    SCENE_CREATED = 5, "Scene created"
    SEGMENT_PLANNED = 6, "Segment planned"
    JOB_QUEUED = 7, "Job queued"
    JOB_SUCCEEDED = 8, "Job succeeded"
    JOB_FAILED = 9, "Job failed"
    TAKE_CREATED = 10, "Take created"
    VERDICT_GIVEN = 11, "Verdict given"
    TAKE_APPROVED = 12, "Final approval"
    SEAM_GRADED = 13, "Seam graded"
    COMMENT_ADDED = 14, "Comment added"
    ANNOTATION_ADDED = 15, "Annotation added"
    WORKFLOW_VERSIONED = 16, "Workflow version saved"
    SERVER_CHANGED = 17, "Server changed"
    USER_CHANGED = 18, "User changed"
    LOCK_TAKEN = 19, "Lock taken"
    LOCK_RELEASED = 20, "Lock released"
    LOCK_BROKEN = 21, "Lock broken"


class NotificationKind(LookupEnum):
    MENTION = 1, "Mention"
    REPLY = 2, "Reply"
    VERDICT = 3, "Verdict"
    APPROVAL = 4, "Final approval"
    JOB_FINISHED = 5, "Job finished"
    JOB_FAILED = 6, "Job failed"
    LOCK_RELEASED = 7, "Lock released"
    SYSTEM = 8, "System"


LOOKUP_ENUMS: dict[str, type[LookupEnum]] = {
    "user_role": UserRole,
    "project_status": ProjectStatus,
    "character_mode": CharacterMode,
    "seed_kind": SeedKind,
    "seed_origin": SeedOrigin,
    "scene_status": SceneStatus,
    "segment_status": SegmentStatus,
    "take_status": TakeStatus,
    "take_reason": TakeReason,
    "stitch_mode": StitchMode,
    "seed_policy": SeedPolicy,
    "seam_grade": SeamGrade,
    "job_status": JobStatus,
    "job_kind": JobKind,
    "job_event_kind": JobEventKind,
    "server_status": ServerStatus,
    "capability_kind": CapabilityKind,
    "file_kind": FileKind,
    "retention_class": RetentionClass,
    "verdict": Verdict,
    "annotation_kind": AnnotationKind,
    "activity_kind": ActivityKind,
    "notification_kind": NotificationKind,
}
"""Lookup table name → the enum that mirrors it."""
