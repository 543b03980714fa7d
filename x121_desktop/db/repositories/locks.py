"""Segment and workflow locks through the `x121_*_lock` functions of revision 0006. Never commits.

The functions use the database clock and record lock changes in the feed; this module only
calls them and reads the lock tables. `declare_lease` marks the caller's transaction as working
under a lease, which the guard trigger then checks (fencing).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.collab.values import LockGrant, LockInfo, LockKind
from x121_desktop.core.ids import UserId

_TABLES = {LockKind.SEGMENT: ("segment_locks", "segment_id"), LockKind.WORKFLOW: ("workflow_locks", "workflow_id")}


def acquire(
    conn: Connection, kind: LockKind, target: int, token: uuid.UUID, machine: str, ttl_s: int
) -> LockGrant | LockInfo:
    """The grant, or the lock that someone else holds."""
    row = conn.execute(
        text(f"SELECT * FROM x121_acquire_{kind.value}_lock(:id, :token, :machine, :ttl)"),
        {"id": target, "token": token, "machine": machine, "ttl": ttl_s},
    ).one()
    got, holder, role, held_on, expires, now = row
    if got:
        return LockGrant(kind, target, token, machine, ttl_s, expires, now)
    return LockInfo(kind, target, UserId(holder), role, held_on, expires, now)


def renew(conn: Connection, kind: LockKind, target: int, token: uuid.UUID, ttl_s: int) -> datetime | None:
    value = conn.execute(
        text(f"SELECT x121_renew_{kind.value}_lock(:id, :token, :ttl)"), {"id": target, "token": token, "ttl": ttl_s}
    ).scalar_one()
    return value if isinstance(value, datetime) else None


def release(conn: Connection, kind: LockKind, target: int, token: uuid.UUID) -> bool:
    return bool(
        conn.execute(
            text(f"SELECT x121_release_{kind.value}_lock(:id, :token)"), {"id": target, "token": token}
        ).scalar_one()
    )


def break_lock(conn: Connection, kind: LockKind, target: int, reason: str) -> bool:
    return bool(
        conn.execute(
            text(f"SELECT x121_break_{kind.value}_lock(:id, :reason)"), {"id": target, "reason": reason}
        ).scalar_one()
    )


def locks(conn: Connection, kind: LockKind, targets: list[int] | None = None) -> list[LockInfo]:
    """Locks (live and lapsed) on `targets`, or all of this kind."""
    table, key = _TABLES[kind]
    rows = conn.execute(
        text(
            f"SELECT l.{key}, l.holder_id, u.role_name, l.machine, l.expires_at, clock_timestamp() "
            f"FROM {table} l JOIN users u ON u.id = l.holder_id "
            f"WHERE CAST(:ids AS integer[]) IS NULL OR l.{key} = ANY(:ids) ORDER BY l.{key}"
        ),
        {"ids": targets},
    ).all()
    return [LockInfo(kind, int(r[0]), UserId(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


def lock_of(conn: Connection, kind: LockKind, target: int) -> LockInfo | None:
    found = locks(conn, kind, [target])
    return found[0] if found else None


def declare_lease(conn: Connection, token: uuid.UUID) -> None:
    """Writes in this transaction are made under this lease (the guard refuses them once it lapses)."""
    conn.execute(text("SELECT set_config('x121.lease_token', :t, true)"), {"t": str(token)})


def segment_id_at(conn: Connection, scene_id: int, number: int) -> int | None:
    """The id of segment `number` (1-based) of a scene."""
    value = conn.execute(
        text("SELECT id FROM segments WHERE scene_id = :scene AND position = :pos"),
        {"scene": scene_id, "pos": number - 1},
    ).scalar_one_or_none()
    return None if value is None else int(value)
