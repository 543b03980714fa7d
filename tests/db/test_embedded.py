"""The embedded server starts, is shared by processes, and recovers after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from x121_desktop.db.embedded import EMBEDDED_DATABASE, _orphan_running, start_embedded, stop_orphan


@pytest.fixture
def pgdata(pg_tmp: Path) -> Path:
    return pg_tmp / "pgdata"


def _query_one(server_conninfo: dict[str, object], sql: str) -> object:
    with psycopg.connect(**server_conninfo) as conn:  # type: ignore[arg-type]
        row = conn.execute(sql).fetchone()
        assert row is not None
        return row[0]


def test_start_creates_studio_database_with_pgvector(pgdata: Path) -> None:
    server = start_embedded(pgdata)
    try:
        assert _query_one(server.conninfo(), "SELECT current_database()") == EMBEDDED_DATABASE
        avail = _query_one(server.conninfo(), "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
        assert avail == 1
    finally:
        server.release()
    assert not _orphan_running(pgdata), "the last handle out must stop the server"


def test_crashed_process_leaves_an_orphan_that_next_start_recovers(pgdata: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from x121_desktop.db.embedded import start_embedded
        start_embedded(Path({str(pgdata)!r}))
        print("up", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "up"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert _orphan_running(pgdata), "SIGKILL orphans the server (PLATFORM.md)"

    started = time.monotonic()
    server = start_embedded(pgdata)
    try:
        assert child.pid in server.recovery.dead_handles_pruned
        assert server.recovery.orphan_server_adopted
        assert _query_one(server.conninfo(), "SELECT 1") == 1
        assert time.monotonic() - started < 10
    finally:
        server.release()
    assert not _orphan_running(pgdata), "after recovery, the last handle out stops the server again"


def test_stop_orphan_stops_a_server_nobody_holds(pgdata: Path) -> None:
    server = start_embedded(pgdata, keep_running=True)
    server.release()
    assert _orphan_running(pgdata)
    assert stop_orphan(pgdata)
    assert not _orphan_running(pgdata)
