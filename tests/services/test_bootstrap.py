"""The composition root: embedded by default, shared by URL, and never on a schema it doesn't match."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, text

from x121_desktop.cli.main import main
from x121_desktop.core.errors import DatabaseError
from x121_desktop.db.migrate import head_revision, schema_status, upgrade
from x121_desktop.services.bootstrap import LaunchOptions, open_studio


def test_default_is_the_embedded_database_at_head(pg_tmp: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X121_HOME", str(pg_tmp))
    studio = open_studio(LaunchOptions())
    try:
        assert studio.database.embedded
        assert studio.database.schema.up_to_date
        assert studio.database.schema.current == head_revision()
        assert studio.embedded is not None
        with studio.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM user_role")).scalar_one() == 3
    finally:
        studio.close()


@pytest.fixture
def database_at_0001(new_database: Callable[[], str]) -> str:
    url = new_database()
    engine = create_engine(url)
    try:
        upgrade(engine, "0001")
    finally:
        engine.dispose()
    return url


def test_shared_database_at_an_older_revision_is_refused(database_at_0001: str) -> None:
    with pytest.raises(DatabaseError) as info:
        open_studio(LaunchOptions(database_url=database_at_0001))
    sentence = info.value.sentence
    assert f"is at schema revision 0001 but this X121 needs {head_revision()}" in sentence
    assert "run `x121 db upgrade`" in sentence


def test_cli_status_reports_and_upgrade_fixes_an_old_schema(
    database_at_0001: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database-url", database_at_0001, "db", "status"]) == 1
    assert "needs `x121 db upgrade`" in capsys.readouterr().out
    assert main(["--database-url", database_at_0001, "db", "upgrade"]) == 0
    assert f"Schema upgraded 0001 → {head_revision()}" in capsys.readouterr().out
    assert main(["--database-url", database_at_0001, "db", "status"]) == 0


def test_failed_upgrade_leaves_the_database_as_it_was(database_at_0001: str) -> None:
    """A revision that fails half-way is rolled back whole: nothing is half-written."""

    engine = create_engine(database_at_0001)
    try:
        with engine.begin() as conn:
            # Occupy a name the security revision creates late in its script, so it fails after its GRANTs ran.
            conn.execute(text("CREATE FUNCTION x121_seed_images_permanent() RETURNS trigger LANGUAGE plpgsql "
                              "AS $$ BEGIN RETURN NEW; END $$"))  # fmt: skip
        with pytest.raises(DatabaseError) as info:
            upgrade(engine)
        assert "Nothing was changed" in info.value.sentence
        assert schema_status(engine).current == "0001"
        with engine.connect() as conn:
            granted = conn.execute(text("SELECT has_table_privilege('x121_reviewer', 'projects', 'SELECT')"))
            assert granted.scalar_one() is False, "GRANTs of the failed revision must be rolled back"
            current_user_fn = conn.execute(text("SELECT to_regprocedure('x121_current_user_id()')")).scalar_one()
            assert current_user_fn is None
    finally:
        engine.dispose()


def test_a_database_newer_than_this_build_is_refused(new_database: Callable[[], str]) -> None:
    url = new_database()
    engine = create_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        engine.dispose()
    with pytest.raises(DatabaseError, match=r"newer than this X121 knows\. Update X121"):
        open_studio(LaunchOptions(database_url=url))
