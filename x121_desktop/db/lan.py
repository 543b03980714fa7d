"""Hosting the embedded PostgreSQL for the LAN with the bundled binaries.

pgserver itself only ever listens on a Unix socket with trust auth. For a studio, the same
data folder is restarted with `pg_ctl` listening on TCP, and every host line of pg_hba.conf
demands SCRAM-SHA-256 passwords. The local socket (inside the data folder, readable only by
the server's OS user) keeps trust so this machine's own tools still work.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from x121_desktop.core.errors import DatabaseError, InvalidInput
from x121_desktop.db.embedded import _orphan_running, bin_dir

HBA_MARK = "# x121: managed by `x121 db serve`"


@dataclass(frozen=True, slots=True)
class LanEndpoint:
    listen: str
    port: int
    allow: tuple[str, ...]


def validate_endpoint(listen: str, port: int, allow: tuple[str, ...]) -> LanEndpoint:
    if not 1 <= port <= 65535:
        raise InvalidInput(f"Port {port} is not a TCP port", "Use a number from 1 to 65535, e.g. 5432")
    for addr in (a.strip() for a in listen.split(",")):
        if addr in ("*", "localhost"):
            continue
        try:
            ipaddress.ip_address(addr)
        except ValueError as exc:
            raise InvalidInput(
                f"Listen address {addr!r} is not an IP address", "Use e.g. 0.0.0.0, 127.0.0.1 or 192.168.1.10"
            ) from exc
    for cidr in allow:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise InvalidInput(f"--allow {cidr!r} is not a network", "Write it as CIDR, e.g. 192.168.1.0/24") from exc
    return LanEndpoint(listen, port, allow)


def write_hba(pgdata: Path, allow: tuple[str, ...]) -> None:
    """Replace pg_hba.conf: local socket trust, every TCP client SCRAM, only loopback + allowed networks."""
    lines = [
        HBA_MARK,
        "local   all   all                 trust",
        "host    all   all   127.0.0.1/32  scram-sha-256",
        "host    all   all   ::1/128       scram-sha-256",
    ]
    lines += [f"host    all   all   {ipaddress.ip_network(c, strict=False)}  scram-sha-256" for c in allow]
    hba = pgdata / "pg_hba.conf"
    tmp = hba.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    _chown_like(tmp, pgdata)
    os.replace(tmp, hba)


def _chown_like(path: Path, like: Path) -> None:
    st = like.stat()
    if os.geteuid() == 0:
        os.chown(path, st.st_uid, st.st_gid)
    path.chmod(0o600)


def _as_server_user(cmd: list[str]) -> list[str]:
    # pgserver starts the server as the unprivileged 'pgserver' OS user when run by root.
    return ["runuser", "-u", "pgserver", "--", *cmd] if os.geteuid() == 0 else cmd


def pg_ctl(pgdata: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cmd = _as_server_user([str(bin_dir() / "pg_ctl"), "-D", str(pgdata), *args])
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)


def start_lan(pgdata: Path, endpoint: LanEndpoint) -> None:
    """Start the server on TCP with SCRAM; the data folder must be initialised and no server running."""
    if _orphan_running(pgdata):
        raise DatabaseError(
            f"A database server already runs on {pgdata}",
            "Close X121 Studio on this machine (or stop the other `x121 db serve`) and try again",
        )
    log = pgdata / "lan.log"
    opts = f"-k {pgdata} -h {endpoint.listen} -p {endpoint.port} -c password_encryption=scram-sha-256"
    done = pg_ctl(pgdata, "-w", "-t", "30", "-l", str(log), "-o", opts, "start")
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        hint = " / ".join(tail) or done.stderr.strip()
        in_use = "address already in use" in hint.lower()
        raise DatabaseError(
            f"The database could not listen on {endpoint.listen}:{endpoint.port} ({hint})",
            "Choose another --port" if in_use else f"See {log}",
        )


def stop_lan(pgdata: Path) -> None:
    pg_ctl(pgdata, "-w", "-m", "fast", "stop")
