"""Presence rows: this user's heartbeat per machine, who is here, and the stale-row purge. Never commits.

Row-level security (revision 0002) lets each user write only their own rows; the purge goes
through `x121_purge_stale_presence` (revision 0006). Ages are measured by the database clock.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.collab.values import Location, PresenceEntry
from x121_desktop.core.ids import ProjectId, SceneId, SegmentId, TakeId, UserId

_BEAT = text(
    "INSERT INTO presence (machine, project_id, scene_id, segment_id, take_id, frame) "
    "VALUES (:machine, :project_id, :scene_id, :segment_id, :take_id, :frame) "
    "ON CONFLICT (user_id, machine) DO UPDATE SET project_id = EXCLUDED.project_id, "
    "scene_id = EXCLUDED.scene_id, segment_id = EXCLUDED.segment_id, take_id = EXCLUDED.take_id, "
    "frame = EXCLUDED.frame, heartbeat_at = now()"
)


def heartbeat(conn: Connection, machine: str, where: Location) -> None:
    conn.execute(
        _BEAT,
        {
            "machine": machine,
            "project_id": where.project_id,
            "scene_id": where.scene_id,
            "segment_id": where.segment_id,
            "take_id": where.take_id,
            "frame": where.frame,
        },
    )


def leave(conn: Connection, machine: str) -> int:
    return conn.execute(
        text("DELETE FROM presence WHERE user_id = x121_current_user_id() AND machine = :m"), {"m": machine}
    ).rowcount


def purge_stale(conn: Connection, stale_s: int) -> int:
    return int(conn.execute(text("SELECT x121_purge_stale_presence(:s)"), {"s": stale_s}).scalar_one())


def present(conn: Connection, timeout_s: int, project_id: int | None = None) -> list[PresenceEntry]:
    rows = conn.execute(
        text(
            "SELECT p.user_id, u.role_name, u.display_name, p.machine, p.project_id, p.scene_id, p.segment_id, "
            "p.take_id, p.frame, p.heartbeat_at, extract(epoch FROM clock_timestamp() - p.heartbeat_at) "
            "FROM presence p JOIN users u ON u.id = p.user_id "
            "WHERE p.heartbeat_at > clock_timestamp() - make_interval(secs => :t) "
            "AND (CAST(:project AS integer) IS NULL OR p.project_id = :project) "
            "ORDER BY lower(u.display_name), p.machine"
        ),
        {"t": timeout_s, "project": project_id},
    ).all()
    return [
        PresenceEntry(
            user_id=UserId(r[0]),
            user_name=r[1],
            display_name=r[2],
            machine=r[3],
            location=Location(
                None if r[4] is None else ProjectId(r[4]),
                None if r[5] is None else SceneId(r[5]),
                None if r[6] is None else SegmentId(r[6]),
                None if r[7] is None else TakeId(r[7]),
                r[8],
            ),
            heartbeat_at=r[9],
            age_s=max(0.0, float(r[10])),
        )
        for r in rows
    ]
