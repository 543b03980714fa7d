"""Bad database input gives one clear sentence naming the problem and the fix, and a non-zero exit."""

from __future__ import annotations

import socket

import pytest

from x121_desktop.cli.main import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "is not a valid URL"),
        ("mysql://root@db/x121", "is not a PostgreSQL URL"),
        ("postgresql://artist@127.0.0.1:5432/", "names no database"),
        ("postgresql://artist@host.invalid:5432/x121", "cannot be found"),
        (f"postgresql://artist@127.0.0.1:{_free_port()}/x121", "Cannot reach a database server"),
    ],
)
def test_bad_database_url_is_one_sentence(url: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--database-url", url, "db", "status"])
    err = capsys.readouterr().err.strip()
    assert code == 3
    assert expected in err
    assert err.startswith("x121: error: ")
    assert err.count("\n") == 0, "one sentence, no traceback"
    assert "Traceback" not in err


def test_environment_url_is_used_when_no_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("X121_DATABASE_URL", f"postgresql://artist@127.0.0.1:{_free_port()}/x121")
    assert main(["db", "status"]) == 3
    assert "Cannot reach a database server at artist@127.0.0.1" in capsys.readouterr().err


def test_broken_settings_file_names_file_and_key(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path_factory.mktemp("home")
    (home / "settings.toml").write_text("[studio]\ndatabase_url = 5\n")
    assert main(["--home", str(home), "db", "status"]) == 1
    err = capsys.readouterr().err
    assert "settings.toml: 'studio.database_url' must be a str, not int" in err
