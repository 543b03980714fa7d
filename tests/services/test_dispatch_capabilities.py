"""Placement from stored capabilities (`x121 server check`), with the server's own /object_info as the judge.

A dispatcher places jobs with the capabilities stored in the database, without reading
/object_info; a job the stored ones say no server can run is not refused on their word: the
servers' /object_info is read first, and the fresher capabilities are stored for everyone.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.comfyui_server import ComfyTestServer
from tests.services.test_runner import db_url, insert_job, job_state, quick_prompt, register_server, server, studio
from x121_desktop.core.enums import JobStatus
from x121_desktop.core.orchestration.placement import ModelRef
from x121_desktop.db.repositories import server_capabilities
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher

__all__ = ["db_url", "server", "studio"]  # fixtures


def test_stale_stored_capabilities_never_refuse_a_job_the_server_can_run(
    studio: Studio, server: ComfyTestServer
) -> None:
    server_id = register_server(studio.engine, "stale", server.url)
    with studio.engine.begin() as conn:  # checked before SaveImage existed, say
        server_capabilities.store(conn, server_id, {"LoadImage", "ImageScale"}, {ModelRef("checkpoints", "a.ckpt")})
    job = insert_job(studio.engine, quick_prompt("stale"))
    dispatcher = Dispatcher(studio, lease_s=3.0, poll_s=0.5, once=True)
    asyncio.run(asyncio.wait_for(dispatcher.run(), timeout=45))
    assert job_state(studio.engine, job)[0] is JobStatus.SUCCEEDED
    assert dispatcher.stats.refused == 0
    with studio.engine.connect() as conn:
        stored = server_capabilities.load(conn, [server_id])[server_id]
        digest = conn.execute(text("SELECT object_info_hash FROM comfy_servers WHERE id = :s"), {"s": server_id})
        assert len(digest.scalar_one() or "") == 64
    assert "SaveImage" in stored[0]  # what the server really has, stored for every dispatcher


def test_a_server_that_never_answered_does_not_hold_up_the_others(studio: Studio, server: ComfyTestServer) -> None:
    register_server(studio.engine, "up", server.url)
    register_server(studio.engine, "gone", "http://127.0.0.1:9")  # nothing listens; no stored capabilities
    job = insert_job(studio.engine, quick_prompt("gone"))
    dispatcher = Dispatcher(studio, lease_s=3.0, poll_s=0.5, once=True)
    asyncio.run(asyncio.wait_for(dispatcher.run(), timeout=45))
    assert job_state(studio.engine, job)[0] is JobStatus.SUCCEEDED  # it waited for "gone" forever before
    assert dispatcher.stats.refused == 0
