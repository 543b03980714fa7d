"""PostgreSQL itself enforces the RBAC matrix (docs/SECURITY.md), not the app.

Each act logs in with psycopg directly (no X121 code in between) as a reviewer and must be
refused by the server, with the SQLSTATE asserted (42501 insufficient_privilege covers
missing GRANTs, EXECUTE revoked from PUBLIC, row-level security WITH CHECK failures, role
DDL and the guard triggers); acts on rows that row-level security hides must have no
effect. The same act (or, where the database offers one, its sanctioned path) then
succeeds for the role that may do it. Every attempt uses its own connection and is
rolled back, so the acts do not disturb one another.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import JobKind, JobStatus, RetentionClass, ServerStatus, UserRole, Verdict
from x121_desktop.db.security import scram_verifier

__all__ = ["secure_studio"]  # the fixture, imported for this module

INSUFFICIENT_PRIVILEGE = "42501"
RESTRICT_VIOLATION = "23001"
NO_EFFECT = "no effect"
"""Row-level security hid the rows: the statement ran but saw or changed nothing."""

Stmt = tuple[str, tuple[Any, ...]]
Stmts = Callable[[SecureStudio], list[Stmt]]


@dataclass(frozen=True)
class Act:
    name: str
    statements: Stmts
    refusal: str
    allowed_as: str | None
    """The login that may do it (`superuser`: only the database owner); None: nobody."""
    sanctioned: Stmts | None = None
    """What the allowed login runs instead, when the sanctioned path is a function."""
    creator_refusal: str | None = None
    """Also refused for creators, with this outcome (admin-only and nobody's acts)."""


def _s(sql: str, *keys: str) -> Stmts:
    """A one-statement act; `keys` name fixture values (studio.ids, `uid:<login>`, `role:<login>`)."""

    def build(studio: SecureStudio) -> list[Stmt]:
        return [(sql, tuple(_value(studio, k) for k in keys))]

    return build


def _value(studio: SecureStudio, key: str) -> Any:
    kind, _, name = key.partition(":")
    if kind == "uid":
        return studio.user_ids[name]
    if kind == "role":
        return studio.roles[name]
    if kind == "lit":
        return int(name) if name.isdigit() else name
    return studio.ids[key]


def _role_sql(template: str, login: str) -> Stmts:
    """DDL naming a role (identifiers cannot be parameters)."""
    return lambda studio: [(template.format(role=studio.roles[login]), ())]


def _create_user_stmt(studio: SecureStudio) -> list[Stmt]:
    name = f"t_new_{uuid.uuid4().hex[:8]}"
    return [("SELECT x121_create_user(%s, 'reviewer', %s, 'New')", (name, _VERIFIERS[name]))]


class _Verifiers(dict[str, str]):
    """SCRAM verifiers made on demand with libpq (any connection's PGconn will do)."""

    pgconn: Any = None

    def __missing__(self, role: str) -> str:
        assert self.pgconn is not None
        value = scram_verifier(self.pgconn, role, f"pw-{role}-new")
        self[role] = value
        return value


_VERIFIERS = _Verifiers()


def _reset_password_stmt(studio: SecureStudio) -> list[Stmt]:
    role = studio.roles["creator"]
    return [("SELECT x121_set_user_password(%s, %s)", (role, _VERIFIERS[role]))]


ACTS: list[Act] = [
    Act(
        "approve a final",
        _s("SELECT x121_approve_final(%s, 'ship it')", "take"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "insert an approval row directly",
        _s("INSERT INTO approvals (take_id, approved_by) VALUES (%s, %s)", "take", "uid:reviewer"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
        sanctioned=lambda s: [
            ("SELECT x121_approve_final(%s, '')", (s.ids["take"],)),
            ("SELECT 1 FROM approvals WHERE take_id = %s AND approved_by = %s", (s.ids["take"], s.user_ids["creator"])),
        ],
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "withdraw a final approval",
        _s("SELECT x121_revoke_final(%s)", "take"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "delete a seed image",
        _s("DELETE FROM seed_images WHERE id = %s", "seed_a"),
        INSUFFICIENT_PRIVILEGE,
        None,
        creator_refusal=RESTRICT_VIOLATION,
    ),
    Act(
        "overwrite a seed image's file",
        _s("UPDATE seed_images SET file_id = %s WHERE id = %s", "file_free", "seed_b"),
        INSUFFICIENT_PRIVILEGE,
        None,
        creator_refusal=RESTRICT_VIOLATION,
    ),
    Act(
        "choose the hero seed",
        _s("UPDATE seed_images SET is_hero = false WHERE id = %s", "seed_a"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "change a workflow version",
        _s("UPDATE workflow_versions SET note = 'tweaked' WHERE id = %s", "workflow_version"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "create a workflow",
        _s("INSERT INTO workflows (name) VALUES ('my-own-flow')"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "read another user's secrets",
        _s("SELECT data FROM user_secrets WHERE user_id = %s", "uid:reviewer2"),
        NO_EFFECT,
        "reviewer2",
    ),
    Act(
        "write secrets for another user",
        _s("INSERT INTO user_secrets (user_id, data) VALUES (%s, '{}'::jsonb)", "uid:creator"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "grant itself the admin role",
        _role_sql("GRANT x121_admin TO {role}", "reviewer"),
        INSUFFICIENT_PRIVILEGE,
        "admin",
        sanctioned=_s("SELECT x121_set_user_role(%s, 'admin')", "role:reviewer"),
    ),
    Act(
        "promote itself in the users table",
        _s("UPDATE users SET user_role_id = %s WHERE id = %s", f"lit:{UserRole.ADMIN.value}", "uid:reviewer"),
        INSUFFICIENT_PRIVILEGE,
        "admin",
        sanctioned=_s("SELECT x121_set_user_role(%s, 'creator')", "role:reviewer"),
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "give itself CREATEROLE",
        _role_sql("ALTER ROLE {role} CREATEROLE", "reviewer"),
        INSUFFICIENT_PRIVILEGE,
        SUPERUSER,
    ),
    Act(
        "make itself superuser",
        _role_sql("ALTER ROLE {role} SUPERUSER", "reviewer"),
        INSUFFICIENT_PRIVILEGE,
        SUPERUSER,
    ),
    Act(
        "become the table owner",
        _s("SET ROLE x121_owner"),
        INSUFFICIENT_PRIVILEGE,
        SUPERUSER,
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "add a ComfyUI server",
        _s(
            "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES ('rogue', 'http://rogue:8188', %s)",
            f"lit:{ServerStatus.ONLINE.value}",
        ),
        INSUFFICIENT_PRIVILEGE,
        "admin",
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "report server health",
        _s("UPDATE comfy_servers SET last_seen_at = now() WHERE id = %s", "server"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "change a file's retention class",
        _s(
            "UPDATE files SET retention_class_id = %s WHERE id = %s", f"lit:{RetentionClass.SCRATCH.value}", "file_free"
        ),
        INSUFFICIENT_PRIVILEGE,
        "admin",
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "delete a take",
        _s("DELETE FROM takes WHERE id = %s", "spare_take"),
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "submit a job",
        lambda s: [
            (
                "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id) VALUES (%s, %s, %s)",
                (uuid.uuid4(), JobKind.GENERATE.value, JobStatus.QUEUED.value),
            )
        ],
        INSUFFICIENT_PRIVILEGE,
        "creator",
    ),
    Act(
        "edit another user's comment",
        _s("UPDATE comments SET body = 'rewritten' WHERE id = %s", "other_comment"),
        INSUFFICIENT_PRIVILEGE,
        "reviewer2",
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "delete another user's comment",
        _s("DELETE FROM comments WHERE id = %s", "other_comment"),
        INSUFFICIENT_PRIVILEGE,
        "admin",
        creator_refusal=NO_EFFECT,
    ),
    Act(
        "vote in another user's name",
        _s(
            "INSERT INTO verdicts (take_id, reviewer_id, verdict_id) VALUES (%s, %s, %s)",
            "spare_take",
            "uid:reviewer2",
            f"lit:{Verdict.APPROVE.value}",
        ),
        INSUFFICIENT_PRIVILEGE,
        "reviewer",
        sanctioned=_s(
            "INSERT INTO verdicts (take_id, verdict_id) VALUES (%s, %s)", "spare_take", f"lit:{Verdict.APPROVE.value}"
        ),
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "change another user's vote",
        _s("UPDATE verdicts SET verdict_id = %s WHERE id = %s", f"lit:{Verdict.REJECT.value}", "other_verdict"),
        INSUFFICIENT_PRIVILEGE,
        "reviewer2",
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "rename another user",
        _s("UPDATE users SET display_name = 'Mallory' WHERE id = %s", "uid:creator"),
        NO_EFFECT,
        "creator",
    ),
    Act(
        "break another user's segment lock",
        _s("DELETE FROM segment_locks WHERE segment_id = %s", "segment"),
        INSUFFICIENT_PRIVILEGE,
        "admin",
    ),
    Act(
        "create a user",
        _create_user_stmt,
        INSUFFICIENT_PRIVILEGE,
        "admin",
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "reset another user's password",
        _reset_password_stmt,
        INSUFFICIENT_PRIVILEGE,
        "admin",
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "drop a table",
        _s("DROP TABLE node_timings"),
        INSUFFICIENT_PRIVILEGE,
        SUPERUSER,
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "create a table in public",
        _s("CREATE TABLE public.probe (x integer)"),
        INSUFFICIENT_PRIVILEGE,
        SUPERUSER,
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "truncate a table",
        _s("TRUNCATE job_events"),
        INSUFFICIENT_PRIVILEGE,
        SUPERUSER,
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
    Act(
        "disable the seed permanence trigger",
        _s("ALTER TABLE seed_images DISABLE TRIGGER x121_seed_images_permanent"),
        INSUFFICIENT_PRIVILEGE,
        SUPERUSER,
        creator_refusal=INSUFFICIENT_PRIVILEGE,
    ),
]


def _attempt(studio: SecureStudio, who: str, statements: list[Stmt]) -> int | psycopg.Error:
    """Run the statements as `who` in one transaction that is rolled back; the last rowcount or the error."""
    conn = studio.connect(who)
    try:
        rowcount = -1
        for sql, params in statements:
            rowcount = conn.execute(sql, params).rowcount  # type: ignore[arg-type]
        return rowcount
    except psycopg.Error as exc:
        return exc
    finally:
        conn.rollback()
        conn.close()


def _assert_refused(outcome: int | psycopg.Error, refusal: str, act: Act, who: str) -> None:
    if refusal == NO_EFFECT:
        assert outcome == 0, f"{who} could {act.name}: {outcome!r}"
        return
    assert isinstance(outcome, psycopg.Error), f"{who} could {act.name} (rowcount {outcome})"
    assert outcome.sqlstate == refusal, f"{act.name}: {outcome.sqlstate} {outcome}"


@pytest.fixture(scope="module", autouse=True)
def _verifier_conn(secure_studio: SecureStudio) -> Any:
    with secure_studio.connect(SUPERUSER) as conn:
        _VERIFIERS.pgconn = conn.pgconn
        yield
        _VERIFIERS.pgconn = None


def test_at_least_fifteen_forbidden_acts() -> None:
    assert len(ACTS) >= 15
    assert len({a.name for a in ACTS}) == len(ACTS)


@pytest.mark.parametrize("act", ACTS, ids=lambda a: a.name.replace(" ", "_"))
def test_reviewer_is_refused(secure_studio: SecureStudio, act: Act) -> None:
    outcome = _attempt(secure_studio, "reviewer", act.statements(secure_studio))
    _assert_refused(outcome, act.refusal, act, "a reviewer")


@pytest.mark.parametrize("act", [a for a in ACTS if a.allowed_as], ids=lambda a: a.name.replace(" ", "_"))
def test_allowed_role_succeeds(secure_studio: SecureStudio, act: Act) -> None:
    assert act.allowed_as is not None
    statements = (act.sanctioned or act.statements)(secure_studio)
    outcome = _attempt(secure_studio, act.allowed_as, statements)
    assert not isinstance(outcome, psycopg.Error), f"{act.allowed_as} could not {act.name}: {outcome}"
    assert outcome != 0, f"{act.allowed_as} ran '{act.name}' but it changed or saw nothing"


@pytest.mark.parametrize("act", [a for a in ACTS if a.creator_refusal], ids=lambda a: a.name.replace(" ", "_"))
def test_creator_is_refused_admin_only_acts(secure_studio: SecureStudio, act: Act) -> None:
    assert act.creator_refusal is not None
    outcome = _attempt(secure_studio, "creator", act.statements(secure_studio))
    _assert_refused(outcome, act.creator_refusal, act, "a creator")


def test_reviewer_can_do_the_review_work(secure_studio: SecureStudio) -> None:
    """Reviewers comment, annotate, vote, keep presence, settings and secrets, and mark notifications read."""
    s = secure_studio
    conn = s.connect("reviewer")
    try:
        comment = conn.execute(
            "INSERT INTO comments (project_id, take_id, frame, body) VALUES (%s, %s, 12, 'hair pops') "
            "RETURNING id, author_id",
            (s.ids["project"], s.ids["take"]),
        ).fetchone()
        assert comment is not None
        assert comment[1] == s.user_ids["reviewer"]
        conn.execute(
            "INSERT INTO comment_mentions (comment_id, user_id) VALUES (%s, %s)", (comment[0], s.user_ids["creator"])
        )
        assert conn.execute("UPDATE comments SET body = 'hair pops at 12' WHERE id = %s", (comment[0],)).rowcount == 1
        conn.execute(
            "INSERT INTO annotations (take_id, annotation_kind_id, frame_start, data) VALUES (%s, 2, 12, '{}'::jsonb)",
            (s.ids["take"],),
        )
        conn.execute(
            "INSERT INTO verdicts (take_id, verdict_id) VALUES (%s, %s)", (s.ids["take"], Verdict.REJECT.value)
        )
        conn.execute("INSERT INTO presence (machine, segment_id) VALUES ('ws-3', %s)", (s.ids["segment"],))
        conn.execute("INSERT INTO user_settings (key, value) VALUES ('player.loop', 'true'::jsonb)")
        conn.execute('INSERT INTO user_secrets (data) VALUES (\'{"token": "mine"}\'::jsonb)')
        assert conn.execute("SELECT count(*) FROM user_secrets").fetchone() == (1,)
        event = conn.execute(
            "INSERT INTO activity_events (project_id, activity_kind_id) VALUES (%s, 14) RETURNING id",
            (s.ids["project"],),
        ).fetchone()
        assert event is not None
        conn.execute(
            "INSERT INTO notifications (user_id, notification_kind_id, activity_event_id) VALUES (%s, 1, %s)",
            (s.user_ids["creator"], event[0]),
        )
        conn.execute("SELECT x121_set_comment_resolved(%s, true)", (s.ids["other_comment"],))
        assert conn.execute("SELECT count(*) FROM seed_images").fetchone() == (2,)  # reads production data
    finally:
        conn.rollback()
        conn.close()


def test_notifications_only_about_own_events(secure_studio: SecureStudio) -> None:
    s = secure_studio
    with s.connect(SUPERUSER) as su:
        other_event = su.execute(
            "INSERT INTO activity_events (actor_id, activity_kind_id) VALUES (%s, 14) RETURNING id",
            (s.user_ids["reviewer2"],),
        ).fetchone()
        assert other_event is not None
        su.execute(
            "INSERT INTO notifications (user_id, notification_kind_id, activity_event_id) VALUES (%s, 1, %s)",
            (s.user_ids["reviewer2"], other_event[0]),
        )
        su.commit()
        try:
            forged = _attempt(
                s,
                "reviewer",
                [
                    (
                        "INSERT INTO notifications (user_id, notification_kind_id, activity_event_id) "
                        "VALUES (%s, 1, %s)",
                        (s.user_ids["creator"], other_event[0]),
                    )
                ],
            )
            assert isinstance(forged, psycopg.Error)
            assert forged.sqlstate == INSUFFICIENT_PRIVILEGE
            assert _attempt(s, "reviewer", [("SELECT * FROM notifications", ())]) == 0
            assert _attempt(s, "reviewer2", [("SELECT * FROM notifications", ())]) == 1
            assert _attempt(s, "reviewer", [("UPDATE notifications SET read_at = now()", ())]) == 0
        finally:
            su.execute("DELETE FROM activity_events WHERE id = %s", (other_event[0],))
            su.commit()


def test_expired_lock_can_be_taken_over_but_a_live_one_cannot(secure_studio: SecureStudio) -> None:
    s = secure_studio
    take_over = [
        (
            "UPDATE segment_locks SET holder_id = x121_current_user_id(), machine = 'ws-9' WHERE segment_id = %s",
            (s.ids["segment"],),
        ),
    ]
    assert _attempt(s, "admin", take_over) == 0  # the creator's live lock is not the admin's to take (only to break)
    with s.connect(SUPERUSER) as su:
        su.execute(
            "UPDATE segment_locks SET acquired_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' "
            "WHERE segment_id = %s",
            (s.ids["segment"],),
        )
        su.commit()
        try:
            assert _attempt(s, "admin", take_over) == 1
            steal = [("UPDATE segment_locks SET machine = 'ws-9' WHERE segment_id = %s", (s.ids["segment"],))]
            refused = _attempt(s, "reviewer", steal)
            assert isinstance(refused, psycopg.Error)
            assert refused.sqlstate == INSUFFICIENT_PRIVILEGE
        finally:
            su.execute(
                "UPDATE segment_locks SET acquired_at = now(), expires_at = now() + interval '1 hour' "
                "WHERE segment_id = %s",
                (s.ids["segment"],),
            )
            su.commit()


# ------------------------------------------------------------------ catalog invariants
def test_every_object_belongs_to_the_owner_and_nothing_to_public(secure_studio: SecureStudio) -> None:
    """A later revision that forgets to hand its tables to x121_owner or grant them fails here."""
    with secure_studio.connect(SUPERUSER) as conn:
        not_owned = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') "
            "AND pg_get_userbyid(c.relowner) <> 'x121_owner' "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"
        ).fetchall()
        unreadable = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
            "AND NOT has_table_privilege('x121_reviewer', c.oid, 'SELECT')"
        ).fetchall()
        public_grants = conn.execute(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = 'public' AND grantee = 'PUBLIC'"
        ).fetchall()
        public_create = conn.execute("SELECT has_schema_privilege('public', 'public', 'CREATE')").fetchone()
    assert not_owned == []
    assert unreadable == []
    assert public_grants == []
    assert public_create == (False,)


def test_privileged_functions_are_pinned_and_not_public(secure_studio: SecureStudio) -> None:
    with secure_studio.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT p.proname, p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner), "
            "has_function_privilege('public', p.oid, 'EXECUTE') "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname LIKE 'x121\\_%'"
        ).fetchall()
    assert {r[0] for r in rows} >= {"x121_approve_final", "x121_create_user", "x121_current_user_id"}
    for name, definer, config, owner, public_exec in rows:
        assert owner == "x121_owner", name
        assert not public_exec, f"{name} is executable by PUBLIC"
        assert config is not None, f"{name} has no fixed search_path"
        assert any(c.startswith("search_path=pg_catalog") for c in config), (name, config)
        if name in ("x121_approve_final", "x121_create_user", "x121_set_user_role", "x121_set_user_active"):
            assert definer, f"{name} must be SECURITY DEFINER"


def test_superuser_session_maps_to_the_bootstrap_admin(secure_studio: SecureStudio) -> None:
    """The embedded single-user default runs as the superuser; it is a known admin user."""
    with secure_studio.connect(SUPERUSER) as conn:
        row = conn.execute(
            "SELECT u.role_name, r.code FROM users u JOIN user_role r ON r.id = u.user_role_id "
            "WHERE u.id = x121_current_user_id()"
        ).fetchone()
    assert row == ("postgres", "admin")


OWNERS_SQL = "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"


def test_downgrade_removes_the_security_and_upgrade_restores_it(new_database: Callable[[], str]) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from x121_desktop.db.migrate import alembic_config, upgrade

    engine = create_engine(new_database())
    try:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
        with engine.connect() as conn:
            owners = {
                r[0]
                for r in conn.exec_driver_sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
            }
            policies = conn.exec_driver_sql("SELECT count(*) FROM pg_policies").scalar_one()
            functions = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_proc WHERE starts_with(proname, 'x121_')"
            ).scalar_one()
        assert owners == {"postgres"}
        assert policies == 0
        assert functions == 0
        status = upgrade(engine)
        assert status.up_to_date
        with engine.connect() as conn:
            owners = {
                r[0]
                for r in conn.exec_driver_sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
            }
        assert owners == {"x121_owner"}
    finally:
        engine.dispose()


def test_approval_function_checks_the_caller_even_if_execute_leaked(secure_studio: SecureStudio) -> None:
    """Defence in depth: with EXECUTE wrongly granted, x121_approve_final still checks session_user's role."""
    s = secure_studio
    reviewer = s.roles["reviewer"]
    with s.connect(SUPERUSER, autocommit=True) as su:
        su.execute(f'GRANT EXECUTE ON FUNCTION x121_approve_final(integer, text) TO "{reviewer}"')  # type: ignore[arg-type]
        try:
            outcome = _attempt(s, "reviewer", [("SELECT x121_approve_final(%s, 'sneaky')", (s.ids["take"],))])
        finally:
            su.execute(f'REVOKE EXECUTE ON FUNCTION x121_approve_final(integer, text) FROM "{reviewer}"')  # type: ignore[arg-type]
    assert isinstance(outcome, psycopg.Error)
    assert outcome.sqlstate == INSUFFICIENT_PRIVILEGE
    assert "only creators and admins can give final approval" in str(outcome)


def test_final_approval_records_the_approver(secure_studio: SecureStudio) -> None:
    s = secure_studio
    conn = s.connect("creator")
    try:
        approval_id = conn.execute("SELECT x121_approve_final(%s, 'lovely')", (s.ids["take"],)).fetchone()
        row = conn.execute(
            "SELECT id, approved_by, note FROM approvals WHERE take_id = %s", (s.ids["take"],)
        ).fetchone()
        assert approval_id is not None
        assert row == (approval_id[0], s.user_ids["creator"], "lovely")
        assert conn.execute("SELECT x121_revoke_final(%s)", (s.ids["take"],)).fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM approvals").fetchone() == (0,)
    finally:
        conn.rollback()
        conn.close()
