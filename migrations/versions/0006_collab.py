"""Collaboration: lease tokens on locks, lock functions, the lock guard on segments/takes/seams, NOTIFY feeds.

Revision ID: 0006
Revises: 0005

Locks (`segment_locks`, `workflow_locks`) get a `lease_token` (uuid, unique): one per acquisition,
so two processes of the same user are told apart. They are taken, renewed, released and broken
only through SECURITY DEFINER functions that use the database clock and record the change in the
activity feed (new kinds `lock_taken`, `lock_released`, `lock_broken`):

- `x121_acquire_<kind>_lock(id, token, machine, ttl_s)` (creators): takes a free or expired lock,
  or re-takes one's own (same token); otherwise reports who holds it and until when.
- `x121_renew_<kind>_lock(id, token, ttl_s)` (creators): extends a live lease; NULL when it expired
  or was taken (a renewal never resurrects a lapsed lease).
- `x121_release_<kind>_lock(id, token)` (creators), `x121_break_<kind>_lock(id, reason)` (admins,
  recorded with the reason and notified to the former holder).

Enforcement: `x121_guard_segment_lock` (BEFORE UPDATE/DELETE on segments, INSERT/UPDATE/DELETE on
takes and seams) rejects with SQLSTATE 55P03 any change to a segment whose live lock is held by
another user. A transaction that declares the lease it works under (`SET LOCAL x121.lease_token`)
is also rejected unless that lease is still live and its own (fencing: a lapsed holder cannot
overwrite the new holder's work). The guard takes a share lock on the lock row, so a take-over
waits for a write in progress. Unlocked segments stay writable (see x121_desktop/services/locks.py).

NOTIFY: `x121_locks` (lock taken/released), `x121_presence` (arrived/moved/left),
`x121_activity` (every feed event), `x121_notifications` (every notification, with its recipient).
`x121_purge_stale_presence(stale_s)` lets any signed-in user clear timed-out presence rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from x121_desktop.db.migration_sql import run_script as _run

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LOCK_KINDS = {
    # kind: (table, key column, locked table, SQL giving (project_id, data jsonb) for p_id)
    "segment": (
        "segment_locks",
        "segment_id",
        "segments",
        "SELECT c.project_id, jsonb_build_object('segment_id', g.id, 'scene_id', g.scene_id, "
        "'segment_number', g.position + 1) FROM public.segments g JOIN public.scenes sc ON sc.id = g.scene_id "
        "JOIN public.characters c ON c.id = sc.character_id WHERE g.id = $1",
    ),
    "workflow": (
        "workflow_locks",
        "workflow_id",
        "workflows",
        "SELECT NULL::integer, jsonb_build_object('workflow_id', w.id, 'workflow', w.name) "
        "FROM public.workflows w WHERE w.id = $1",
    ),
}


def _lock_functions() -> str:
    template = (SQL_DIR / "0006_lock_functions.sql").read_text(encoding="utf-8")
    out = []
    for kind, (table, key, target, where) in LOCK_KINDS.items():
        out.append(
            template.replace("@KIND@", kind)
            .replace("@TABLE@", table)
            .replace("@KEY@", key)
            .replace("@TARGET@", target)
            .replace("@WHERE@", where)
            .replace("@SEGMENT@", "p_id" if kind == "segment" else "NULL")
        )
    return "\n".join(out)


def upgrade() -> None:
    _run((SQL_DIR / "0006_collab_up.sql").read_text(encoding="utf-8") + "\n" + _lock_functions())
    _run((SQL_DIR / "0006_collab_grants.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    _run((SQL_DIR / "0006_collab_down.sql").read_text(encoding="utf-8"))
