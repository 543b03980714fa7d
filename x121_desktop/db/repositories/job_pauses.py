"""Paused queues (revision 0013): a user's and the studio's. Plain functions; never commits.

    pause_queue(conn, studio=False) -> int       x121_pause_queue: jobs it put on hold
    resume_queue(conn, studio=False) -> int      x121_resume_queue: jobs it released
    queue_pauses(conn) -> list[QueuePause]       every paused queue, readable by everyone

A user's paused queue holds their queued jobs and, by trigger, every job they submit while it is
paused; resuming releases the jobs the pause held (those held one by one stay on hold). The studio's
paused queue (admins only) stops every claim: `job_dispatch.fair_share_sql` reads it, so a claim
costs no extra round trip, and the database turns any other claim into a no-op. Each change NOTIFYs
`QUEUE_CHANNEL` with `{"scope": "user" | "studio", "user_id", "paused", "by_user", "jobs"}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.ids import UserId
from x121_desktop.db.repositories.jobs import call_guarded

QUEUE_CHANNEL = "x121_job_queue"
"""NOTIFY channel of paused and resumed queues."""


@dataclass(frozen=True, slots=True)
class QueuePause:
    """One paused queue: a user's, or (user_id None) the studio's."""

    user_id: UserId | None
    user: str | None
    """The display name of the user whose queue it is; None for the studio's."""
    paused_by: UserId
    paused_by_name: str
    paused_at: datetime


def pause_queue(conn: Connection, *, studio: bool = False) -> int:
    """Pause the signed-in user's queue (or, admins only, the studio's); the number of jobs put on hold."""
    return int(call_guarded(conn, "SELECT x121_pause_queue(:studio)", {"studio": studio}, None))


def resume_queue(conn: Connection, *, studio: bool = False) -> int:
    """Resume the signed-in user's queue (or, admins only, the studio's); the number of jobs released."""
    return int(call_guarded(conn, "SELECT x121_resume_queue(:studio)", {"studio": studio}, None))


def queue_pauses(conn: Connection) -> list[QueuePause]:
    """Every paused queue, the studio's first, then by when it was paused."""
    rows = conn.execute(
        text(
            "SELECT p.user_id, u.display_name, p.paused_by, b.display_name, p.paused_at FROM job_queue_pauses p "
            "LEFT JOIN users u ON u.id = p.user_id JOIN users b ON b.id = p.paused_by "
            "ORDER BY p.user_id IS NOT NULL, p.paused_at, p.id"
        )
    ).all()
    return [QueuePause(None if r[0] is None else UserId(r[0]), r[1], UserId(r[2]), str(r[3]), r[4]) for r in rows]
