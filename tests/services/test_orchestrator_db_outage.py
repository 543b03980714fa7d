"""A dispatcher outlives a database outage: claiming pauses with a sentence, then goes on by itself.

The studio database stops taking connections and every connection to it is dropped (as a restart of
the server does), while a dispatcher runs; it must neither die nor go silent: its `trouble` says the
database cannot be reached, and once connections are allowed again it claims and runs the next job.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_orchestrator_live_servers import running, wait_for
from tests.services.test_runner import db_url, insert_job, job_state, quick_prompt, register_server, server, studio
from x121_desktop.core.enums import JobStatus, ServerStatus
from x121_desktop.db.notify import conninfo_from_engine
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.local_dispatcher import LocalDispatcher
from x121_desktop.services.orchestrator.dispatcher import Dispatcher

__all__ = ["db_url", "server", "studio"]


def set_connections(engine: Engine, allowed: bool) -> None:
    """ALLOW_CONNECTIONS on the studio database (from the maintenance database); dropping every
    connection to it when they are no longer allowed."""
    name = engine.url.database
    maintenance = make_conninfo(conninfo_from_engine(engine), dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


def test_claiming_pauses_while_the_database_is_away_and_resumes_by_itself(
    studio: Studio, server: ComfyTestServer
) -> None:
    engine = studio.engine
    register_server(engine, "gpu", server.url)
    first = insert_job(engine, quick_prompt("before"))

    async def scenario() -> str:
        dispatcher = Dispatcher(studio, lease_s=5.0, claim_every_s=0.2)
        async with running(dispatcher) as d:
            await wait_for(lambda: job_state(engine, first)[0] is JobStatus.SUCCEEDED, 30, "the first job")
            set_connections(engine, False)
            try:
                await wait_for(lambda: d.trouble is not None, 10, "the dispatcher to say the database is away")
                trouble = d.trouble or ""
                await asyncio.sleep(1.5)  # a few failed rounds: it keeps waiting rather than ending
                assert d.trouble is not None
            finally:
                set_connections(engine, True)
            second = insert_job(engine, quick_prompt("after"))
            await wait_for(lambda: job_state(engine, second)[0] is JobStatus.SUCCEEDED, 60, "the job queued after")
            assert d.trouble is None
        return trouble

    trouble = asyncio.run(scenario())
    assert trouble.startswith("cannot reach the database (")
    assert "claiming again every" in trouble


def test_the_status_bar_says_the_window_dispatcher_cannot_reach_the_database(studio: Studio) -> None:
    local = LocalDispatcher(studio)
    dispatcher = Dispatcher(studio)
    dispatcher.trouble = "cannot reach the database (connection refused); claiming again every 4 s at most"
    local._dispatcher = dispatcher

    async def health() -> str:
        local._task = asyncio.get_running_loop().create_task(asyncio.sleep(5))
        try:
            return local.health().detail
        finally:
            local._task.cancel()

    assert asyncio.run(health()).endswith(
        "jobs claimed, but it cannot reach the database (connection refused); claiming again every 4 s at most"
    )


def test_a_server_lost_while_the_database_is_away_is_marked_offline_once_it_is_back(
    studio: Studio, tmp_path: Path
) -> None:
    engine = studio.engine
    srv = ComfyTestServer(tmp_path / "lost")
    srv.start()
    server_id = register_server(engine, "lost", srv.url)
    stopped = False

    def status() -> ServerStatus:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT server_status_id FROM comfy_servers WHERE id = :s"), {"s": server_id})
            return ServerStatus(int(found.scalar_one()))

    async def scenario() -> bool:
        nonlocal stopped
        async with running(Dispatcher(studio, lease_s=5.0, lost_after_s=1.0)):
            set_connections(engine, False)
            try:
                srv.stop()
                stopped = True
                await asyncio.sleep(3.5)  # probes find it silent; marking it OFFLINE fails meanwhile
                [probe] = [t for t in asyncio.all_tasks() if t.get_name() == "x121-health"]
                alive = not probe.done()
            finally:
                set_connections(engine, True)
            await wait_for(lambda: status() is ServerStatus.OFFLINE, 10, "the server to be marked offline")
        return alive

    try:
        assert asyncio.run(scenario())  # the probing outlived the failed write
    finally:
        if not stopped:
            srv.stop()
