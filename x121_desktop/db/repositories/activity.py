"""The studio feed, comments with mentions, per-user notifications, and deep-link lookups. Never commits.

Everything runs as the signed-in role under the policies of revision 0002: events are authored by
the caller (`actor_id` defaults to them), mentions belong to the comment's author, and a caller may
notify others only about an event they caused (so no RETURNING on those inserts).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.collab.deeplink import DeepLink
from x121_desktop.core.collab.values import ActivityItem, LinkTarget, NotificationItem
from x121_desktop.core.enums import ActivityKind, NotificationKind
from x121_desktop.core.ids import CommentId, JobId, ProjectId, SceneId, SegmentId, TakeId, UserId

_EVENT_COLUMNS = (
    "e.id, e.activity_kind_id, e.at, e.actor_id, u.role_name, e.project_id, e.segment_id, e.take_id, e.job_id, e.data"
)


@dataclass(frozen=True, slots=True)
class FeedFilter:
    project_id: int | None = None
    actor_id: int | None = None
    kinds: tuple[ActivityKind, ...] = ()
    before_id: int | None = None
    after_id: int | None = None
    limit: int = 200


def _item(r: Sequence[Any]) -> ActivityItem:
    return ActivityItem(
        id=int(r[0]),
        kind=ActivityKind(r[1]),
        at=r[2],
        actor_id=UserId(r[3]),
        actor_name=r[4],
        project_id=None if r[5] is None else ProjectId(r[5]),
        segment_id=None if r[6] is None else SegmentId(r[6]),
        take_id=None if r[7] is None else TakeId(r[7]),
        job_id=None if r[8] is None else JobId(r[8]),
        data=dict(r[9] or {}),
    )


def feed(conn: Connection, where: FeedFilter) -> list[ActivityItem]:
    """Newest first."""
    rows = conn.execute(
        text(
            f"SELECT {_EVENT_COLUMNS} FROM activity_events e JOIN users u ON u.id = e.actor_id "
            "WHERE (CAST(:project AS integer) IS NULL OR e.project_id = :project) "
            "AND (CAST(:actor AS integer) IS NULL OR e.actor_id = :actor) "
            "AND (cardinality(CAST(:kinds AS smallint[])) = 0 OR e.activity_kind_id = ANY(:kinds)) "
            "AND (CAST(:before AS bigint) IS NULL OR e.id < :before) "
            "AND (CAST(:after AS bigint) IS NULL OR e.id > :after) "
            "ORDER BY e.id DESC LIMIT :limit"
        ),
        {
            "project": where.project_id,
            "actor": where.actor_id,
            "kinds": [int(k) for k in where.kinds],
            "before": where.before_id,
            "after": where.after_id,
            "limit": max(1, min(where.limit, 1000)),
        },
    ).all()
    return [_item(r) for r in rows]


def event(conn: Connection, event_id: int) -> ActivityItem | None:
    row = conn.execute(
        text(f"SELECT {_EVENT_COLUMNS} FROM activity_events e JOIN users u ON u.id = e.actor_id WHERE e.id = :id"),
        {"id": event_id},
    ).one_or_none()
    return None if row is None else _item(row)


def add_event(
    conn: Connection,
    kind: ActivityKind,
    data: Mapping[str, Any],
    *,
    project_id: int | None = None,
    segment_id: int | None = None,
    take_id: int | None = None,
    job_id: int | None = None,
) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO activity_events (project_id, activity_kind_id, data, segment_id, take_id, job_id) "
                "VALUES (:p, :k, CAST(:d AS jsonb), :s, :t, :j) RETURNING id"
            ),
            {
                "p": project_id,
                "k": int(kind),
                "d": json.dumps(dict(data), default=str),
                "s": segment_id,
                "t": take_id,
                "j": job_id,
            },
        ).scalar_one()
    )


def users_by_name(conn: Connection, names: Iterable[str]) -> dict[str, UserId]:
    """Active users among `names` (login role names)."""
    rows = conn.execute(
        text("SELECT role_name, id FROM users WHERE role_name = ANY(:n) AND is_active"), {"n": list(names)}
    ).all()
    return {r[0]: UserId(r[1]) for r in rows}


def add_comment(
    conn: Connection,
    project_id: int,
    body: str,
    *,
    segment_id: int | None = None,
    take_id: int | None = None,
    frame: int | None = None,
) -> CommentId:
    return CommentId(
        int(
            conn.execute(
                text(
                    "INSERT INTO comments (project_id, segment_id, take_id, frame, body) "
                    "VALUES (:p, :s, :t, :f, :b) RETURNING id"
                ),
                {"p": project_id, "s": segment_id, "t": take_id, "f": frame, "b": body},
            ).scalar_one()
        )
    )


def add_mentions(conn: Connection, comment_id: int, user_ids: Iterable[int]) -> None:
    for uid in user_ids:
        conn.execute(
            text("INSERT INTO comment_mentions (comment_id, user_id) VALUES (:c, :u)"), {"c": comment_id, "u": uid}
        )


def notify(conn: Connection, event_id: int, user_ids: Iterable[int], kind: NotificationKind) -> None:
    """One notification per user about an event the caller caused (no RETURNING: the rows are not ours to see)."""
    for uid in user_ids:
        conn.execute(
            text(
                "INSERT INTO notifications (user_id, notification_kind_id, activity_event_id) "
                "VALUES (:u, :k, :e) ON CONFLICT DO NOTHING"
            ),
            {"u": uid, "k": int(kind), "e": event_id},
        )


def notifications(conn: Connection, *, unread_only: bool = False, limit: int = 100) -> list[NotificationItem]:
    """The caller's own notifications (row-level security), newest first."""
    rows = conn.execute(
        text(
            f"SELECT n.id, n.notification_kind_id, n.read_at IS NOT NULL, {_EVENT_COLUMNS} "
            "FROM notifications n JOIN activity_events e ON e.id = n.activity_event_id "
            "JOIN users u ON u.id = e.actor_id "
            "WHERE n.user_id = x121_current_user_id() AND (NOT :unread OR n.read_at IS NULL) "
            "ORDER BY n.id DESC LIMIT :limit"
        ),
        {"unread": unread_only, "limit": limit},
    ).all()
    return [NotificationItem(int(r[0]), NotificationKind(r[1]), _item(r[3:]), bool(r[2])) for r in rows]


def mark_read(conn: Connection, ids: Sequence[int]) -> int:
    return conn.execute(
        text("UPDATE notifications SET read_at = now() WHERE id = ANY(:ids) AND read_at IS NULL"), {"ids": list(ids)}
    ).rowcount


def resolve(conn: Connection, link: DeepLink) -> LinkTarget | str:
    """The rows a link names, or a sentence saying which part does not exist or does not fit."""
    scene = conn.execute(
        text(
            "SELECT sc.name, c.project_id FROM scenes sc JOIN characters c ON c.id = sc.character_id WHERE sc.id = :s"
        ),
        {"s": link.scene},
    ).one_or_none()
    if scene is None:
        return f"Scene #{link.scene} does not exist (any more)"
    if int(scene[1]) != link.project:
        return f"Scene #{link.scene} belongs to project #{scene[1]}, not project #{link.project}"
    segment_id: SegmentId | None = None
    take_frames: int | None = None
    if link.segment_position is not None:
        seg = conn.execute(
            text("SELECT id FROM segments WHERE scene_id = :s AND position = :p"),
            {"s": link.scene, "p": link.segment_position},
        ).scalar_one_or_none()
        if seg is None:
            return f"Scene {scene[0]!r} has no segment {link.segment_number}"
        segment_id = SegmentId(int(seg))
    if link.take is not None:
        take = conn.execute(
            text("SELECT segment_id, frame_count FROM takes WHERE id = :t"), {"t": link.take}
        ).one_or_none()
        if take is None:
            return f"Take #{link.take} does not exist (any more)"
        if segment_id is not None and int(take[0]) != segment_id:
            return f"Take #{link.take} is not a take of segment {link.segment_number} of scene {scene[0]!r}"
        take_frames = None if take[1] is None else int(take[1])
        if link.frame is not None and take_frames is not None and link.frame >= take_frames:
            return f"Take #{link.take} has {take_frames} frames; frame {link.frame} is past its end"
    return LinkTarget(
        project_id=ProjectId(link.project),
        scene_id=SceneId(link.scene),
        segment_id=segment_id,
        segment_number=link.segment_number,
        take_id=link.take,
        frame=link.frame,
        scene_name=str(scene[0]),
        take_frames=take_frames,
    )
