"""A permanent seed image's file row is guarded: only its retention class may change, and only upward.

Revision ID: 0018
Revises: 0017

Admins keep UPDATE and DELETE on `files` (revision 0002), so after revision 0017 made a seed's file
PERMANENT an admin could still lower the class, or rewrite the row, and a janitor going by class would
take the seed's pixels away. The trigger `x121_guard_seed_files` refuses that for a file some Seed A/B
image uses (23001), superuser sessions excepted. SQL in migrations/sql/0018_seed_files_guarded_{up,down}.sql;
see docs/SECURITY.md "Seed permanence". Must run as a superuser.
"""

from __future__ import annotations

from collections.abc import Sequence

from x121_desktop.db.migration_sql import run_script, sql_text

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_script(sql_text("0018_seed_files_guarded_up.sql"))


def downgrade() -> None:
    run_script(sql_text("0018_seed_files_guarded_down.sql"))
