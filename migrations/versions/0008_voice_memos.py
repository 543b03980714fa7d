"""Voice memos for reviewers: `x121_add_voice_memo`, a SECURITY DEFINER function.

Revision ID: 0008
Revises: 0007

Reviewers may not INSERT into `files`, so saving a memo (its audio's `files` row + a VOICE
annotation) failed for them. The function stores exactly a memo after checking the caller (an
active studio user of a group), the take (exists, has rendered video, the frames lie inside it)
and the file (an audio file named by its sha256 in the media store's layout); reviewers still
cannot insert any other file. SQL in migrations/sql/0008_voice_memos_{up,down}.sql; see
docs/SECURITY.md. Must run as a superuser (it hands the function to `x121_owner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from x121_desktop.db.migration_sql import run_script, sql_text

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def _run(name: str) -> None:
    run_script(sql_text(name))


def upgrade() -> None:
    _run("0008_voice_memos_up.sql")


def downgrade() -> None:
    _run("0008_voice_memos_down.sql")
