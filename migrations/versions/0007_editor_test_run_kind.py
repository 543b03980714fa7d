"""Jobs: the job kind `editor_test_run` (a workflow run from the node editor on a chosen server).

Revision ID: 0007
Revises: 0006

A test run started from the node editor is recorded as a job of its own kind, so its attempt,
events, outputs, per-node timings and cost are stored like any other job's and the editor's
historical average per node includes it. Such a job never waits in the queue: the editor inserts
it and claims it for the chosen server in one transaction (no dispatcher sees it queued), with
`redispatch_allowed` false, so a lost editor run fails instead of running again elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("INSERT INTO public.job_kind (id, code, label) VALUES (10, 'editor_test_run', 'Editor test run')")


def downgrade() -> None:
    # jobs.job_kind_id refers to the row (RESTRICT): recorded editor runs go first, their cost records
    # (which keep their job, RESTRICT) before them; attempts, events, outputs and timings cascade.
    op.execute("DELETE FROM public.cost_records WHERE job_id IN (SELECT id FROM public.jobs WHERE job_kind_id = 10)")
    op.execute("DELETE FROM public.jobs WHERE job_kind_id = 10")
    op.execute("DELETE FROM public.job_kind WHERE id = 10")
