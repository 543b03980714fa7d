"""Job rights (revision 0012) with the real dispatcher, stand-in ComfyUI and two creator logins, Ada and Bob.

- Ada's workstation claims a job and goes silent; its lease lapses. Bob's dispatcher (a creator,
  not the superuser) takes the job back, claims it again and runs it to the end through the
  stand-in: every write of the run passes the database's guards as Bob's login, the job records
  Bob as its lease login, and Ada's late writes are refused.
- Through the services: a creator's submission above priority 0 is refused in one sentence, an
  admin's is accepted; a creator's retry of an admin-raised job is queued at priority 0.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from tests.comfyui_server import ComfyTestServer
from tests.services.test_dispatch_roles import logins
from tests.services.test_runner import (
    executions,
    insert_job,
    job_events,
    job_state,
    quick_prompt,
    register_server,
    server,
    store_file,
    tiny_png,
)
from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import PermissionDenied
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.repositories import job_dispatch
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.db.security import scram_verifier
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.job_board import JobBoardService
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest

__all__ = ["logins", "server"]  # a migrated database with creator and reviewer logins; the stand-in ComfyUI

Logins = tuple[str, dict[str, str]]


@pytest.fixture(scope="module")
def bob(logins: Logins, pg_server: EmbeddedServer) -> Iterator[str]:
    """A second creator login (test_dispatch_roles' `logins` has one creator, Ada here): its URL."""
    admin_url, _ = logins
    database = make_url(admin_url).database
    assert database is not None
    role = f"t_bob_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url)
    try:
        with engine.begin() as conn:
            verifier = scram_verifier(conn.connection.dbapi_connection.pgconn, role, "pw-long-enough")  # type: ignore[union-attr]
            conn.execute(text("SELECT x121_create_user(:r, 'creator', :v, 'Bob')"), {"r": role, "v": verifier})
    finally:
        engine.dispose()
    yield pg_server.url(database, role)
    with psycopg.connect(**pg_server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')  # type: ignore[arg-type]


def _studio(url: str, home: Path) -> Studio:
    return open_studio(LaunchOptions(database_url=url, home=str(home)))


def test_a_lapsed_claim_is_taken_back_and_run_to_the_end_by_another_creators_dispatcher(
    logins: Logins, bob: str, server: ComfyTestServer, tmp_path: Path, pg_server: EmbeddedServer
) -> None:
    admin_url, urls = logins
    urls = {"ada": urls["creator"], "bob": bob}
    home = tmp_path / "home"
    admin, ada, bob_s = _studio(admin_url, home), _studio(urls["ada"], home), _studio(urls["bob"], home)
    try:
        server_id = register_server(admin.engine, "rights-a", server.url)
        job = insert_job(
            admin.engine, quick_prompt("rights"), {"1.image": store_file(admin.engine, home / "media", tiny_png(3))}
        )
        ada_holder = "ws-ada:1:gone"
        with ada.engine.begin() as conn:  # Ada's workstation claims it, then goes silent
            claimed = job_dispatch.assign(conn, job, ada_holder, timedelta(seconds=30), server_id, {"server": "a"})
        assert claimed is not None
        with admin.engine.begin() as conn:  # ...long enough for its lease to lapse
            conn.execute(text("UPDATE jobs SET lease_expires_at = now() - interval '1 s' WHERE id = :j"), {"j": job})
        with bob_s.engine.begin() as conn:  # what Bob's dispatcher heartbeat does
            assert repo.reclaim_expired(conn) == [job]
        dispatcher = Dispatcher(bob_s, lease_s=3.0, poll_s=0.5, once=True)
        asyncio.run(asyncio.wait_for(dispatcher.run(), timeout=45))
        assert job_state(admin.engine, job) == (JobStatus.SUCCEEDED, 2, None)
        events = job_events(admin.engine, job)
        assert [k for k, _ in events][:4] == ["claimed", "lost", "requeued", "claimed"]  # Ada's, then Bob's
        assert events[1][1]["holder"] == ada_holder
        assert events[-1][0] == "succeeded"
        assert len(executions(server)) == 1
        bob_role, ada_role = make_url(urls["bob"]).username, make_url(urls["ada"]).username
        with admin.engine.connect() as conn:
            login = conn.execute(text("SELECT lease_login FROM jobs WHERE id = :j"), {"j": job}).scalar_one()
            outputs = conn.execute(text("SELECT count(*) FROM job_outputs WHERE job_id = :j"), {"j": job}).scalar_one()
            timings = conn.execute(text("SELECT count(*) FROM node_timings WHERE job_id = :j"), {"j": job}).scalar_one()
        assert login == bob_role != ada_role
        assert (outputs, timings > 0) == (1, True)
        with ada.engine.begin() as conn, pytest.raises(repo.LeaseLost):  # Ada comes back: too late
            repo.transition(conn, job, ada_holder, JobStatus.UPLOADING, JobEventKind.UPLOADED)
        database = make_url(admin_url).database
        assert database is not None
        assert ada_role is not None
        with psycopg.connect(**pg_server.conninfo(database, ada_role)) as raw:  # ...and with psql
            for sql, state in (
                ("UPDATE jobs SET job_status_id = 8 WHERE id = %s", "23514"),  # it has ended
                ("UPDATE jobs SET error = 'mine' WHERE id = %s", "42501"),
                ("INSERT INTO job_events (job_id, job_event_kind_id) VALUES (%s, 10)", "42501"),
            ):
                with pytest.raises(psycopg.Error) as refused:
                    raw.execute(sql, (job,))
                assert refused.value.sqlstate == state, sql
                raw.rollback()
    finally:
        for studio in (bob_s, ada, admin):
            studio.close()


def _submit(studio: Studio, priority: int) -> int:
    request = SubmitRequest("roles", {}, priority=priority, use_cache=False)
    return int(asyncio.run(JobQueueService(studio).submit(request)).job.id)


def test_only_admins_submit_above_priority_zero_and_a_creators_retry_comes_back_at_zero(
    logins: Logins, tmp_path: Path
) -> None:
    admin_url, urls = logins
    home = tmp_path / "home"
    admin, ada = _studio(admin_url, home), _studio(urls["creator"], home)
    try:
        with pytest.raises(PermissionDenied) as refused:
            _submit(ada, priority=5)
        assert refused.value.sentence == (
            "Only admins can submit a job above priority 0. "
            "Submit it at priority 0 or lower; an admin can move it to the front of the queue"
        )
        assert _submit(admin, priority=5) > 0
        mine = _submit(ada, priority=0)
        assert asyncio.run(JobBoardService(admin).move_to_front(mine)) == 6  # above the admin's 5
        board = JobBoardService(ada)
        assert asyncio.run(board.cancel(mine)) == f"Job {mine} was cancelled."
        again = asyncio.run(board.retry(mine))
        with admin.engine.connect() as conn:
            priority = conn.execute(text("SELECT priority FROM jobs WHERE id = :j"), {"j": again}).scalar_one()
        assert priority == 0
    finally:
        ada.close()
        admin.close()
