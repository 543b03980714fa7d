"""Jobs: a partial index over queued jobs by owner, for the fair-share claim.

Revision ID: 0003
Revises: 0002

The claim (db/repositories/job_leases.py) ranks, per owner, only that owner's first queued jobs
in (priority DESC, id) order. `ix_jobs_queued_owner` serves exactly that: it holds only queued
rows (finished jobs, which pile up, are not in it), lets the claim find the owners with queued
work by a skip scan, and reads each owner's head in order. Without it a claim costs time linear
in the whole queue.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_queued_owner",
        "jobs",
        ["owner_id", sa.text("priority DESC"), "id"],
        postgresql_where=sa.text("job_status_id = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_queued_owner", table_name="jobs")
