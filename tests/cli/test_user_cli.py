"""`x121 user …` against a real migrated database, signed in as real login roles.

The embedded test server trusts its socket, so `--database-url` needs no password; the
plaintext keyring the suite selects is pointed at the test's own folder.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as FailKeyring

from tests.db.security_studio import SUPERUSER, SecureStudio, build_secure_studio, drop_secure_studio
from tests.services.test_users import stored_verifier, verifier_matches
from x121_desktop.cli.main import main
from x121_desktop.core.enums import UserRole
from x121_desktop.db.embedded import EmbeddedServer


@pytest.fixture(scope="module")
def studio(pg_server: EmbeddedServer, new_database: Callable[[], str]) -> Iterator[SecureStudio]:
    built = build_secure_studio(pg_server, new_database)
    try:
        yield built
    finally:
        with built.connect(SUPERUSER) as conn:
            extra = [r[0] for r in conn.execute("SELECT role_name FROM users WHERE role_name <> 'postgres'")]
        built.roles.update({f"extra:{name}": name for name in extra})
        drop_secure_studio(built)


@pytest.fixture(autouse=True)
def _own_keyring_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def x121(studio: SecureStudio, who: str, *argv: str) -> int:
    """Run `x121 --database-url <who's login> ARGV…`; `who` is a fixture login or a role a test made."""
    url = studio.url(who) if who in studio.roles or who == SUPERUSER else studio.server.url(studio.dbname, who)
    return main(["--database-url", url, *argv])


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    return lambda text: monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_admin_adds_a_reviewer_from_stdin(
    studio: SecureStudio, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("rita")
    stdin("reviewer-password\n")
    code = x121(
        studio, "admin", "user", "add", name, "--role", "reviewer", "--display-name", "Rita", "--password-stdin"
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"Created reviewer {name} (Rita; reviewer, active).")
    assert "reviewer-password" not in out
    assert verifier_matches(stored_verifier(studio, name), "reviewer-password")
    assert x121(studio, name, "user", "whoami", "--json") == 0
    me = json.loads(capsys.readouterr().out)
    assert (me["name"], me["role"], me["active"]) == (name, UserRole.REVIEWER.value, True)


def test_list_as_json_and_table(studio: SecureStudio, capsys: pytest.CaptureFixture[str]) -> None:
    assert x121(studio, "reviewer", "user", "list", "--json") == 0
    users = {u["name"]: u for u in json.loads(capsys.readouterr().out)}
    assert users[studio.roles["creator"]]["role"] == UserRole.CREATOR.value
    assert x121(studio, "reviewer", "user", "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "DISPLAY", "NAME", "ROLE", "STATE"]
    assert any(line.startswith("postgres") and "(superuser)" in line for line in table)


@pytest.mark.parametrize("who", ["reviewer", "creator"])
def test_non_admins_are_refused_in_one_sentence(
    studio: SecureStudio, who: str, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("whatever-password\n")
    code = x121(studio, who, "user", "add", unique("eve"), "--role", "admin", "--password-stdin")
    err = capsys.readouterr().err.strip()
    assert code == 4
    assert err.startswith("x121: error: The database refused to create user")
    assert "\n" not in err


def test_no_password_and_no_terminal(
    studio: SecureStudio, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("")
    code = x121(studio, "admin", "user", "add", unique("nopw"), "--role", "reviewer")
    err = capsys.readouterr().err
    assert code == 2
    assert "there is no terminal to ask" in err
    assert "--password-stdin" in err


def test_generated_password_is_shown_once_and_works(studio: SecureStudio, capsys: pytest.CaptureFixture[str]) -> None:
    name = unique("gen")
    assert x121(studio, "admin", "user", "add", name, "--role", "creator", "--generate-password", "--json") == 0
    created = json.loads(capsys.readouterr().out)
    assert created["user"]["name"] == name
    assert verifier_matches(stored_verifier(studio, name), created["password"])


def test_role_changes_and_disable_enable(
    studio: SecureStudio, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("cy")
    stdin("creator-password\n")
    assert x121(studio, "admin", "user", "add", name, "--role", "reviewer", "--password-stdin") == 0
    assert x121(studio, "admin", "user", "set-role", name, "--role", "creator") == 0
    assert "creator, active" in capsys.readouterr().out
    assert x121(studio, "admin", "user", "disable", name) == 0
    assert capsys.readouterr().out.startswith(f"Disabled {name}")
    assert x121(studio, name, "user", "whoami") == 3  # cannot sign in any more
    assert "x121: error:" in capsys.readouterr().err
    assert x121(studio, "admin", "user", "enable", name) == 0
    assert x121(studio, "creator", "user", "disable", name) == 4
    assert x121(studio, "admin", "user", "set-role", unique("ghost"), "--role", "admin") == 5


def test_own_password_change_is_offered_to_the_keyring(
    studio: SecureStudio, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = unique("pat")
    stdin("first-password\n")
    assert x121(studio, "admin", "user", "add", name, "--role", "reviewer", "--password-stdin") == 0
    capsys.readouterr()
    stdin("second-password\n")
    assert x121(studio, name, "user", "passwd", "--password-stdin") == 0
    out = capsys.readouterr().out
    assert f"Password of {name} changed." in out
    assert "saved in the keyring" in out  # the suite opted in to keyrings.alt's plaintext file
    assert verifier_matches(stored_verifier(studio, name), "second-password")
    keyring_file = tmp_path / "data" / "python_keyring" / "keyring_pass.cfg"
    assert keyring_file.exists()
    assert x121(studio, name, "user", "forget") == 0
    assert x121(studio, name, "user", "forget") == 1
    stdin("third-password\n")
    assert x121(studio, "admin", "user", "passwd", name, "--password-stdin") == 0
    assert verifier_matches(stored_verifier(studio, name), "third-password")


def test_keyring_status_without_a_backend(capsys: pytest.CaptureFixture[str]) -> None:
    """What headless Linux without keyrings.alt gets: fail.Keyring, whose every call raises."""
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        assert main(["user", "keyring"]) == 1
    finally:
        keyring.set_keyring(previous)
    assert capsys.readouterr().out.startswith("No keyring is available on this machine")


def test_keyring_status_with_the_suites_plaintext_choice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "keyring"]) == 0
    assert "UNENCRYPTED" in capsys.readouterr().out
