"""The database enforces who may change a job: column privileges, the dispatcher's login, guarded cancel and reorder.

Revision ID: 0012
Revises: 0011

Every workstation is a dispatcher that runs anyone's job, so creators keep moving jobs through
the state machine, but PostgreSQL now holds them to the queue's rules (docs/SECURITY.md, "Jobs"):

- Column privileges: creators insert jobs (queued at priority <= 0, or a succeeded cache hit;
  admins any priority) and update only the dispatcher's columns (state, lease, server, attempts,
  error, times). Owner, priority, inputs, workflow, estimate, cache key, take and the cancel flag
  change only through `x121_cancel_job(job)` and `x121_move_job_to_front(job)` (SECURITY DEFINER,
  the job's owner or an admin; move-to-front follows the claim's batch order).
- `jobs.lease_login`: the login that claimed the job (or refused it, or took it back after its
  lease lapsed), set by trigger, never by clients. `x121_guard_job_update` lets only that login or
  an admin change a held job, only by a legal transition (`core.orchestration.states`), and anyone
  take back a job whose lease lapsed, only as `reclaim_expired` does.
- `x121_guard_job_record`: attempts, events, outputs, node timings and cost of a job are written by
  its lease login (events also by the owner; a cache hit's outputs by its owner).
- Revision 0009's rule for recording a locked segment's take on behalf of the holder's job now also
  requires the take's file to be one of the job's outputs, and a succeeded job to make it current.

SQL in migrations/sql/0012_job_rights_{up,down}.sql; the downgrade restores 0009's rule from
migrations/sql/0009_take_on_behalf_up.sql. Must run as a superuser.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from x121_desktop.db.migration_sql import function_from
from x121_desktop.db.migration_sql import run_script as _run

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
RULE = "CREATE FUNCTION public.x121_job_write_refusal("


def rule_of_0009() -> str:
    """Revision 0009's x121_job_write_refusal, as CREATE OR REPLACE (the one definition, not a copy)."""
    return function_from("0009_take_on_behalf_up.sql", RULE)


def upgrade() -> None:
    _run((SQL_DIR / "0012_job_rights_up.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    _run(rule_of_0009() + "\n" + (SQL_DIR / "0012_job_rights_down.sql").read_text(encoding="utf-8"))
