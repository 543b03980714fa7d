"""User administration: studio users are PostgreSQL login roles, managed through the database.

Every change goes through the SECURITY DEFINER functions of migration 0002, so the server
decides who may do it (admins for other users; anyone for their own password). Passwords
are turned into SCRAM verifiers on this machine before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.enums import UserRole
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.ids import UserId
from x121_desktop.db import security
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.transactions import engine_transaction, explain_refusal


@dataclass(frozen=True, slots=True)
class UserView:
    """A studio user as the UI and CLI show it."""

    id: UserId
    name: str
    """The PostgreSQL login role."""
    display_name: str
    role: UserRole
    active: bool
    can_login: bool
    superuser: bool


def _view(record: security.UserRecord) -> UserView:
    return UserView(
        id=record.id,
        name=record.role_name,
        display_name=record.display_name,
        role=record.role,
        active=record.is_active,
        can_login=record.can_login,
        superuser=record.is_superuser,
    )


def parse_role(code: str) -> UserRole:
    try:
        return UserRole.from_code(code)
    except ValueError:
        raise InvalidInput(
            f"{code!r} is not a studio role", f"Use one of: {', '.join(r.code for r in UserRole)}"
        ) from None


def create_login_as_owner(
    conn: object, name: str, role_code: str, password: str, display_name: str | None = None
) -> UserId:
    """Create a studio login inside the caller's transaction (used by `x121 db serve --admin`).

    `conn` is the SQLAlchemy Connection of that transaction, normally the superuser's.
    """
    if not isinstance(conn, Connection):
        raise TypeError(f"create_login_as_owner needs a SQLAlchemy Connection, not {type(conn).__name__}")
    security.check_role_name(name)
    role = parse_role(role_code)
    verifier = security.verifier_on(conn, name, password)
    try:
        with conn.begin_nested():
            return security.create_user(conn, name, role, verifier, display_name or name)
    except DBAPIError as exc:
        raise explain_refusal(exc, f"create user {name!r}") from exc


class UserAdminService:
    """Add, list and change studio users as the signed-in role; PostgreSQL checks every step."""

    def __init__(self, engine: Engine, runtime: Runtime) -> None:
        self._engine = engine
        self._runtime = runtime

    async def _write[T](self, doing: str, work: Callable[[Connection], T]) -> T:
        return await self._runtime.run(self._runtime.db_writer, engine_transaction, self._engine, doing, work)

    async def _read[T](self, doing: str, work: Callable[[Connection], T]) -> T:
        return await self._runtime.run(self._runtime.db_read, engine_transaction, self._engine, doing, work)

    async def add_user(self, name: str, role: UserRole, password: str, display_name: str | None = None) -> UserView:
        security.check_role_name(name)
        security.check_password(password)

        def work(conn: Connection) -> UserView:
            verifier = security.verifier_on(conn, name, password)
            security.create_user(conn, name, role, verifier, display_name or name)
            return self._must_get(conn, name)

        return await self._write(f"create user {name!r}", work)

    async def list_users(self) -> tuple[UserView, ...]:
        return await self._read("list users", lambda conn: tuple(_view(r) for r in security.list_users(conn)))

    async def whoami(self) -> UserView | None:
        def work(conn: Connection) -> UserView | None:
            record = security.current_user(conn)
            return None if record is None else _view(record)

        return await self._read("look up the signed-in user", work)

    async def set_role(self, name: str, role: UserRole) -> UserView:
        def work(conn: Connection) -> UserView:
            security.set_user_role(conn, name, role)
            return self._must_get(conn, name)

        return await self._write(f"change the role of {name!r}", work)

    async def set_active(self, name: str, active: bool) -> UserView:
        def work(conn: Connection) -> UserView:
            security.set_user_active(conn, name, active)
            return self._must_get(conn, name)

        return await self._write(f"{'enable' if active else 'disable'} user {name!r}", work)

    async def reset_password(self, name: str, password: str) -> None:
        """An admin sets another user's password."""
        security.check_password(password)

        def work(conn: Connection) -> None:
            security.set_user_password(conn, name, security.verifier_on(conn, name, password))

        await self._write(f"set the password of {name!r}", work)

    async def change_own_password(self, password: str) -> str:
        """Change the signed-in role's own password; returns the role name."""
        security.check_password(password)

        def work(conn: Connection) -> str:
            role = str(conn.exec_driver_sql("SELECT session_user").scalar_one())
            security.set_own_password(conn, security.verifier_on(conn, role, password))
            return role

        return await self._write("change your password", work)

    @staticmethod
    def _must_get(conn: Connection, name: str) -> UserView:
        record = security.get_user(conn, name)
        if record is None:
            raise NotFound(f"There is no studio user {name!r}", "Check the name with `x121 user list`")
        return _view(record)
