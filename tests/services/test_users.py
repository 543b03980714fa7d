"""User administration through the service, signed in as real login roles on a real PostgreSQL.

The service only asks; the SECURITY DEFINER functions of migration 0002 decide. Passwords
become SCRAM verifiers on the client: the server log (log_statement = all) never sees the
plaintext, and the stored verifier is checked against the password with the SCRAM maths.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import Engine

from tests.db.security_studio import SUPERUSER, SecureStudio, build_secure_studio, drop_secure_studio
from x121_desktop.core.enums import UserRole
from x121_desktop.core.errors import InvalidInput, NotFound, PermissionDenied
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.engine import DatabaseTarget, make_engine
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.users import UserAdminService, create_login_as_owner


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


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


@pytest.fixture
def service_as(studio: SecureStudio) -> Iterator[Callable[[str], UserAdminService]]:
    engines: list[Engine] = []
    runtime = Runtime()

    def make(who: str) -> UserAdminService:
        """`who`: a fixture login (`admin`, `reviewer`, …) or the role name of a user a test created."""
        url = studio.url(who) if who in studio.roles or who == SUPERUSER else studio.server.url(studio.dbname, who)
        engine = make_engine(DatabaseTarget(url), pool_size=1)
        engines.append(engine)
        return UserAdminService(engine, runtime)

    yield make
    runtime.shutdown()
    for engine in engines:
        engine.dispose()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def stored_verifier(studio: SecureStudio, role: str) -> str:
    with studio.connect(SUPERUSER) as conn:
        row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()
    assert row is not None
    return str(row[0])


def verifier_matches(verifier: str, password: str) -> bool:
    """SCRAM (RFC 7677): StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, …)."""
    mechanism, rest = verifier.split("$", 1)
    assert mechanism == "SCRAM-SHA-256"
    iter_salt, keys = rest.split("$")
    iterations, salt = iter_salt.split(":")
    stored_key, server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return (
        base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key
        and base64.b64encode(hmac.new(salted, b"Server Key", hashlib.sha256).digest()).decode() == server_key
    )


def group_of(studio: SecureStudio, role: str) -> set[str]:
    with studio.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
            (role,),
        ).fetchall()
    return {r[0] for r in rows}


def test_admin_adds_a_reviewer_and_the_password_never_reaches_the_server(
    studio: SecureStudio, service_as: Callable[[str], UserAdminService]
) -> None:
    admin_role = studio.roles["admin"]
    with studio.connect(SUPERUSER, autocommit=True) as su:
        su.execute(f"ALTER ROLE \"{admin_role}\" SET log_statement = 'all'")  # type: ignore[arg-type]
    try:
        name, password = unique("rita"), "Correct-Horse-42-" + uuid.uuid4().hex[:6]
        view = run(service_as("admin").add_user(name, UserRole.REVIEWER, password, "Rita Reviewer"))
    finally:
        with studio.connect(SUPERUSER, autocommit=True) as su:
            su.execute(f'ALTER ROLE "{admin_role}" RESET log_statement')  # type: ignore[arg-type]
    assert (view.name, view.display_name, view.role, view.active, view.can_login) == (
        name,
        "Rita Reviewer",
        UserRole.REVIEWER,
        True,
        True,
    )
    assert group_of(studio, name) == {"x121_reviewer"}
    verifier = stored_verifier(studio, name)
    assert verifier_matches(verifier, password)
    assert not verifier_matches(verifier, password + "x")
    log = (studio.server.pgdata / "log").read_text(errors="replace")
    assert "x121_create_user" in log  # statements were being logged...
    assert password not in log  # ...and the plaintext password was never among them
    # The new reviewer can sign in and is a known user.
    me = run(service_as(name).whoami())
    assert me is not None
    assert me.name == name


def test_list_shows_every_user_with_role_and_state(
    studio: SecureStudio, service_as: Callable[[str], UserAdminService]
) -> None:
    users = {u.name: u for u in run(service_as("reviewer").list_users())}
    assert users[studio.roles["creator"]].role is UserRole.CREATOR
    assert users[studio.roles["reviewer"]].role is UserRole.REVIEWER
    assert users["postgres"].superuser
    assert users["postgres"].role is UserRole.ADMIN


@pytest.mark.parametrize("who", ["reviewer", "creator"])
def test_only_admins_add_users(studio: SecureStudio, service_as: Callable[[str], UserAdminService], who: str) -> None:
    with pytest.raises(
        PermissionDenied, match=r"refused to create user .*permission denied for function x121_create_user"
    ):
        run(service_as(who).add_user(unique("eve"), UserRole.ADMIN, "long-enough-pw"))


def test_bad_names_and_passwords_are_refused_before_the_database(
    service_as: Callable[[str], UserAdminService],
) -> None:
    admin = service_as("admin")
    for bad in ("Bob", "x121_owner", "pg_monitor", "a-b", "1abc", "postgres"):
        with pytest.raises(InvalidInput):
            run(admin.add_user(bad, UserRole.REVIEWER, "long-enough-pw"))
    with pytest.raises(InvalidInput, match="shorter than 8"):
        run(admin.add_user(unique("shorty"), UserRole.REVIEWER, "short"))


def test_an_existing_role_name_is_refused_by_the_server(
    studio: SecureStudio, service_as: Callable[[str], UserAdminService]
) -> None:
    with pytest.raises(InvalidInput, match="already exists"):
        run(service_as("admin").add_user(studio.roles["creator"], UserRole.REVIEWER, "long-enough-pw"))


def test_role_change_moves_the_group_membership(
    studio: SecureStudio, service_as: Callable[[str], UserAdminService]
) -> None:
    admin = service_as("admin")
    name = unique("cora")
    run(admin.add_user(name, UserRole.REVIEWER, "long-enough-pw"))
    view = run(admin.set_role(name, UserRole.CREATOR))
    assert view.role is UserRole.CREATOR
    assert group_of(studio, name) == {"x121_creator"}
    with pytest.raises(PermissionDenied):
        run(service_as("creator").set_role(name, UserRole.ADMIN))
    with pytest.raises(NotFound):
        run(admin.set_role(unique("nobody"), UserRole.ADMIN))
    with pytest.raises(PermissionDenied, match="superuser"):
        run(admin.set_role("postgres", UserRole.REVIEWER))


def test_disabled_users_cannot_sign_in_until_enabled(
    studio: SecureStudio, service_as: Callable[[str], UserAdminService]
) -> None:
    admin = service_as("admin")
    name = unique("dora")
    run(admin.add_user(name, UserRole.REVIEWER, "long-enough-pw"))
    view = run(admin.set_active(name, False))
    assert (view.active, view.can_login) == (False, False)
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        psycopg.connect(**studio.server.conninfo(studio.dbname, name)).close()
    run(admin.set_active(name, True))
    psycopg.connect(**studio.server.conninfo(studio.dbname, name)).close()


def test_admins_cannot_lock_themselves_out(studio: SecureStudio, service_as: Callable[[str], UserAdminService]) -> None:
    with pytest.raises(PermissionDenied, match="your own account"):
        run(service_as("admin").set_active(studio.roles["admin"], False))


def test_passwords_change_by_the_user_or_an_admin(
    studio: SecureStudio, service_as: Callable[[str], UserAdminService]
) -> None:
    admin = service_as("admin")
    name = unique("pete")
    run(admin.add_user(name, UserRole.REVIEWER, "first-password"))
    role = run(service_as(name).change_own_password("second-password"))
    assert role == name
    assert verifier_matches(stored_verifier(studio, name), "second-password")
    run(admin.reset_password(name, "third-password"))
    assert verifier_matches(stored_verifier(studio, name), "third-password")
    with pytest.raises(PermissionDenied):
        run(service_as(name).reset_password(studio.roles["admin"], "hijacked-password"))


def test_create_login_as_owner_runs_inside_the_callers_transaction(studio: SecureStudio) -> None:
    """`x121 db serve --admin` creates the first admin as the superuser in its own transaction."""
    engine = make_engine(DatabaseTarget(studio.url(SUPERUSER)), pool_size=1)
    name = unique("first_admin")
    try:
        with engine.begin() as conn:
            new_id = create_login_as_owner(conn, name, "admin", "first-admin-pw")
        assert new_id > 0
        assert group_of(studio, name) == {"x121_admin"}
        assert verifier_matches(stored_verifier(studio, name), "first-admin-pw")
        with pytest.raises(InvalidInput, match="not a studio role"), engine.begin() as conn:
            create_login_as_owner(conn, unique("x"), "boss", "first-admin-pw")
    finally:
        engine.dispose()
