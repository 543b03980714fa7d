"""Editor test runs recorded as jobs of kind `editor_test_run` (revision 0007), on the real database."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from sqlalchemy import create_engine

from x121_desktop.core.enums import JobKind
from x121_desktop.db.migrate import alembic_config, upgrade


def test_revision_0007_seeds_the_kind_and_downgrades_cleanly(new_database: Callable[[], str]) -> None:
    engine = create_engine(new_database())
    kind_sql = f"SELECT code, label FROM job_kind WHERE id = {int(JobKind.EDITOR_TEST_RUN)}"
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert tuple(conn.exec_driver_sql(kind_sql).one()) == ("editor_test_run", "Editor test run")
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0006")
        with engine.connect() as conn:
            assert conn.exec_driver_sql(kind_sql).one_or_none() is None
        assert upgrade(engine).up_to_date
        with engine.connect() as conn:
            assert conn.exec_driver_sql(kind_sql).one_or_none() is not None
    finally:
        engine.dispose()
