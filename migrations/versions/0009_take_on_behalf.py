"""A locked segment's take may be written on behalf of the lock holder's finished job; seed origin 'refined'.

Revision ID: 0009
Revises: 0008

The segment-lock guard of revision 0006 let only the holder write a locked segment, so the
holder's own job, finished and picked up by another user's director, could not be recorded.
`x121_guard_segment_lock` now also lets a transaction that declares `x121.for_job = <job id>`
record that job's outcome when the job was submitted by the lock holder, renders into a take of
that segment and has finished; the change may only set the job's take, supersede the previous
current take and move the segment's status/current take to it (`x121_job_write_refusal` says
what is wrong otherwise, and the refusal names the holder and the job's owner). Seed origin 4
`refined` marks a Seed A variant made by a pipeline script (services/seed_refinement.py).

SQL in migrations/sql/0009_take_on_behalf_{up,down}.sql; the downgrade restores 0006's guard
from migrations/sql/0006_collab_up.sql (it refuses while a refined seed exists: seeds are
permanent). See docs/SECURITY.md. Must run as a superuser.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from x121_desktop.db.migration_sql import function_from
from x121_desktop.db.migration_sql import run_script as _run

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
GUARD = "CREATE FUNCTION public.x121_guard_segment_lock()"


def guard_of_0006() -> str:
    """Revision 0006's guard function, as CREATE OR REPLACE (the one definition, not a copy)."""
    return function_from("0006_collab_up.sql", GUARD)


def upgrade() -> None:
    _run((SQL_DIR / "0009_take_on_behalf_up.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    _run(guard_of_0006() + "\n" + (SQL_DIR / "0009_take_on_behalf_down.sql").read_text(encoding="utf-8"))
