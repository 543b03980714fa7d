"""Per-user settings on a real PostgreSQL with real login roles: own rows only, one transaction per change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.preferences import LAYOUT_KEY, THEME_KEY, PreferencesService
from x121_desktop.services.runtime import Runtime

__all__ = ["secure_studio"]


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def prefs_as(secure_studio: SecureStudio) -> Iterator[Callable[[str], PreferencesService]]:
    engines: list[Engine] = []
    runtime = Runtime()

    def make(who: str) -> PreferencesService:
        engine = make_engine(DatabaseTarget(secure_studio.url(who)), pool_size=1)
        engines.append(engine)
        return PreferencesService(session_factory(engine), runtime)

    yield make
    runtime.shutdown()
    for engine in engines:
        engine.dispose()
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute("DELETE FROM user_settings")


def test_settings_round_trip_and_stay_private(prefs_as: Callable[[str], PreferencesService]) -> None:
    alice, bob = prefs_as("reviewer"), prefs_as("reviewer2")
    run(alice.set(THEME_KEY, "neon-dark"))
    run(alice.set(LAYOUT_KEY, {"state": "AAAA", "version": 1}))
    run(bob.set(THEME_KEY, "obsidian-light"))
    assert run(alice.get(THEME_KEY)) == "neon-dark"
    assert run(bob.get(THEME_KEY)) == "obsidian-light"
    assert run(alice.get_many("ui.")) == {LAYOUT_KEY: {"state": "AAAA", "version": 1}, THEME_KEY: "neon-dark"}
    assert run(bob.get(LAYOUT_KEY, "none")) == "none"
    run(alice.set(THEME_KEY, "obsidian-dark"))  # replaces, no duplicate
    assert run(alice.get_many()) == {LAYOUT_KEY: {"state": "AAAA", "version": 1}, THEME_KEY: "obsidian-dark"}
    assert run(alice.delete(THEME_KEY)) is True
    assert run(alice.delete(THEME_KEY)) is False
    assert run(bob.get(THEME_KEY)) == "obsidian-light"


def test_superuser_session_stores_its_own_rows_not_everyones(prefs_as: Callable[[str], PreferencesService]) -> None:
    """The embedded mode connects as a superuser, which RLS does not restrict: the service must filter."""
    run(prefs_as("creator").set(THEME_KEY, "neon-light"))
    owner = prefs_as(SUPERUSER)
    assert run(owner.get(THEME_KEY)) is None
    run(owner.set(THEME_KEY, "obsidian-dark"))
    assert run(owner.get_many()) == {THEME_KEY: "obsidian-dark"}
    assert run(prefs_as("creator").get(THEME_KEY)) == "neon-light"


def test_set_many_is_one_transaction(prefs_as: Callable[[str], PreferencesService]) -> None:
    admin = prefs_as("admin")
    run(admin.set_many({"ui.a": 1, "ui.b": [1, 2]}))
    assert run(admin.get_many("ui.")) == {"ui.a": 1, "ui.b": [1, 2]}
    with pytest.raises(InvalidInput):
        run(admin.set_many({"ui.a": 2, "Bad Key": 3}))
    assert run(admin.get("ui.a")) == 1


def test_bad_keys_and_values_are_sentences(prefs_as: Callable[[str], PreferencesService]) -> None:
    prefs = prefs_as("reviewer")
    with pytest.raises(InvalidInput, match="not a usable settings key"):
        run(prefs.set("UI Theme", "x"))
    with pytest.raises(InvalidInput, match="cannot be stored as JSON"):
        run(prefs.set("ui.thing", {1, 2}))


def test_a_role_without_a_studio_user_cannot_save(secure_studio: SecureStudio) -> None:
    """A login that is no studio user (no users row, not superuser) gets a sentence, not a NULL-key error."""
    import uuid

    role = f"t_stranger_{uuid.uuid4().hex[:8]}"
    with secure_studio.connect(SUPERUSER, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN IN ROLE x121_reviewer")
    runtime = Runtime()
    url = secure_studio.server.url(secure_studio.dbname, role)
    engine = make_engine(DatabaseTarget(url), pool_size=1)
    try:
        prefs = PreferencesService(session_factory(engine), runtime)
        with pytest.raises(PermissionDenied, match="not a studio user"):
            run(prefs.set(THEME_KEY, "neon-dark"))
        assert run(prefs.get(THEME_KEY, "default")) == "default"
    finally:
        runtime.shutdown()
        engine.dispose()
        with secure_studio.connect(SUPERUSER, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
