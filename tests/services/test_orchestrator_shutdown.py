"""Dispatcher shutdown and restart hygiene (real database, stand-in ComfyUI).

- Stopping a dispatcher closes every HTTP connection it kept alive to the servers (the io pool's
  threads, the WebSocket threads): none is left open, and none is left for the garbage collector
  to find (no ResourceWarning).
- A dispatcher stopped while its prompt runs leaves the lease to expire; the next dispatcher
  reclaims the job and adopts the running prompt by its prompt_id instead of running it again.
"""

from __future__ import annotations

import asyncio
import gc
import warnings

import psutil
from sqlalchemy import text

from tests.comfyui_server import ComfyTestServer
from tests.services.test_orchestrator_live_servers import wait_for
from tests.services.test_runner import (
    db_url,
    executions,
    insert_job,
    job_events,
    job_state,
    quick_prompt,
    register_server,
    server,
    store_file,
    studio,
    tiny_png,
)
from x121_desktop.core.enums import JobStatus
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher

__all__ = ["db_url", "server", "studio"]


def sockets_to(port: int) -> int:
    """TCP sockets of this process connected to `port` (the stand-in runs in-process: its own side is not counted)."""
    return sum(1 for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port == port)


def test_stopping_a_dispatcher_closes_its_kept_alive_connections(studio: Studio, server: ComfyTestServer) -> None:
    register_server(studio.engine, "a", server.url)
    jobs = [
        insert_job(
            studio.engine,
            quick_prompt(f"sockets{i}"),
            {"1.image": store_file(studio.engine, studio.paths.media_root, tiny_png(40 + i))},
        )
        for i in range(3)
    ]
    before = sockets_to(server.port)
    seen: list[int] = []

    async def scenario() -> Dispatcher:
        dispatcher = Dispatcher(studio, lease_s=3.0, poll_s=0.5, once=True)
        task = asyncio.create_task(dispatcher.run())
        while not task.done():
            seen.append(sockets_to(server.port))
            await asyncio.sleep(0.05)
        await task
        return dispatcher

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        dispatcher = asyncio.run(scenario())
        left = sockets_to(server.port)
        studio.close()  # the io pool's threads end: what they still held would be collected now
        del dispatcher
        gc.collect()
    for job in jobs:
        assert job_state(studio.engine, job)[0] is JobStatus.SUCCEEDED
    assert max(seen) > before, "the count saw none of the dispatcher's connections while it ran"
    assert left == before
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [m for m in unclosed if f"{server.port})" in m], unclosed


def test_a_restarted_dispatcher_adopts_the_running_prompt_instead_of_running_it_again(
    studio: Studio, server: ComfyTestServer
) -> None:
    register_server(studio.engine, "a", server.url)
    server.faults.node_delay_s = 0.6  # ~1.8 s: still running when the first dispatcher has stopped
    job = insert_job(studio.engine, quick_prompt("adopt"))
    held_by: list[str | None] = []

    async def scenario() -> None:
        first = Dispatcher(studio, lease_s=1.0, poll_s=0.3, grace_s=0.0)
        stop = asyncio.Event()
        task = asyncio.create_task(first.run(stop))
        await wait_for(lambda: job_state(studio.engine, job)[0] is JobStatus.RUNNING, 20, "the job to run")
        stop.set()  # no grace: the submitted job is left to its lease
        await asyncio.wait_for(task, timeout=20)
        with studio.engine.connect() as conn:
            held_by.append(conn.execute(text("SELECT lease_holder FROM jobs WHERE id = :j"), {"j": job}).scalar())
        assert held_by[0] == first.holder
        second = Dispatcher(studio, lease_s=1.0, poll_s=0.3)
        stop = asyncio.Event()
        task = asyncio.create_task(second.run(stop))
        try:
            await wait_for(lambda: job_state(studio.engine, job)[0] is JobStatus.SUCCEEDED, 20, "the adopted job")
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=20)

    asyncio.run(scenario())
    status, attempts, _ = job_state(studio.engine, job)
    assert (status, attempts) == (JobStatus.SUCCEEDED, 2)
    events = job_events(studio.engine, job)
    kinds = [k for k, _ in events]
    assert kinds.index("lost") < kinds.index("requeued") < len(kinds) - 1
    adopted = [d for k, d in events if k == "submitted" and d.get("adopted")]
    assert len(adopted) == 1
    with studio.engine.connect() as conn:
        pid = str(conn.execute(text("SELECT prompt_id FROM jobs WHERE id = :j"), {"j": job}).scalar_one())
    assert executions(server) == [pid]  # ran once, on the server, across both dispatchers
