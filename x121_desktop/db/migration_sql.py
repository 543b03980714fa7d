"""What the migrations share: running a SQL file's text as one script, and reading one function's
earlier definition back (a downgrade restores it from the revision that made it, not from a copy).

Used only by `migrations/versions/*.py` while alembic runs them; the SQL bodies live in
`migrations/sql/`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import context, op

from x121_desktop.core.bundled import DataTree, data_path


def sql_dir() -> Path:
    """`migrations/sql` where alembic found the migrations (the installed package's, else the checkout's)."""
    return data_path(DataTree.MIGRATIONS) / "sql"


def sql_text(name: str) -> str:
    """The text of `migrations/sql/<name>`."""
    return (sql_dir() / name).read_text(encoding="utf-8")


def run_script(script: str) -> None:
    """Execute `script` (several statements, dollar-quoted bodies) as one simple query; offline, emit it."""
    if context.is_offline_mode():
        op.execute(script)
        return
    dbapi = op.get_bind().connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(script)
    finally:
        cursor.close()


def function_from(name: str, header: str) -> str:
    """The definition starting at `header` in `migrations/sql/<name>`, up to its closing `$$;`, as
    CREATE OR REPLACE."""
    text = sql_text(name)
    start = text.index(header)
    end = text.index("\n$$;", start) + len("\n$$;")
    return text[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
