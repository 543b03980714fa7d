"""`x121 db serve` hosts the studio database on TCP with SCRAM passwords; wrong passwords are refused."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ADMIN, PASSWORD = "boss", "correct-horse-battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _x121(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "x121_desktop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Path, int]]:
    home = Path(tempfile.mkdtemp(prefix="x121-served-"))
    home.chmod(0o755)
    port = _free_port()
    done = _x121(
        "--home", str(home), "db", "serve", "--listen", "127.0.0.1", "--port", str(port),
        "--admin", ADMIN, "--password-stdin", "--detach",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"Serving the studio database on 127.0.0.1:{port}" in done.stdout
    yield home, port
    stopped = _x121("--home", str(home), "db", "stop")
    shutil.rmtree(home, ignore_errors=True)
    assert stopped.returncode == 0, stopped.stderr


def test_right_password_connects_over_tcp(served: tuple[Path, int]) -> None:
    _, port = served
    with psycopg.connect(host="127.0.0.1", port=port, dbname="x121", user=ADMIN, password=PASSWORD) as conn:
        row = conn.execute("SELECT pg_has_role(current_user, 'x121_admin', 'MEMBER')").fetchone()
        assert row == (True,)


def test_status_through_the_cli_with_the_password(served: tuple[Path, int]) -> None:
    _, port = served
    url = f"postgresql://{ADMIN}@127.0.0.1:{port}/x121"
    done = _x121("--database-url", url, "db", "status", "--json", env={"X121_DATABASE_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    assert '"up_to_date": true' in done.stdout


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_wrong_or_missing_password_is_refused_in_one_sentence(served: tuple[Path, int], password: str | None) -> None:
    _, port = served
    url = f"postgresql://{ADMIN}@127.0.0.1:{port}/x121"
    env = {"X121_DATABASE_PASSWORD": password} if password else {}
    done = _x121("--database-url", url, "db", "status", env=env)  # stdin is a pipe: no terminal to ask on
    assert done.returncode == 3
    where = f"{ADMIN}@127.0.0.1:{port}/x121"
    if password:
        assert done.stderr.strip() == (
            f"x121: error: The database at {where} rejected the password for role '{ADMIN}'. "
            "Enter the right password (x121 asks for it and keeps it in the keyring), "
            "or ask an admin to reset it with `x121 user passwd`"
        )
    else:
        assert done.stderr.strip() == (
            f"x121: error: No password for {where} (the database URL) is kept on this computer and there is no "
            f"terminal to ask for it. Sign in once in X121 Studio as {ADMIN} keeping the password in the keyring, "
            f"run the command in a terminal to be asked, or give a full URL (postgresql://{ADMIN}:PASSWORD@HOST/DB) "
            "or X121_DATABASE_PASSWORD"
        )


def test_serve_refuses_bad_port_and_network(tmp_path: Path) -> None:
    done = _x121("--home", str(tmp_path), "db", "serve", "--port", "70000")
    assert done.returncode == 2
    assert "Port 70000 is not a TCP port" in done.stderr
    done = _x121("--home", str(tmp_path), "db", "serve", "--allow", "10.0.0.0/33")
    assert done.returncode == 2
    assert "is not a network" in done.stderr
