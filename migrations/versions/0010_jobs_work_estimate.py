"""Jobs: each job's estimated work, and the queued-jobs index in the new claim order.

Revision ID: 0010
Revises: 0009

`jobs.work_estimate` is the job's work in pixel-frames (`comfy.needs.work_estimate` of its API
prompt: width x height x frames of its largest latent), written when the job is submitted; NULL
when unknown. It orders a batch (jobs one owner submitted in one transaction, so with the same
`created_at`): within a batch of one priority the largest job is claimed first, batches stay
FIFO (docs/QUEUE.md). It also tells every dispatcher how much work the jobs on a server hold,
and, with the GPU seconds of finished jobs, how fast each server really is.

`ix_jobs_queued_owner` (revision 0003) is rebuilt in that order: owner, priority DESC,
created_at, work_estimate DESC NULLS LAST, id, over queued rows only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("work_estimate", sa.Float(), nullable=True))
    op.create_check_constraint(op.f("ck_jobs_work_estimate_not_negative"), "jobs", "work_estimate >= 0")
    op.drop_index("ix_jobs_queued_owner", table_name="jobs")
    op.create_index(
        "ix_jobs_queued_owner",
        "jobs",
        ["owner_id", sa.text("priority DESC"), "created_at", sa.text("work_estimate DESC NULLS LAST"), "id"],
        postgresql_where=sa.text("job_status_id = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_queued_owner", table_name="jobs")
    op.create_index(
        "ix_jobs_queued_owner",
        "jobs",
        ["owner_id", sa.text("priority DESC"), "id"],
        postgresql_where=sa.text("job_status_id = 1"),
    )
    op.drop_constraint(op.f("ck_jobs_work_estimate_not_negative"), "jobs", type_="check")
    op.drop_column("jobs", "work_estimate")
