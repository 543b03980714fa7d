"""A secure studio (tests/db/security_studio.py) plus a second creator, Carl, for the job-rights tests.

Acts are tried as real logins with psycopg (what anyone with psql could do) or through the
repository functions on a SQLAlchemy engine signed in as the login (what the dispatcher does).
Jobs are inserted by the superuser and removed again after each test (`made_jobs`).

Import `rights` and `made_jobs` (and `secure_studio`, which `rights` uses) into a test module.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from tests.db.security_studio import SUPERUSER, SecureStudio
from x121_desktop.core.enums import JobKind, JobStatus
from x121_desktop.db.security import scram_verifier

Conn = psycopg.Connection[Any]
REFUSED = "42501"
ILLEGAL = "23514"


@dataclass
class Rights:
    studio: SecureStudio
    carl_role: str
    carl_id: int
    engines: dict[str, Engine] = field(default_factory=dict)

    def role(self, who: str) -> str:
        return self.carl_role if who == "carl" else self.studio.roles[who]

    def user_id(self, who: str) -> int:
        return self.carl_id if who == "carl" else self.studio.user_ids[who]

    def connect(self, who: str, *, autocommit: bool = False) -> Conn:
        if who == "carl":
            info = self.studio.server.conninfo(self.studio.dbname, self.carl_role)
            return psycopg.connect(**info, autocommit=autocommit)
        return self.studio.connect(who, autocommit=autocommit)

    def engine(self, who: str) -> Engine:
        """A SQLAlchemy engine signed in as `who` (for the repository functions)."""
        if who not in self.engines:
            user = "postgres" if who == SUPERUSER else self.role(who)
            self.engines[who] = create_engine(self.studio.server.url(self.studio.dbname, user), pool_size=2)
        return self.engines[who]

    def act(self, who: str, sql: str, *params: object) -> str:
        """Run one statement as `who` and roll it back: 'ok', or the SQLSTATE it was refused with."""
        with self.connect(who) as conn:
            try:
                conn.execute(sql, params)  # type: ignore[arg-type]
            except psycopg.Error as exc:
                return str(exc.sqlstate)
            finally:
                conn.rollback()
        return "ok"

    def one(self, sql: str, *params: object) -> Any:
        """One value read by the superuser."""
        with self.connect(SUPERUSER) as conn:
            row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return row[0]


@pytest.fixture(scope="module")
def rights(secure_studio: SecureStudio) -> Iterator[Rights]:
    s = secure_studio
    carl_role = f"t_carl_{uuid.uuid4().hex[:8]}"
    with s.connect(SUPERUSER) as su:
        verifier = scram_verifier(su.pgconn, carl_role, f"pw-{carl_role}")
        row = su.execute("SELECT x121_create_user(%s, 'creator', %s, 'Carl')", (carl_role, verifier)).fetchone()
    assert row is not None
    found = Rights(s, carl_role, int(row[0]))
    try:
        yield found
    finally:
        for engine in found.engines.values():
            engine.dispose()
        with psycopg.connect(**s.server.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{s.dbname}" WITH (FORCE)')  # type: ignore[arg-type]
            conn.execute(f'DROP ROLE IF EXISTS "{carl_role}"')  # type: ignore[arg-type]


type MakeJob = Callable[..., int]


@pytest.fixture
def made_jobs(rights: Rights) -> Iterator[MakeJob]:
    """`make(owner_login, priority=0, work=None, inputs=None, created_at=None)`: a queued job, committed."""
    made: list[int] = []

    def make(
        owner: str,
        priority: int = 0,
        work: float | None = None,
        inputs: dict[str, Any] | None = None,
        created_at: str | None = None,
    ) -> int:
        with rights.connect(SUPERUSER) as conn:
            row = conn.execute(
                "INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id, priority, inputs, work_estimate, "
                "workflow_version_id, created_at) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, "
                "COALESCE(%s::timestamptz, now())) RETURNING id",
                (
                    uuid.uuid4(),
                    rights.user_id(owner),
                    JobKind.GENERATE,
                    JobStatus.QUEUED,
                    priority,
                    json.dumps(inputs or {"params": {"seed": 1}, "files": {}}),
                    work,
                    rights.studio.ids["workflow_version"],
                    created_at,
                ),
            ).fetchone()
        assert row is not None
        made.append(int(row[0]))
        return int(row[0])

    yield make
    with rights.connect(SUPERUSER) as conn:
        conn.execute(
            "DELETE FROM notifications WHERE activity_event_id IN (SELECT id FROM activity_events "
            "WHERE job_id = ANY(%s))",
            (made,),
        )
        for table in ("activity_events", "cost_records"):
            conn.execute(f"DELETE FROM {table} WHERE job_id = ANY(%s)", (made,))  # type: ignore[arg-type]
        conn.execute("DELETE FROM jobs WHERE id = ANY(%s)", (made,))


@pytest.fixture
def no_pause_left(rights: Rights) -> Iterator[None]:
    """Paused queues are studio-wide rows: each test that pauses one leaves none behind (use it autouse)."""
    yield
    with rights.connect(SUPERUSER) as conn:
        conn.execute("DELETE FROM job_queue_pauses")
