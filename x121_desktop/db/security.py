"""Database-side security: role names, client-side SCRAM verifiers, and the user-admin calls.

PostgreSQL is the security boundary (ARCHITECTURE §5, docs/SECURITY.md). Every studio user
is a login role in one group role; the privileged changes (create a user, change a role,
disable, reset a password, final approval) are SECURITY DEFINER functions created by
migration 0002, which check the caller with `session_user`. This module only calls them.

Passwords never reach the server: `scram_verifier` computes the SCRAM-SHA-256 verifier with
libpq on this machine (`PGconn.encrypt_password`), and only the verifier is sent. The
functions refuse anything that is not a SCRAM verifier, so a plaintext password cannot be
stored by mistake either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import UserRole
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import UserId

OWNER_ROLE = "x121_owner"
"""Non-login role that owns every table, sequence and function (owners bypass RLS)."""

GROUP_ROLES: dict[UserRole, str] = {
    UserRole.ADMIN: "x121_admin",
    UserRole.CREATOR: "x121_creator",
    UserRole.REVIEWER: "x121_reviewer",
}
"""Non-login group role per studio role; admin ⊃ creator ⊃ reviewer by membership."""

ROLE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
RESERVED_PREFIXES = ("pg_", "x121_")
RESERVED_NAMES = frozenset({"postgres", "public", "none", "current_user", "session_user", "current_role"})
SCRAM_RE = re.compile(r"^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$")
MIN_PASSWORD_LENGTH = 8


def group_role(role: UserRole) -> str:
    return GROUP_ROLES[role]


def check_role_name(name: str) -> str:
    """A studio user name is a plain lower-case PostgreSQL role name we may create; return it."""
    if not ROLE_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"{name!r} cannot be a user name",
            "Use 1-63 lower-case letters, digits or underscores, starting with a letter or underscore",
        )
    if name.startswith(RESERVED_PREFIXES) or name in RESERVED_NAMES:
        raise InvalidInput(f"The user name {name!r} is reserved", "Choose another name")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password is shorter than {MIN_PASSWORD_LENGTH} characters",
            "Choose a longer password",
        )
    if "\n" in password or "\r" in password or "\x00" in password:
        raise InvalidInput("The password contains a line break or NUL character", "Choose another password")
    return password


def scram_verifier(pgconn: Any, role_name: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier for `role_name`/`password`, computed by libpq on this machine.

    `pgconn` is a live `psycopg.pq.PGconn` (any connection to the server will do); libpq
    uses it only for its client encoding, no query is sent.
    """
    check_password(password)
    raw: bytes = pgconn.encrypt_password(password.encode("utf-8"), role_name.encode("utf-8"), b"scram-sha-256")
    verifier = raw.decode("ascii")
    if not SCRAM_RE.fullmatch(verifier):  # pragma: no cover - libpq always returns this shape
        raise RuntimeError("libpq returned something that is not a SCRAM-SHA-256 verifier")
    return verifier


def verifier_on(connection: Connection, role_name: str, password: str) -> str:
    """`scram_verifier` using the psycopg connection under a SQLAlchemy Connection."""
    dbapi = connection.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a checked-out connection always has one
        raise RuntimeError("the SQLAlchemy connection has no live DBAPI connection")
    return scram_verifier(dbapi.pgconn, role_name, password)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One row of `users`, with whether its login role can currently sign in."""

    id: UserId
    role_name: str
    display_name: str
    role: UserRole
    is_active: bool
    can_login: bool
    is_superuser: bool


_USERS_QUERY = """
SELECT u.id, u.role_name, u.display_name, u.user_role_id, u.is_active,
       coalesce(r.rolcanlogin, false) AS can_login, coalesce(r.rolsuper, false) AS is_superuser
FROM users u LEFT JOIN pg_catalog.pg_roles r ON r.rolname = u.role_name
"""


def _record(row: Any) -> UserRecord:
    return UserRecord(
        id=UserId(row.id),
        role_name=row.role_name,
        display_name=row.display_name,
        role=UserRole(row.user_role_id),
        is_active=row.is_active,
        can_login=row.can_login,
        is_superuser=row.is_superuser,
    )


def list_users(connection: Connection) -> tuple[UserRecord, ...]:
    rows = connection.execute(text(_USERS_QUERY + " ORDER BY u.role_name"))
    return tuple(_record(r) for r in rows)


def get_user(connection: Connection, role_name: str) -> UserRecord | None:
    row = connection.execute(text(_USERS_QUERY + " WHERE u.role_name = :n"), {"n": role_name}).one_or_none()
    return None if row is None else _record(row)


def current_user(connection: Connection) -> UserRecord | None:
    """The users row the database maps this session to (see `x121_current_user_id()`)."""
    row = connection.execute(text(_USERS_QUERY + " WHERE u.id = x121_current_user_id()")).one_or_none()
    return None if row is None else _record(row)


def create_user(connection: Connection, role_name: str, role: UserRole, verifier: str, display_name: str) -> UserId:
    """CREATE ROLE … LOGIN with the verifier, GRANT the group, insert the users row (admins only)."""
    new_id = connection.execute(
        text("SELECT x121_create_user(:name, :code, :verifier, :display)"),
        {"name": role_name, "code": role.code, "verifier": verifier, "display": display_name},
    ).scalar_one()
    return UserId(int(new_id))


def set_user_role(connection: Connection, role_name: str, role: UserRole) -> None:
    connection.execute(text("SELECT x121_set_user_role(:name, :code)"), {"name": role_name, "code": role.code})


def set_user_active(connection: Connection, role_name: str, active: bool) -> None:
    connection.execute(text("SELECT x121_set_user_active(:name, :active)"), {"name": role_name, "active": active})


def set_user_password(connection: Connection, role_name: str, verifier: str) -> None:
    """An admin sets another user's password (the user's own change goes through `set_own_password`)."""
    connection.execute(
        text("SELECT x121_set_user_password(:name, :verifier)"), {"name": role_name, "verifier": verifier}
    )


def set_own_password(connection: Connection, verifier: str) -> None:
    """ALTER ROLE SESSION_USER PASSWORD '<verifier>': every role may change its own password."""
    if not SCRAM_RE.fullmatch(verifier):
        raise InvalidInput("Refusing to send a password that is not a SCRAM verifier", "This is a bug in X121")
    dbapi = connection.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover
        raise RuntimeError("the SQLAlchemy connection has no live DBAPI connection")
    statement = sql.SQL("ALTER ROLE SESSION_USER PASSWORD {}").format(sql.Literal(verifier))
    connection.exec_driver_sql(statement.as_string(dbapi))  # type: ignore[arg-type]  # psycopg Connection
