"""A lapsed lease hands the job over instead of ending it; a paused queue's re-queued jobs wait.

Revision ID: 0015
Revises: 0014

A dispatcher that stops renewing its leases (closed, killed, its workstation asleep) is not a lost
ComfyUI server: the prompts it submitted go on running there. Until now the job of a lapsed lease
was re-queued only if its policy allowed re-dispatch and attempts were left, else it failed, though
its prompt might finish a minute later (an editor test run, `max_attempts` 1 and no re-dispatch,
always failed when its workstation closed). Now (docs/QUEUE.md "A dispatcher that stops"):

- `x121_guard_job_update` (revision 0012): a job whose lease lapsed while it was claimed …
  downloading is taken back as queued whatever its policy (cancelled if its owner asked); the next
  claimer adopts its prompt by prompt_id from the server it runs on, and runs it again only where
  the policy allows, failing it otherwise (`services/orchestrator/runner.py`). A lapsed job in
  `lost` (its server lost the prompt) keeps the old rule: queued only if the policy allows.
- `x121_guard_job_hold` (revision 0013): a claim of a job whose owner paused their queue changes
  nothing (the row is skipped), as under a paused studio queue; editor test runs excepted. A job
  that comes back to the queue while its owner's queue is paused (a lapsed lease, a lost server)
  then waits queued, unclaimed, until the owner resumes. The claim statements skip those owners too
  (`db/repositories/job_dispatch.fair_share_sql`).

Both functions are revision 0012's and 0013's definitions with one condition changed (read from
their SQL files here, so each function keeps one written definition); the downgrade puts those
definitions back.
"""

from __future__ import annotations

from collections.abc import Sequence

from x121_desktop.db.migration_sql import function_from
from x121_desktop.db.migration_sql import run_script as _run

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD_UPDATE = ("0012_job_rights_up.sql", "CREATE FUNCTION public.x121_guard_job_update(")
GUARD_HOLD = ("0013_job_holds_up.sql", "CREATE FUNCTION public.x121_guard_job_hold(")

LAPSED_BEFORE = "WHEN OLD.redispatch_allowed AND OLD.attempts < OLD.max_attempts THEN 1 ELSE 8 END;"
LAPSED_AFTER = (
    "WHEN was <> 10  -- its prompt may still run: the next claimer adopts it (revision 0015)\n"
    "                          OR OLD.redispatch_allowed AND OLD.attempts < OLD.max_attempts THEN 1 ELSE 8 END;"
)
PAUSED_BEFORE = "FROM public.job_queue_pauses p WHERE p.user_id IS NULL) THEN"
PAUSED_AFTER = (
    "FROM public.job_queue_pauses p\n                     WHERE p.user_id IS NULL OR p.user_id = OLD.owner_id) THEN"
)


def changed(where: tuple[str, str], before: str, after: str) -> str:
    """The function defined at `where` (file, header) with `before` replaced by `after` (exactly once)."""
    definition = function_from(*where)
    if definition.count(before) != 1:
        raise RuntimeError(f"revision 0015 expected one '{before}' in {where[0]}'s {where[1]}")
    return definition.replace(before, after)


def upgrade() -> None:
    _run(changed(GUARD_UPDATE, LAPSED_BEFORE, LAPSED_AFTER) + "\n" + changed(GUARD_HOLD, PAUSED_BEFORE, PAUSED_AFTER))


def downgrade() -> None:
    _run(function_from(*GUARD_UPDATE) + "\n" + function_from(*GUARD_HOLD))
