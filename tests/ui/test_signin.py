"""Sign-in: the embedded database signs in silently; a shared database over TCP with SCRAM asks for the
password (again, with the server's sentence, when it was wrong), keeps it in the keyring when the person
chooses to, and the next start asks nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine

from x121_desktop.core.errors import DatabaseError
from x121_desktop.db.embedded import start_embedded
from x121_desktop.db.lan import LanEndpoint, start_lan, stop_lan, write_hba
from x121_desktop.db.migrate import upgrade
from x121_desktop.services.bootstrap import LaunchOptions
from x121_desktop.services.users import create_login_as_owner
from x121_desktop.ui.signin import SignInDialog, sign_in

PASSWORD = "pw-artist-1234"


def never_asked(where: str, problem: str | None) -> tuple[str, bool] | None:
    raise AssertionError(f"sign-in asked for a password for {where}")


def test_embedded_database_signs_in_silently(pg_tmp: Path) -> None:
    studio = sign_in(LaunchOptions(home=str(pg_tmp / "home")), ask=never_asked)
    try:
        assert studio.database.embedded
        assert studio.database.schema.up_to_date
    finally:
        studio.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def scram_database(pg_tmp: Path) -> Iterator[str]:
    """A studio database served on loopback TCP with SCRAM passwords and a creator login `artist`."""
    pgdata = pg_tmp / "pgdata"
    server = start_embedded(pgdata)
    try:
        engine = create_engine(server.url())
        try:
            upgrade(engine)
            with engine.begin() as conn:
                create_login_as_owner(conn, "artist", "creator", PASSWORD, "Artist")
        finally:
            engine.dispose()
    finally:
        server.release()
    port = _free_port()
    write_hba(pgdata, ())
    start_lan(pgdata, LanEndpoint("127.0.0.1", port, ()))
    try:
        yield f"postgresql://artist@127.0.0.1:{port}/x121"
    finally:
        stop_lan(pgdata)


def test_password_is_asked_again_when_wrong_then_kept_in_the_keyring(scram_database: str, tmp_path: Path) -> None:
    asked: list[str | None] = []
    answers = ["not-the-password", PASSWORD]

    def ask(where: str, problem: str | None) -> tuple[str, bool] | None:
        assert where == scram_database.removeprefix("postgresql://")
        asked.append(problem)
        return answers.pop(0), True

    options = LaunchOptions(database_url=scram_database, home=str(tmp_path / "home"))
    studio = sign_in(options, ask=ask)
    try:
        assert not studio.database.embedded
        assert asked[0] is None
        assert asked[1] is not None
        assert "rejected the password for role 'artist'" in asked[1]
        assert any("keyring" in n for n in studio.database.notices)
    finally:
        studio.close()
    again = sign_in(options, ask=never_asked)  # the keyring has it now
    again.close()


def test_not_keeping_the_password_and_cancelling(scram_database: str, tmp_path: Path) -> None:
    options = LaunchOptions(database_url=scram_database, home=str(tmp_path / "home"))
    studio = sign_in(options, ask=lambda where, problem: (PASSWORD, False))
    try:
        assert any("you chose not to" in n for n in studio.database.notices)
    finally:
        studio.close()
    with pytest.raises(DatabaseError, match="Sign-in was cancelled"):
        sign_in(options, ask=lambda where, problem: None)


def test_dialog_returns_the_password_and_the_keyring_choice(qtbot: QtBot) -> None:
    dialog = SignInDialog("artist@studio-db:5432/x121", "The database rejected the password.")
    qtbot.addWidget(dialog)
    assert dialog.problem.text() == "The database rejected the password."
    assert dialog.answer() is None
    dialog.password.setText("s3cret-pass")
    dialog.remember.setChecked(False)
    assert dialog.answer() == ("s3cret-pass", False)
