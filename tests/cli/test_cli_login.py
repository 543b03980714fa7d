"""`x121` signs in as the window does: the last login on this computer, its password from the keyring.

A real studio database served on loopback TCP with SCRAM passwords (tests/fixtures/lan.py: its own
embedded cluster, migrated, logins made by `create_login_as_owner`): creator `artist` (the user name the
configured URL carries), reviewer `critic`. The window's sign-in is `services.auth.login.open_as` (what
the sign-in dialog calls; it keeps the password in the keyring and remembers the login). The keyring is
keyrings.alt's plaintext file under each test's own home, opted into by PYTHON_KEYRING_BACKEND as
tests/conftest.py sets it. Terminal prompts run the real `x121` in a pseudo-terminal.
"""

from __future__ import annotations

import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.lan import build_studio_cluster, served_on_loopback
from x121_desktop.cli.main import main
from x121_desktop.core.enums import UserRole
from x121_desktop.db.embedded import EMBEDDED_DATABASE
from x121_desktop.services.auth.credentials import CredentialStore
from x121_desktop.services.auth.login import MEMORY_FILE, Credentials, LoginMemory, open_as
from x121_desktop.services.auth.resolve import USER_ENV, LoginSource
from x121_desktop.services.bootstrap import PASSWORD_ENV, LaunchOptions

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {"artist": "pw-artist-1234", "critic": "pw-critic-5678"}
ROLES = {"artist": "creator", "critic": "reviewer"}


@pytest.fixture(scope="module")
def lan_url() -> Iterator[str]:
    """`postgresql://artist@127.0.0.1:PORT/x121`: the configured URL, with the user name but no password."""
    root = Path(tempfile.mkdtemp(prefix="x121-test-pg-"))
    root.chmod(0o755)  # the server's OS user must reach it when tests run as root
    pgdata = root / "pgdata"
    build_studio_cluster(pgdata, {name: (ROLES[name], password) for name, password in PASSWORDS.items()})
    try:
        with served_on_loopback(pgdata) as port:
            yield f"postgresql://artist@127.0.0.1:{port}/{EMBEDDED_DATABASE}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's X121 home (X121_HOME) and keyring folder (XDG_DATA_HOME), from tests/conftest.py."""
    return _isolated_home


@pytest.fixture(autouse=True)
def _no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input is not a terminal (a script or CI), unless a test runs x121 in a pseudo-terminal."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    for name in (USER_ENV, PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)


def signed_in(url: str, home: Path, *users: str) -> None:
    """The window signed in as each of `users` in turn (the last one is the computer's last login)."""
    for user in users:
        studio = open_as(
            LaunchOptions(database_url=url, home=str(home)), Credentials(user, PASSWORDS[user], remember=True)
        )
        studio.close()


def whoami(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object], str]:
    code = main([*argv, "whoami", "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_default_is_the_last_login_of_the_window_with_its_kept_password(
    lan_url: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed_in(lan_url, home, "critic")
    code, me, err = whoami(capsys, "--database-url", lan_url)
    assert code == 0
    assert (me["name"], me["role"]) == ("critic", UserRole.REVIEWER.value)
    assert me["chosen_by"] == LoginSource.LAST_SIGN_IN.value
    assert me["database"] == lan_url.replace("postgresql://artist@", "critic@")
    # said once on stderr, since the URL names another user
    assert err.strip() == (
        "x121: Signing in as critic, the last sign-in on this computer (the database URL names artist); "
        f"choose another login with --user or {USER_ENV}."
    )
    assert PASSWORDS["critic"] not in err + (home / MEMORY_FILE).read_text(encoding="utf-8")
    # the text form says the same
    assert main(["--database-url", lan_url, "whoami"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"critic (Critic; reviewer, active) on {me['database']}, chosen by the last sign-in on this computer."
    )


def test_user_option_and_environment_choose_another_login_and_leave_the_window_alone(
    lan_url: str, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in(lan_url, home, "artist", "critic")  # both passwords kept; critic signed in last
    code, me, err = whoami(capsys, "--database-url", lan_url, "--user", "artist")
    assert (code, me["name"], me["role"], me["chosen_by"]) == (0, "artist", UserRole.CREATOR.value, "--user")
    assert err == ""
    monkeypatch.setenv(USER_ENV, "artist")
    code, me, _ = whoami(capsys, "--database-url", lan_url)
    assert (code, me["name"], me["chosen_by"]) == (0, "artist", USER_ENV)
    code, me, _ = whoami(capsys, "--database-url", lan_url, "--user", "critic")  # the option beats the variable
    assert (code, me["name"], me["chosen_by"]) == (0, "critic", "--user")
    last = LoginMemory(home).last(lan_url)
    assert last is not None
    assert last.user == "critic"  # the CLI never changes who the window signs in as


def test_no_kept_password_and_no_terminal_is_one_sentence_saying_what_to_do(
    lan_url: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = lan_url.replace("postgresql://artist@", "critic@")
    code, me, err = whoami(capsys, "--database-url", lan_url, "--user", "critic")
    assert (code, me) == (3, {})
    assert err == (
        f"x121: error: No password for {where} (--user) is kept on this computer and there is no terminal to ask "
        "for it. Sign in once in X121 Studio as critic keeping the password in the keyring, run the command in a "
        f"terminal to be asked, or give a full URL (postgresql://critic:PASSWORD@HOST/DB) or {PASSWORD_ENV}\n"
    )
    # nobody signed in here: the URL's user name, same sentence
    code, _, err = whoami(capsys, "--database-url", lan_url)
    assert code == 3
    assert err.startswith(f"x121: error: No password for artist@{where.split('@')[1]} (the database URL) is kept")


def test_a_login_that_signed_out_is_not_used_silently(
    lan_url: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed_in(lan_url, home, "critic")
    LoginMemory(home).signed_out(lan_url, "critic")  # what the window's Sign out writes
    code, _, err = whoami(capsys, "--database-url", lan_url)
    assert code == 3
    assert "x121: error: critic (the last sign-in on this computer) signed out of X121 Studio" in err
    assert f"name the login with --user critic (or {USER_ENV})" in err
    code, me, _ = whoami(capsys, "--database-url", lan_url, "--user", "critic")  # named: the kept password
    assert (code, me["name"]) == (0, "critic")


def test_a_url_with_user_and_password_overrides_the_last_login(
    lan_url: str, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in(lan_url, home, "critic")
    with_password = lan_url.replace("artist@", f"artist:{PASSWORDS['artist']}@")
    code, me, err = whoami(capsys, "--database-url", with_password)
    assert (code, me["name"], me["chosen_by"]) == (0, "artist", LoginSource.URL_WITH_PASSWORD.value)
    assert err == ""
    # X121_DATABASE_PASSWORD counts as the URL's password, as in the window
    monkeypatch.setenv(PASSWORD_ENV, PASSWORDS["artist"])
    code, me, _ = whoami(capsys, "--database-url", lan_url)
    assert (code, me["name"], me["chosen_by"]) == (0, "artist", LoginSource.URL_WITH_PASSWORD.value)
    # a wrong one is refused as given (no fallback to the keyring or the last login)
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    code, _, err = whoami(capsys, "--database-url", lan_url)
    assert code == 3
    assert "rejected the password for role 'artist'" in err


def test_forget_removes_the_password_of_the_login_commands_use(
    lan_url: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed_in(lan_url, home, "artist", "critic")
    assert main(["--database-url", lan_url, "user", "forget"]) == 0
    assert capsys.readouterr().out == "Forgot the stored password of critic for this database.\n"
    assert CredentialStore().get(lan_url, "critic") is None
    assert CredentialStore().get(lan_url, "artist") == PASSWORDS["artist"]


def test_the_embedded_default_is_still_its_owner_without_a_password(
    pg_tmp: Path, lan_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("X121_HOME", str(pg_tmp / "home"))
    signed_in(lan_url, pg_tmp / "home", "critic")  # a shared database's last login does not matter here
    code, me, err = whoami(capsys)
    assert code == 0
    assert (me["name"], me["superuser"], me["chosen_by"]) == ("postgres", True, LoginSource.EMBEDDED_OWNER.value)
    assert str(me["database"]).startswith("embedded database in ")
    assert err == ""
    # a login named there connects as that role, without a password, as the window's Sign out switch does
    monkeypatch.setattr("sys.stdin", io.StringIO("pw-rita-0001\n"))
    assert main(["user", "add", "rita", "--role", "reviewer", "--password-stdin"]) == 0
    capsys.readouterr()
    code, me, err = whoami(capsys, "--user", "rita")
    assert (code, me["name"], me["role"], me["superuser"]) == (0, "rita", UserRole.REVIEWER.value, False)
    assert me["chosen_by"] == "--user"
    assert str(me["database"]).endswith(" as rita")


def run_in_terminal(argv: list[str], password: str, *, timeout_s: float = 60) -> tuple[int, str]:
    """Run `python -m x121_desktop ARGV` on a pseudo-terminal, type `password` at its prompt; (exit code, screen)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "x121_desktop", *argv],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=REPO,
        env=os.environ.copy(),
        start_new_session=True,  # no terminal of pytest's: getpass turns echo off on this one
    )
    os.close(follower)
    screen = b""
    typed = False
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
            if not typed and b"Password for " in screen:
                os.write(leader, password.encode() + b"\n")
                typed = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    return code, screen.decode(errors="replace")


def test_on_a_terminal_the_password_is_asked_without_echo_and_kept(lan_url: str, home: Path) -> None:
    url_args = ["--database-url", lan_url, "--user", "critic", "whoami"]
    code, screen = run_in_terminal(url_args, PASSWORDS["critic"])
    where = lan_url.replace("postgresql://artist@", "critic@")
    assert code == 0, screen
    assert f"Password for {where}: " in screen
    assert PASSWORDS["critic"] not in screen  # getpass turned echo off
    assert "may be echoed" not in screen  # (getpass's warning when it cannot)
    assert "Password for critic saved in the keyring (keyrings.alt.file.PlaintextKeyring)" in screen
    assert "critic (Critic; reviewer, active)" in screen
    assert CredentialStore().get(lan_url, "critic") == PASSWORDS["critic"]

    # a kept password that is refused (changed on another computer) is asked for again, then replaced
    CredentialStore().put(lan_url, "critic", "an-old-password")
    code, screen = run_in_terminal(url_args, PASSWORDS["critic"])
    assert code == 0, screen
    assert f"Password for {where}: " in screen
    assert CredentialStore().get(lan_url, "critic") == PASSWORDS["critic"]
