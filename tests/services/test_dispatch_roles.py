"""Who may dispatch: the real dispatcher and queue service signed in as studio logins (migration 0002).

- A worker signed in as a creator (not the superuser) claims another user's job, runs it on a
  stand-in ComfyUI, stores outputs, timings and cost, and tells the owner: the grants and RLS of
  docs/SECURITY.md allow every step.
- A reviewer can neither submit nor dispatch, and is told so in one sentence.
- `x121 server add`'s service registers 1 running + 1 queued slot by default.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_runner import (
    executions,
    fresh_database,
    insert_job,
    job_events,
    job_state,
    quick_prompt,
    register_server,
    server,
    store_file,
    tiny_png,
)
from x121_desktop.core.enums import JobStatus
from x121_desktop.core.errors import PermissionDenied
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.security import scram_verifier
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest
from x121_desktop.services.servers import ServerService

__all__ = ["server"]  # the stand-in ComfyUI fixture


@pytest.fixture(scope="module")
def logins(new_database: Callable[[], str], pg_server: EmbeddedServer) -> Iterator[tuple[str, dict[str, str]]]:
    """A migrated database with a workflow, and a creator and a reviewer login: (superuser URL, role → URL)."""
    url = fresh_database(new_database)
    database = make_url(url).database
    assert database is not None
    roles = {code: f"t_{code}_{uuid.uuid4().hex[:8]}" for code in ("creator", "reviewer")}
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for code, role in roles.items():
                verifier = scram_verifier(conn.connection.dbapi_connection.pgconn, role, "pw-long-enough")  # type: ignore[union-attr]
                conn.execute(text("SELECT x121_create_user(:r, :c, :v, :c)"), {"r": role, "c": code, "v": verifier})
            wid = conn.execute(text("INSERT INTO workflows (name) VALUES ('roles') RETURNING id")).scalar_one()
            manifest = {"format": "x121.workflow-manifest", "version": 1, "parameters": {}}
            conn.execute(
                text(
                    "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, manifest) "
                    "VALUES (:w, 1, :h, CAST(:a AS jsonb), CAST(:m AS jsonb))"
                ),
                {"w": wid, "h": "ab" * 32, "a": json.dumps(quick_prompt("roles")), "m": json.dumps(manifest)},
            )
    finally:
        engine.dispose()
    yield url, {code: pg_server.url(database, role) for code, role in roles.items()}
    with psycopg.connect(**pg_server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for role in roles.values():
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _studio(url: str, home: Path) -> Studio:
    return open_studio(LaunchOptions(database_url=url, home=str(home)))


def _owner_of(engine: Engine, job: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT owner_id FROM jobs WHERE id = :j"), {"j": job}).scalar_one())


def test_a_creator_worker_claims_and_completes_another_users_job(
    logins: tuple[str, dict[str, str]], server: ComfyTestServer, tmp_path: Path
) -> None:
    admin_url, urls = logins
    home = tmp_path / "home"
    admin = _studio(admin_url, home)
    creator = _studio(urls["creator"], home)  # same media store: the render box's view of the studio
    try:
        register_server(admin.engine, "roles-a", server.url)
        job = insert_job(
            admin.engine, quick_prompt("creator"), {"1.image": store_file(admin.engine, home / "media", tiny_png(5))}
        )
        owner = _owner_of(admin.engine, job)  # the superuser's admin row, not the creator
        dispatcher = Dispatcher(creator, lease_s=3.0, poll_s=0.5, once=True)
        asyncio.run(asyncio.wait_for(dispatcher.run(), timeout=45))
        status, attempts, error = job_state(admin.engine, job)
        assert (status, attempts, error) == (JobStatus.SUCCEEDED, 1, None)
        assert [k for k, _ in job_events(admin.engine, job)][-1] == "succeeded"
        assert len(executions(server)) == 1
        role = make_url(urls["creator"]).username
        with admin.engine.connect() as conn:
            creator_id = conn.execute(text("SELECT id FROM users WHERE role_name = :r"), {"r": role}).scalar_one()
            outputs = conn.execute(text("SELECT count(*) FROM job_outputs WHERE job_id = :j"), {"j": job}).scalar_one()
            cost = conn.execute(text("SELECT count(*) FROM cost_records WHERE job_id = :j"), {"j": job}).scalar_one()
            wrote = conn.execute(text("SELECT DISTINCT created_by FROM files f JOIN job_outputs o ON o.file_id = f.id "
                                      "WHERE o.job_id = :j"), {"j": job}).scalars().all()  # fmt: skip
        assert creator_id != owner
        assert (outputs, cost) == (1, 1)
        assert wrote == [creator_id]  # the output file row was written by the creator's login
        assert dispatcher.stats.finished == {"succeeded": 1}
    finally:
        creator.close()
        admin.close()


def test_a_reviewer_can_neither_submit_nor_dispatch(
    logins: tuple[str, dict[str, str]], server: ComfyTestServer, tmp_path: Path
) -> None:
    admin_url, urls = logins
    admin = _studio(admin_url, tmp_path / "admin")
    reviewer = _studio(urls["reviewer"], tmp_path / "reviewer")
    try:
        register_server(admin.engine, "roles-b", server.url)
        job = insert_job(admin.engine, quick_prompt("reviewer"))
        with pytest.raises(PermissionDenied) as submit:
            asyncio.run(JobQueueService(reviewer).submit(SubmitRequest("roles", {})))
        assert submit.value.sentence == (
            "This database login may not submit jobs (permission denied for table jobs). "
            "Sign in as a creator or an admin; reviewers only watch jobs"
        )
        with pytest.raises(PermissionDenied, match=r"may not dispatch jobs \(permission denied for table jobs\)"):
            asyncio.run(asyncio.wait_for(Dispatcher(reviewer, lease_s=3.0, once=True).run(), timeout=30))
        assert job_state(admin.engine, job)[0] is JobStatus.QUEUED  # nothing moved
        assert executions(server) == []
    finally:
        reviewer.close()
        admin.close()


def test_server_add_defaults_to_one_running_and_one_queued_slot(
    logins: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    admin = _studio(logins[0], tmp_path / "home")
    try:
        service = ServerService(admin.sessions, admin.runtime)
        view = asyncio.run(service.add("roles-default", "http://127.0.0.1:1"))
        assert (view.slots, view.queued_slots) == (1, 1)
        wide = asyncio.run(service.add("roles-wide", "http://127.0.0.1:2", slots=2, queued_slots=0))
        assert (wide.slots, wide.queued_slots) == (2, 0)
    finally:
        admin.close()
