"""Jobs on hold and paused queues: job status 'held', a user's and the studio's paused queue, all guarded.

Revision ID: 0013
Revises: 0012

A render-farm "suspend" (docs/QUEUE.md "On hold and paused queues", docs/SECURITY.md "Jobs on hold"):

- Job status 11 `held` (On hold): a queued job no dispatcher claims; it keeps its id, created_at,
  work estimate and priority, so on release it is back in the place in its batch and fair-share turn
  it had. Event kinds 18 `held`, 19 `released`.
- `x121_hold_job(job)` / `x121_release_job(job)` (SECURITY DEFINER, the job's owner or an admin);
  `x121_cancel_job` now cancels a held job at once, like a queued one.
- `job_queue_pauses`: `x121_pause_queue(false)` holds the caller's queued jobs, and a trigger holds
  every job they submit until `x121_resume_queue(false)` releases the jobs the pause held.
  `x121_pause_queue(true)` (admins only) pauses the studio queue: no job is claimed while it is
  paused (the claim statements read it; a trigger makes any other claim a no-op).
- `x121_guard_job_hold`: no plain UPDATE moves a job into or out of `held` or changes a held one.
- NOTIFY `x121_job_queue` when a queue is paused or resumed; every held or released job logs an
  event and NOTIFYs `x121_jobs` like any other job change.

SQL in migrations/sql/0013_job_holds_{up,down}.sql; the downgrade puts back revision 0012's
`x121_cancel_job` and `x121_job_transition_allowed` from migrations/sql/0012_job_rights_up.sql.
Must run as a superuser.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from x121_desktop.db.migration_sql import function_from
from x121_desktop.db.migration_sql import run_script as _run

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
RESTORED = ("x121_job_transition_allowed", "x121_cancel_job")
"""Functions revision 0013 replaces; the downgrade restores them as revision 0012 defined them."""


def definition_in_0012(name: str) -> str:
    """Revision 0012's definition of function `name`, as CREATE OR REPLACE (the one definition, not a copy)."""
    return function_from("0012_job_rights_up.sql", f"CREATE FUNCTION public.{name}(")


def upgrade() -> None:
    _run((SQL_DIR / "0013_job_holds_up.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    restore = "\n".join(definition_in_0012(name) for name in RESTORED)
    _run((SQL_DIR / "0013_job_holds_down.sql").read_text(encoding="utf-8") + "\n" + restore)
