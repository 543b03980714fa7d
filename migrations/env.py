"""Alembic environment for X121 Studio.

Where the database comes from, first match wins:
1. `config.attributes["connection"]`: a live SQLAlchemy Connection handed over by
   `x121_desktop.db.migrate` (the caller owns its transaction);
2. `alembic -x url=postgresql+psycopg://...`;
3. the `X121_DATABASE_URL` environment variable.

Models and revisions must never drift: `alembic check` compares `Base.metadata` (with types)
against a migrated database; tests/architecture/test_alembic_check.py runs it.
"""

from __future__ import annotations

import os

import pgvector.sqlalchemy  # noqa: F401 - registers vector/bit types for reflection and rendering
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, make_url

import x121_desktop.db.models  # noqa: F401 - completes Base.metadata
from x121_desktop.db.base import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("X121_DATABASE_URL")
    if not url:
        raise SystemExit("No database given: pass `-x url=postgresql+psycopg://user@host/db` or set X121_DATABASE_URL.")
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=False,
    )


def run_offline() -> None:
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given: Connection | None = config.attributes.get("connection")
    if given is not None:
        _configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_database_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
