"""Security in the database itself: owner and group roles, GRANTs, row-level security, guarded functions.

Revision ID: 0002
Revises: 0001

The SQL lives in migrations/sql/0002_security_{up,down}.sql (docs/SECURITY.md explains the
matrix). It is sent as one script through the driver, which runs multi-statement text
without parameters; plpgsql bodies keep their `%` and `:=` untouched that way.

Must run as a superuser: it creates cluster roles, gives tables to `x121_owner` and creates
SECURITY DEFINER functions. Cluster roles are left in place by the downgrade.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from x121_desktop.db.migration_sql import run_script, sql_text

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def _run_script(name: str) -> None:
    run_script(sql_text(name))


def upgrade() -> None:
    _run_script("0002_security_up.sql")


def downgrade() -> None:
    _run_script("0002_security_down.sql")
