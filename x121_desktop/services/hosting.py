"""`x121 db serve`: turn this machine's embedded database into the studio's shared server.

The data folder is the same one the embedded single-user mode uses, so a studio that grew
out of one workstation keeps its history. The schema is upgraded, a first admin login is
created if asked, then the server restarts on TCP with SCRAM passwords for every client.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.errors import DatabaseError, InvalidInput
from x121_desktop.db.embedded import EMBEDDED_DATABASE, _orphan_running, start_embedded
from x121_desktop.db.engine import DatabaseTarget, make_engine
from x121_desktop.db.lan import start_lan, stop_lan, validate_endpoint, write_hba
from x121_desktop.db.migrate import upgrade
from x121_desktop.services.bootstrap import LaunchOptions
from x121_desktop.settings.paths import resolve_home


@dataclass(frozen=True, slots=True)
class LanServeRequest:
    listen: str
    port: int
    allow: tuple[str, ...] = ()
    admin: str | None = None
    admin_password_from_stdin: bool = False
    detach: bool = False


def serve_lan(
    options: LaunchOptions,
    request: LanServeRequest,
    *,
    say: Callable[[str], None],
    read_password: Callable[[], str] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Host the database until `stop` is set (or SIGINT/SIGTERM), unless detached."""
    if options.database_url:
        raise InvalidInput(
            "`x121 db serve` hosts this machine's own database and takes no --database-url",
            "Run it without --database-url (use --home to pick the data folder)",
        )
    endpoint = validate_endpoint(request.listen, request.port, request.allow)
    paths = resolve_home(options.home)

    server = start_embedded(paths.pgdata)
    try:
        engine = make_engine(DatabaseTarget(server.url()))
        try:
            upgrade(engine)
            with engine.begin() as conn:
                admins = _admin_logins(conn)
                if request.admin and request.admin not in admins:
                    password = _new_password(request, read_password)
                    _create_admin(conn, request.admin, password)
                    admins.append(request.admin)
                    say(f"Created admin login {request.admin!r}.")
            if not admins:
                raise InvalidInput(
                    "The studio database has no admin login yet, so nobody could sign in over the network",
                    "Run `x121 db serve --admin NAME` once to create the first admin",
                )
        finally:
            engine.dispose()
    finally:
        server.release()
    if _orphan_running(paths.pgdata):
        raise DatabaseError(
            f"The database in {paths.pgdata} is still open in X121 Studio on this machine",
            "Close the studio here, then run `x121 db serve` again",
        )

    write_hba(paths.pgdata, endpoint.allow)
    start_lan(paths.pgdata, endpoint)
    host = "THIS-HOST" if endpoint.listen in ("0.0.0.0", "*", "::") else endpoint.listen
    say(
        f"Serving the studio database on {endpoint.listen}:{endpoint.port} (SCRAM passwords). "
        f"Workstations connect with: x121 --database-url postgresql://USER@{host}:{endpoint.port}/{EMBEDDED_DATABASE}"
    )
    if request.detach:
        say(f"Left running; stop it with: x121 db stop --home {paths.home}")
        return 0
    stopped = stop or threading.Event()
    previous = {s: signal.signal(s, lambda *_: stopped.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        say("Press Ctrl+C to stop.")
        stopped.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        stop_lan(paths.pgdata)
        say("Database server stopped.")
    return 0


def stop_served(options: LaunchOptions) -> bool:
    paths = resolve_home(options.home)
    if not _orphan_running(paths.pgdata):
        return False
    stop_lan(paths.pgdata)
    return not _orphan_running(paths.pgdata)


def _admin_logins(conn: Connection) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT m.rolname FROM pg_roles m JOIN pg_auth_members am ON am.member = m.oid "
            "JOIN pg_roles g ON g.oid = am.roleid WHERE g.rolname = 'x121_admin' AND m.rolcanlogin"
        )
    )
    return [r[0] for r in rows]


def _new_password(request: LanServeRequest, read_password: Callable[[], str] | None) -> str:
    if request.admin_password_from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif read_password is not None:
        password = read_password()
    else:
        import getpass

        if not sys.stdin.isatty():
            raise InvalidInput(
                f"A password is needed for the new admin {request.admin!r} and there is no terminal to ask",
                "Pass it on standard input with --password-stdin",
            )
        password = getpass.getpass(f"New password for admin {request.admin}: ")
    if len(password) < 8:
        raise InvalidInput("The admin password is shorter than 8 characters", "Choose a longer password")
    return password


def _create_admin(conn: Connection, name: str, password: str) -> None:
    from x121_desktop.services.users import create_login_as_owner

    create_login_as_owner(conn, name, "admin", password)
