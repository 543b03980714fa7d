"""Sign-in: the embedded database signs in silently; a shared database over TCP with SCRAM asks for the user
name (prefilled) and password (again, with the server's sentence, when it was wrong), keeps the password in
the keyring when the person chooses to, and the next start asks nothing and signs in as the last login;
after a sign-out the next start asks, and an empty password then takes the one the keyring keeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from tests.fixtures.lan import build_studio_cluster, served_on_loopback
from x121_desktop.core.errors import DatabaseError
from x121_desktop.services.auth.credentials import CredentialStore
from x121_desktop.services.auth.login import MEMORY_FILE, Credentials, LoginMemory
from x121_desktop.services.bootstrap import LaunchOptions, Studio
from x121_desktop.ui.signin import LoginChoice, SignInDialog, SignInRequest, sign_in

PASSWORD = "pw-artist-1234"
CRITIC_PASSWORD = "pw-critic-5678"


def never_asked(request: SignInRequest) -> Credentials | None:
    raise AssertionError(f"sign-in asked for a password for {request.user}@{request.where}")


def session_user(studio: Studio) -> str:
    with studio.engine.connect() as conn:
        return str(conn.execute(text("SELECT session_user")).scalar_one())


def test_embedded_database_signs_in_silently(pg_tmp: Path) -> None:
    studio = sign_in(LaunchOptions(home=str(pg_tmp / "home")), ask=never_asked)
    try:
        assert studio.database.embedded
        assert studio.database.schema.up_to_date
    finally:
        studio.close()


@pytest.fixture
def scram_database(pg_tmp: Path) -> Iterator[str]:
    """A studio database served on loopback TCP with SCRAM passwords: creator `artist`, reviewer `critic`."""
    pgdata = pg_tmp / "pgdata"
    build_studio_cluster(pgdata, {"artist": ("creator", PASSWORD), "critic": ("reviewer", CRITIC_PASSWORD)})
    with served_on_loopback(pgdata) as port:
        yield f"postgresql://artist@127.0.0.1:{port}/x121"


def test_password_is_asked_again_when_wrong_then_kept_in_the_keyring(scram_database: str, tmp_path: Path) -> None:
    asked: list[SignInRequest] = []
    answers = ["not-the-password", PASSWORD]

    def ask(request: SignInRequest) -> Credentials | None:
        asked.append(request)
        return Credentials(request.user, answers.pop(0), remember=True)

    options = LaunchOptions(database_url=scram_database, home=str(tmp_path / "home"))
    studio = sign_in(options, ask=ask)
    try:
        assert not studio.database.embedded
        assert [r.where for r in asked] == [scram_database.removeprefix("postgresql://artist@")] * 2
        assert [r.user for r in asked] == ["artist", "artist"]  # the URL's user name, prefilled
        assert asked[0].problem is None  # nothing was tried: no password anywhere
        assert asked[1].problem is not None
        assert "rejected the password for role 'artist'" in asked[1].problem
        assert any("keyring" in n for n in studio.database.notices)
    finally:
        studio.close()
    again = sign_in(options, ask=never_asked)  # the keyring has it now
    again.close()


def test_not_keeping_the_password_and_cancelling(scram_database: str, tmp_path: Path) -> None:
    options = LaunchOptions(database_url=scram_database, home=str(tmp_path / "home"))
    studio = sign_in(options, ask=lambda request: Credentials(request.user, PASSWORD, remember=False))
    try:
        assert any("you chose not to" in n for n in studio.database.notices)
    finally:
        studio.close()
    with pytest.raises(DatabaseError, match="Sign-in was cancelled"):
        sign_in(options, ask=lambda request: None)


def test_another_user_name_signs_in_as_that_login_and_is_the_next_start(scram_database: str, tmp_path: Path) -> None:
    """Typing another user name signs in as that role; the next start is that login without asking, and
    after it signed out the next start asks (prefilled) and an empty password uses the keyring's."""
    home = tmp_path / "home"
    options = LaunchOptions(database_url=scram_database, home=str(home))
    studio = sign_in(options, ask=lambda request: Credentials("critic", CRITIC_PASSWORD, remember=True))
    try:
        assert session_user(studio) == "critic"
    finally:
        studio.close()
    assert json.loads((home / MEMORY_FILE).read_text())  # the user name only, never a password
    assert CRITIC_PASSWORD not in (home / MEMORY_FILE).read_text()
    studio = sign_in(options, ask=never_asked)
    try:
        assert session_user(studio) == "critic"  # the last login, not the URL's artist
    finally:
        studio.close()

    LoginMemory(home).signed_out(scram_database, "critic")
    asked: list[SignInRequest] = []

    def ask(request: SignInRequest) -> Credentials | None:
        asked.append(request)
        return Credentials(request.user, "", remember=True)  # empty: the keyring's password

    studio = sign_in(options, ask=ask)
    try:
        assert [(r.user, r.problem) for r in asked] == [("critic", None)]
        assert session_user(studio) == "critic"
    finally:
        studio.close()


def test_the_window_signs_in_as_the_cli_would_x121_database_user_first(
    scram_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule for the window and the CLI (services/auth/resolve.plan_login): X121_DATABASE_USER beats the
    last sign-in and the URL's user; the dialog is asked for that login, prefilled."""
    home = tmp_path / "home"
    options = LaunchOptions(database_url=scram_database, home=str(home))
    LoginMemory(home).signed_in(scram_database, "artist")
    monkeypatch.setenv("X121_DATABASE_USER", "critic")
    asked: list[SignInRequest] = []

    def ask(request: SignInRequest) -> Credentials | None:
        asked.append(request)
        return Credentials(request.user, CRITIC_PASSWORD, remember=False)

    studio = sign_in(options, ask=ask)
    try:
        assert [r.user for r in asked] == ["critic"]
        assert session_user(studio) == "critic"
    finally:
        studio.close()


def test_an_empty_password_with_nothing_kept_is_asked_again(scram_database: str, tmp_path: Path) -> None:
    options = LaunchOptions(database_url=scram_database, home=str(tmp_path / "home"))
    answers = [Credentials("critic", ""), Credentials("critic", CRITIC_PASSWORD, remember=False)]
    problems: list[str | None] = []

    def ask(request: SignInRequest) -> Credentials | None:
        problems.append(request.problem)
        return answers.pop(0)

    studio = sign_in(options, ask=ask)
    try:
        assert problems[1] is not None
        assert "No password for 'critic' is kept on this computer" in problems[1]
        assert CredentialStore().get(scram_database, "critic") is None  # not kept: the person said so
    finally:
        studio.close()


def test_dialog_asks_the_user_name_prefilled_and_returns_what_was_typed(qtbot: QtBot) -> None:
    request = SignInRequest("studio-db/x121", "artist", "The database rejected the password.")
    dialog = SignInDialog(request)
    qtbot.addWidget(dialog)
    assert dialog.problem.text() == "The database rejected the password."
    assert dialog.user.text() == "artist"
    assert dialog.user.isVisibleTo(dialog)
    assert dialog.password.isVisibleTo(dialog)
    assert not dialog.choices.isVisibleTo(dialog)
    assert dialog.answer() == Credentials("artist", "", remember=True)  # empty: the keyring's, if any
    dialog.user.setText("  critic ")
    dialog.password.setText("s3cret-pass")
    dialog.remember.setChecked(False)
    assert dialog.answer() == Credentials("critic", "s3cret-pass", remember=False)
    dialog.user.clear()
    assert dialog.answer() is None  # nobody to sign in as


def test_dialog_on_the_embedded_database_picks_a_login_without_a_password(qtbot: QtBot) -> None:
    choices = (LoginChoice("artist", "Artist (artist) · creator"), LoginChoice("postgres", "Database owner"))
    dialog = SignInDialog(SignInRequest("embedded single-user database", "artist", choices=choices))
    qtbot.addWidget(dialog)
    assert dialog.choices.isVisibleTo(dialog)
    assert not dialog.password.isVisibleTo(dialog)
    assert not dialog.remember.isVisibleTo(dialog)
    dialog.choices.setCurrentIndex(1)
    assert dialog.answer() == Credentials("postgres", "", remember=False)
