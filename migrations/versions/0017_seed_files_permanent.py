"""A seed image's file is PERMANENT: `x121_keep_seed_file`, a SECURITY DEFINER function.

Revision ID: 0017
Revises: 0016

A generated seed whose bytes were already stored (the job's output, WORKING) reuses that `files` row,
and creators cannot UPDATE `files`. `x121_keep_seed_file(file)` raises the retention class of a file
that some seed image uses to PERMANENT (only ever raises, only seed files, creators and admins), in the
caller's transaction; `SeedService` calls it when a seed's file is weaker. Seed files already recorded
with a weaker class are raised once by the upgrade; the downgrade drops the function and leaves them
PERMANENT. SQL in migrations/sql/0017_seed_files_permanent_{up,down}.sql; see docs/SECURITY.md.
Must run as a superuser (it hands the function to `x121_owner`).
"""

from __future__ import annotations

from collections.abc import Sequence

from x121_desktop.db.migration_sql import run_script, sql_text

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_script(sql_text("0017_seed_files_permanent_up.sql"))


def downgrade() -> None:
    run_script(sql_text("0017_seed_files_permanent_down.sql"))
