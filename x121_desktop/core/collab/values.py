"""Frozen values the collaboration services return: presence, locks, feed items, notifications, link targets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from x121_desktop.core.enums import ActivityKind, NotificationKind
from x121_desktop.core.ids import CommentId, JobId, ProjectId, SceneId, SegmentId, TakeId, UserId


class LockKind(StrEnum):
    SEGMENT = "segment"
    WORKFLOW = "workflow"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a user is looking; every part optional."""

    project_id: ProjectId | None = None
    scene_id: SceneId | None = None
    segment_id: SegmentId | None = None
    take_id: TakeId | None = None
    frame: int | None = None


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    user_id: UserId
    user_name: str
    display_name: str
    machine: str
    location: Location
    heartbeat_at: datetime
    age_s: float
    """Seconds since the heartbeat, by the database clock."""


@dataclass(frozen=True, slots=True)
class PresenceSnapshot:
    entries: tuple[PresenceEntry, ...]
    timeout_s: int
    next_expiry_s: float | None
    """When to look again even without a notification (the oldest fresh heartbeat times out)."""

    def at_scene(self, scene_id: int) -> tuple[PresenceEntry, ...]:
        return tuple(e for e in self.entries if e.location.scene_id == scene_id)

    def at_segment(self, segment_id: int) -> tuple[PresenceEntry, ...]:
        return tuple(e for e in self.entries if e.location.segment_id == segment_id)


@dataclass(frozen=True, slots=True)
class LockInfo:
    """A lock as everyone sees it."""

    kind: LockKind
    target_id: int
    holder_id: UserId
    holder_name: str
    machine: str
    expires_at: datetime
    db_now: datetime

    @property
    def live(self) -> bool:
        return self.expires_at > self.db_now

    @property
    def remaining(self) -> timedelta:
        return max(self.expires_at - self.db_now, timedelta(0))


@dataclass(frozen=True, slots=True)
class LockGrant:
    """A lease this client holds: keep the token to renew, release, and write under it."""

    kind: LockKind
    target_id: int
    token: uuid.UUID
    machine: str
    ttl_s: int
    expires_at: datetime
    granted_at: datetime
    """Database time of the grant (or last renewal)."""


@dataclass(frozen=True, slots=True)
class ActivityItem:
    id: int
    kind: ActivityKind
    at: datetime
    actor_id: UserId
    actor_name: str
    project_id: ProjectId | None
    segment_id: SegmentId | None
    take_id: TakeId | None
    job_id: JobId | None
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class NotificationItem:
    id: int
    kind: NotificationKind
    event: ActivityItem
    read: bool


@dataclass(frozen=True, slots=True)
class CommentPosted:
    comment_id: CommentId
    event_id: int
    mentioned: tuple[str, ...]
    link: str | None


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """A deep link resolved against the database: the rows it names, checked to belong together."""

    project_id: ProjectId
    scene_id: SceneId
    segment_id: SegmentId | None
    segment_number: int | None
    take_id: TakeId | None
    frame: int | None
    scene_name: str
    take_frames: int | None
