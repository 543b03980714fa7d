"""A migrated studio database with real login roles, for tests that log in as each group.

The database is built by the migrations (its own database on the session's embedded
server, so committed test data never leaks into other tests). Users are created with
`x121_create_user` (the admin path) by the superuser; login roles are cluster-wide, so
their names carry a random suffix and are dropped at teardown. The embedded server uses
trust auth on its socket, so every role connects without a password.

Import the `secure_studio` fixture into a test module to use it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url

from tests.fixtures.database import fresh_migrated
from x121_desktop.core.enums import (
    CharacterMode,
    FileKind,
    JobKind,
    JobStatus,
    ProjectStatus,
    RetentionClass,
    SceneStatus,
    SeedKind,
    SeedOrigin,
    SeedPolicy,
    SegmentStatus,
    ServerStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
    Verdict,
)
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.security import scram_verifier

Conn = psycopg.Connection[Any]
SUPERUSER = "superuser"
LOGINS = {"reviewer": "reviewer", "reviewer2": "reviewer", "creator": "creator", "admin": "admin"}


@dataclass
class SecureStudio:
    server: EmbeddedServer
    dbname: str
    roles: dict[str, str]
    """Test login → PostgreSQL role name (`reviewer` → `t_reviewer_1a2b3c4d`)."""
    user_ids: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    """Fixture rows by name: project, character, seed_a, seed_b, take, spare_take, …"""

    def connect(self, who: str, *, autocommit: bool = False) -> Conn:
        user = "postgres" if who == SUPERUSER else self.roles[who]
        return psycopg.connect(**self.server.conninfo(self.dbname, user), autocommit=autocommit)

    def url(self, who: str = SUPERUSER) -> str:
        user = "postgres" if who == SUPERUSER else self.roles[who]
        return self.server.url(self.dbname, user)


def _one(conn: Conn, sql: str, *params: object) -> Any:
    row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def _populate(conn: Conn, studio: SecureStudio) -> None:
    """One small production: project → character → seeds A/B → scene → segment → takes, plus review rows."""
    uid = studio.user_ids
    cre = uid["creator"]

    def file(name: str) -> int:
        return int(
            _one(
                conn,
                "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by) "
                "VALUES (encode(sha256(%s::bytea), 'hex'), %s, 1024, %s, %s, %s) RETURNING id",
                name.encode(),
                f"media/{name}",
                FileKind.IMAGE,
                RetentionClass.WORKING,
                cre,
            )
        )

    ids = studio.ids
    ids["file_a"], ids["file_b"], ids["file_free"] = file("seed_a.png"), file("seed_b.png"), file("free.png")
    ids["project"] = _one(
        conn,
        "INSERT INTO projects (name, project_status_id, created_by) VALUES ('Privileges', %s, %s) RETURNING id",
        ProjectStatus.ACTIVE,
        cre,
    )
    ids["character"] = _one(
        conn,
        "INSERT INTO characters (project_id, name, character_mode_id, created_by) VALUES (%s, 'Ada', %s, %s) "
        "RETURNING id",
        ids["project"],
        CharacterMode.FORWARD,
        cre,
    )
    for kind, key in ((SeedKind.A, "a"), (SeedKind.B, "b")):
        ids[f"seed_{key}"] = _one(
            conn,
            "INSERT INTO seed_images (character_id, seed_kind_id, file_id, seed_origin_id, is_hero, created_by) "
            "VALUES (%s, %s, %s, %s, true, %s) RETURNING id",
            ids["character"],
            kind,
            ids[f"file_{key}"],
            SeedOrigin.GIVEN,
            cre,
        )
    ids["workflow"] = _one(conn, "INSERT INTO workflows (name, created_by) VALUES ('wan-i2v', %s) RETURNING id", cre)
    ids["workflow_version"] = _one(
        conn,
        "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, created_by) "
        "VALUES (%s, 1, repeat('c', 64), '{}'::jsonb, %s) RETURNING id",
        ids["workflow"],
        cre,
    )
    ids["scene"] = _one(
        conn,
        "INSERT INTO scenes (character_id, name, scene_status_id, min_frames, max_frames, seed_policy_id, "
        "stitch_mode_id, created_by) VALUES (%s, 'Walk', %s, 48, 240, %s, %s, %s) RETURNING id",
        ids["character"],
        SceneStatus.IN_PROGRESS,
        SeedPolicy.FIXED,
        StitchMode.SIMPLE,
        cre,
    )
    ids["segment"] = _one(
        conn,
        "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) VALUES (%s, 0, %s, 96) "
        "RETURNING id",
        ids["scene"],
        SegmentStatus.IN_REVIEW,
    )
    for key in ("take", "spare_take"):
        ids[key] = _one(
            conn,
            "INSERT INTO takes (segment_id, take_reason_id, take_status_id, created_by) VALUES (%s, %s, %s, %s) "
            "RETURNING id",
            ids["segment"],
            TakeReason.INITIAL,
            TakeStatus.READY,
            cre,
        )
    ids["server"] = _one(
        conn,
        "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES ('gpu-1', 'http://gpu-1:8188', %s) "
        "RETURNING id",
        ServerStatus.ONLINE,
    )
    ids["job"] = _one(
        conn,
        "INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id) VALUES (%s, %s, %s, %s) RETURNING id",
        uuid.uuid4(),
        cre,
        JobKind.GENERATE,
        JobStatus.QUEUED,
    )
    other = uid["reviewer2"]
    ids["other_comment"] = _one(
        conn,
        "INSERT INTO comments (project_id, take_id, author_id, body) VALUES (%s, %s, %s, 'too dark') RETURNING id",
        ids["project"],
        ids["take"],
        other,
    )
    ids["other_verdict"] = _one(
        conn,
        "INSERT INTO verdicts (take_id, reviewer_id, verdict_id) VALUES (%s, %s, %s) RETURNING id",
        ids["take"],
        other,
        Verdict.FLAG,
    )
    conn.execute('INSERT INTO user_secrets (user_id, data) VALUES (%s, \'{"api_token": "s3cr3t"}\'::jsonb)', (other,))
    conn.execute(
        "INSERT INTO segment_locks (segment_id, holder_id, machine, expires_at) "
        "VALUES (%s, %s, 'ws-7', now() + interval '1 hour')",
        (ids["segment"], cre),
    )


def build_secure_studio(server: EmbeddedServer, new_database: Callable[[], str]) -> SecureStudio:
    url = fresh_migrated(new_database)
    dbname = make_url(url).database
    assert dbname is not None
    suffix = uuid.uuid4().hex[:8]
    studio = SecureStudio(server, dbname, {login: f"t_{login}_{suffix}" for login in LOGINS})
    with studio.connect(SUPERUSER) as conn:
        for login, code in LOGINS.items():
            role = studio.roles[login]
            verifier = scram_verifier(conn.pgconn, role, f"pw-{role}")
            studio.user_ids[login] = _one(
                conn, "SELECT x121_create_user(%s, %s, %s, %s)", role, code, verifier, login.title()
            )
        _populate(conn, studio)
    return studio


def drop_secure_studio(studio: SecureStudio) -> None:
    with psycopg.connect(**studio.server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{studio.dbname}" WITH (FORCE)')  # type: ignore[arg-type]
        for role in studio.roles.values():
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def secure_studio(pg_server: EmbeddedServer, new_database: Callable[[], str]) -> Iterator[SecureStudio]:
    studio = build_secure_studio(pg_server, new_database)
    try:
        yield studio
    finally:
        drop_secure_studio(studio)
