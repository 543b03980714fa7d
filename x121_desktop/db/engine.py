"""Engines per login role, the unit of work, and plain-sentence connection errors."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from x121_desktop.core.errors import DatabaseError, PermissionDenied

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

CONNECT_TIMEOUT_S = 5
PING_AFTER_IDLE_S = 2.0
"""A pooled connection that sat idle longer than this is pinged before it is handed out (the server
may have restarted meanwhile) and replaced if the ping fails. One in steady use is not pinged: a
ping is a round trip on every check-out, the largest part of a short transaction's cost."""
URL_SHAPE = "postgresql://USER@HOST:PORT/DATABASE"


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """Where to connect and as whom; `password` never goes into logs or reprs."""

    url: str
    password: str | None = None

    def __repr__(self) -> str:
        return f"DatabaseTarget(url={describe_url(self.url)!r})"


def parse_url(raw: str) -> URL:
    """Parse a user-given database URL, normalising it to the psycopg 3 driver."""
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise DatabaseError(
            f"The database URL {raw!r} is not a valid URL",
            f"Write it as {URL_SHAPE}",
        ) from exc
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise DatabaseError(
            f"The database URL {raw!r} is not a PostgreSQL URL (scheme {url.drivername!r})",
            f"X121 needs PostgreSQL; write it as {URL_SHAPE}",
        )
    if url.drivername != "postgresql+psycopg":
        url = url.set(drivername="postgresql+psycopg")
    if not url.database:
        raise DatabaseError(f"The database URL {raw!r} names no database", f"Write it as {URL_SHAPE}")
    return url


def describe_url(raw: str | URL) -> str:
    """URL for messages: without the password, and with the socket folder when there is no host."""
    url = raw if not isinstance(raw, str) else make_url(raw)
    host = url.host or str(url.query.get("host", "local socket"))
    port = f":{url.port}" if url.port else ""
    return f"{url.username or '?'}@{host}{port}/{url.database}"


def make_engine(target: DatabaseTarget, *, pool_size: int = 5, ping_after_idle_s: float = PING_AFTER_IDLE_S) -> Engine:
    url = parse_url(target.url)
    if target.password is not None:
        url = url.set(password=target.password)
    try:
        engine = create_engine(
            url,
            pool_size=pool_size,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "x121-studio"},
        )
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseError(
            f"The database URL {target.url!r} cannot be used ({exc})", f"Write it as {URL_SHAPE}"
        ) from exc
    ping_when_idle(engine, ping_after_idle_s)
    return engine


def ping_when_idle(engine: Engine, after_s: float) -> None:
    """Ping a pooled connection on check-out only when it was idle for `after_s` or longer (see PING_AFTER_IDLE_S)."""
    key = "x121_idle_since"

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        record.info[key] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _: PoolProxiedConnection) -> None:
        since = record.info.get(key)
        if since is None or time.monotonic() - since < after_s:
            return  # new, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops it and hands out a new connection instead
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc


def explain_connect_error(exc: BaseException, url: str | URL) -> DatabaseError:
    """Turn a driver error raised while connecting into one sentence naming the problem and the fix."""
    where = describe_url(url)
    msg = str(getattr(exc, "orig", None) or exc)
    low = msg.lower()
    u = url if not isinstance(url, str) else make_url(url)
    host = u.host or "the local socket"
    if "password authentication failed" in low or "no password supplied" in low:
        return DatabaseError(
            f"The database at {where} rejected the password for role {u.username!r}",
            "Enter the right password (x121 asks for it and keeps it in the keyring), "
            "or ask an admin to reset it with `x121 user passwd`",
        )
    if re.search(r'role ".*" does not exist', low):
        return DatabaseError(
            f"The database at {where} has no login role {u.username!r}",
            "Check the user name in the URL, or ask an admin to create you with `x121 user add`",
        )
    if re.search(r'database ".*" does not exist', low):
        return DatabaseError(
            f"The server at {host} has no database {u.database!r}",
            "Check the database name in the URL, or create it on the server and run `x121 db upgrade`",
        )
    if "could not translate host name" in low or "name or service not known" in low:
        return DatabaseError(
            f"The database host {host!r} cannot be found",
            "Check the host name in the URL (or use the server's IP address)",
        )
    if "connection refused" in low or "no such file or directory" in low or "timeout" in low or "timed out" in low:
        return DatabaseError(
            f"Cannot reach a database server at {where}",
            "Check the host and port, that the server is running (`x121 db serve` on the studio host), "
            "and that no firewall blocks the port",
        )
    if "pg_hba.conf" in low:
        return DatabaseError(
            f"The database at {where} does not accept connections from this machine",
            "Ask the studio admin to allow this address (x121 db serve --allow CIDR)",
        )
    return DatabaseError(f"Connecting to the database at {where} failed: {msg.strip().splitlines()[0]}", "")


def check_connection(engine: Engine) -> str:
    """Open one connection and return the server version; raise a DatabaseError sentence otherwise."""
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    except DBAPIError as exc:
        raise explain_connect_error(exc, engine.url) from exc


def translate_db_error(exc: DBAPIError) -> DatabaseError | PermissionDenied:
    """PostgreSQL refusals become PermissionDenied with the server's reason."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if code in ("42501", "P0001") or "permission denied" in first.lower() or "row-level security" in first:
        return PermissionDenied(f"The database refused this: {first}", "Ask a creator or admin to do it")
    return DatabaseError(f"The database reported an error: {first}", "")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One user operation = one transaction: commit on success, roll back on any error."""
    session = sessions()
    try:
        yield session
        session.commit()
    except DBAPIError as exc:
        session.rollback()
        raise translate_db_error(exc) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
