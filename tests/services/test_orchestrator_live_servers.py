"""A running dispatcher follows the Servers panel without a restart (real database, stand-in ComfyUI servers).

Drain, resume, add and remove reach it through NOTIFY `x121_servers` (the trigger of migration
`comfy_servers_notify`) and `FleetWatch`: a drained server gets no claim that starts after the drain
committed and finishes the jobs it holds; an added or resumed server takes jobs; a removed one
leaves the fleet with its WebSocket closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_dispatch_acceptance import start_servers
from tests.services.test_runner import (
    db_url,
    executions,
    insert_job,
    job_state,
    quick_prompt,
    register_server,
    server,
    studio,
)
from x121_desktop.core.enums import JobStatus, ServerStatus
from x121_desktop.core.ids import ServerId
from x121_desktop.core.orchestration.states import ACTIVE, TERMINAL
from x121_desktop.db.notify import ChannelListener, ChannelNotice, conninfo_from_engine, parse_json_notice
from x121_desktop.db.repositories import server_capabilities
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.orchestrator.fleet import SERVERS_CHANNEL
from x121_desktop.services.server_board import ServerBoardService

__all__ = ["db_url", "server", "studio"]

SEEN_WITHIN_S = 2.0
"""A server change reaches a running dispatcher within this (NOTIFY: milliseconds; the re-read safety net: 30 s)."""


@pytest.fixture
def other(tmp_path: Path) -> Iterator[ComfyTestServer]:
    [srv] = start_servers(tmp_path / "more", [0.0])
    try:
        yield srv
    finally:
        srv.stop()


@contextlib.asynccontextmanager
async def running(dispatcher: Dispatcher, timeout: float = 30.0) -> AsyncIterator[Dispatcher]:
    """The dispatcher running as a task on this loop; stopped (and awaited) on leaving."""
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        await wait_for(lambda: bool(dispatcher.fleet.handles) or task.done(), 10, "the dispatcher to start")
        yield dispatcher
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=timeout)


async def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `check` until true; the seconds it took (AssertionError naming `what` after `timeout`)."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - began


def active_on(engine: Engine, server_id: int) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id FROM jobs WHERE server_id = :s AND job_status_id = ANY(:a) ORDER BY id"),
            {"s": server_id, "a": [int(s) for s in ACTIVE]},
        ).all()
    return [int(r.id) for r in rows]


def all_ended(engine: Engine, jobs: list[int]) -> bool:
    return all(job_state(engine, job)[0] in TERMINAL for job in jobs)


def prompt_id(engine: Engine, job: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT prompt_id FROM jobs WHERE id = :j"), {"j": job}).scalar_one())


def server_of(engine: Engine, job: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT server_id FROM jobs WHERE id = :j"), {"j": job}).scalar_one())


def attempts_since(engine: Engine, since: datetime) -> list[tuple[int, int]]:
    """(job, server) of every attempt whose claim transaction began after `since` (database clock)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT job_id, server_id FROM job_attempts WHERE started_at > :t ORDER BY id"), {"t": since}
        ).all()
    return [(int(r.job_id), int(r.server_id)) for r in rows]


def test_a_drained_server_gets_no_new_claim_and_finishes_what_it_holds(
    studio: Studio, server: ComfyTestServer, other: ComfyTestServer
) -> None:
    engine = studio.engine
    a = register_server(engine, "a", server.url)
    b = register_server(engine, "b", other.url)
    server.faults.node_delay_s = other.faults.node_delay_s = 0.15  # ~0.45 s a job
    first = [insert_job(engine, quick_prompt(f"first{i}")) for i in range(4)]
    board = ServerBoardService(studio)
    seen: dict[str, object] = {}

    async def scenario() -> None:
        async with running(Dispatcher(studio, lease_s=3.0, poll_s=0.5)) as dispatcher:
            await wait_for(lambda: len(active_on(engine, a)) == 2, 20, "server a holding two jobs")
            await board.drain("a")
            with engine.connect() as conn:
                seen["drained_at"] = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
            seen["held"] = active_on(engine, a)
            handle = dispatcher.fleet.handles[ServerId(a)]
            seen["took_s"] = await wait_for(lambda: not handle.accepting, SEEN_WITHIN_S, "the drain to reach it")
            later = [insert_job(engine, quick_prompt(f"later{i}")) for i in range(4)]
            seen["later"] = later
            await wait_for(lambda: all_ended(engine, first + later), 40, "every job to end")
            # once its last job ended, the drained server's WebSocket is closed (the handle stays, dormant)
            await wait_for(lambda: handle.dormant, SEEN_WITHIN_S, "the drained server's handle to go dormant")

    asyncio.run(scenario())
    later = seen["later"]
    held = seen["held"]
    assert isinstance(later, list)
    assert isinstance(held, list)
    assert isinstance(seen["drained_at"], datetime)
    assert held, "server a held jobs when it was drained"
    for job in first + later:
        assert job_state(engine, job)[0] is JobStatus.SUCCEEDED, job
    for job in held:  # what it held when drained finished there, once
        assert (server_of(engine, job), job_state(engine, job)[1]) == (a, 1)
    after = attempts_since(engine, seen["drained_at"])
    assert {job for job, _ in after} >= set(later)
    assert {srv for _, srv in after} == {b}, "a claim that began after the drain went to the drained server"
    later_prompts = {prompt_id(engine, job) for job in later}
    assert later_prompts <= set(executions(other))
    assert not later_prompts & set(executions(server))
    with engine.connect() as conn:  # the dispatcher's health probes left the drained status alone
        status = conn.execute(text("SELECT server_status_id FROM comfy_servers WHERE id = :s"), {"s": a}).scalar_one()
    assert ServerStatus(status) is ServerStatus.DRAINING
    assert isinstance(seen["took_s"], float)
    assert seen["took_s"] < SEEN_WITHIN_S


def test_servers_added_resumed_and_removed_while_a_dispatcher_runs(
    studio: Studio, server: ComfyTestServer, other: ComfyTestServer
) -> None:
    engine = studio.engine
    a = register_server(engine, "a", server.url)
    board = ServerBoardService(studio)
    ran: dict[str, list[int]] = {}

    async def scenario() -> None:
        async with running(Dispatcher(studio, lease_s=3.0, poll_s=0.5)) as dispatcher:
            fleet = dispatcher.fleet  # built by run()'s start; changes are applied to it in place
            await wait_for(lambda: fleet.handles[ServerId(a)].capabilities is not None, 10, "server a to be read")
            # added: a second server joins the running dispatcher and takes jobs
            b = register_server(engine, "b", other.url)
            await wait_for(
                lambda: ServerId(b) in fleet.handles and fleet.handles[ServerId(b)].capabilities is not None,
                SEEN_WITHIN_S + 2.0,  # its health probe and capabilities come first
                "server b to join",
            )
            await board.drain("a")
            await wait_for(lambda: fleet.handles[ServerId(a)].dormant, SEEN_WITHIN_S, "idle drained a to go dormant")
            ran["b_only"] = [insert_job(engine, quick_prompt(f"b{i}")) for i in range(2)]
            await wait_for(lambda: all_ended(engine, ran["b_only"]), 30, "the jobs run while a is drained")
            # resumed: a fresh handle for a, which takes jobs again
            await board.resume("a")
            await wait_for(lambda: fleet.handles[ServerId(a)].accepting, SEEN_WITHIN_S, "a to be resumed")
            assert not fleet.handles[ServerId(a)].dormant
            ran["both"] = [insert_job(engine, quick_prompt(f"both{i}")) for i in range(4)]  # 2 slots each
            await wait_for(lambda: all_ended(engine, ran["both"]), 30, "the jobs run after the resume")
            # removed: a server that never ran a job leaves the fleet and its WebSocket thread ends
            c = register_server(engine, "c", "http://127.0.0.1:9")  # nothing listens there
            await wait_for(lambda: ServerId(c) in fleet.handles, SEEN_WITHIN_S, "server c to join")
            assert await board.remove("c") == "ComfyUI server 'c' was removed."
            await wait_for(lambda: ServerId(c) not in fleet.handles, SEEN_WITHIN_S, "server c to leave")
            await wait_for(
                lambda: not any(t.name == "comfy-ws http://127.0.0.1:9" for t in threading.enumerate()),
                5,
                "server c's WebSocket thread to end",
            )
            assert fleet.retired == ()
            ran["servers"] = [a, b]

    asyncio.run(scenario())
    a_id, b_id = ran["servers"]
    for job in ran["b_only"] + ran["both"]:
        assert job_state(engine, job)[0] is JobStatus.SUCCEEDED, job
    assert {server_of(engine, job) for job in ran["b_only"]} == {b_id}
    assert a_id in {server_of(engine, job) for job in ran["both"]}, "the resumed server took no job"


def test_server_rows_notify_only_the_changes_dispatch_cares_about(studio: Studio) -> None:
    engine = studio.engine
    listener = ChannelListener[ChannelNotice](
        conninfo_from_engine(engine), {SERVERS_CHANNEL: parse_json_notice(SERVERS_CHANNEL)}
    )
    with listener:
        assert listener.listening.wait(10)
        sid = register_server(engine, "n", "http://127.0.0.1:9")
        with engine.begin() as conn:  # a dispatcher's or a check's bookkeeping: quiet
            conn.execute(
                text(
                    "UPDATE comfy_servers SET server_status_id = :s, last_seen_at = now(), "
                    "system_stats = '{}'::jsonb WHERE id = :id"
                ),
                {"s": int(ServerStatus.OFFLINE), "id": sid},
            )
        for change in ("is_enabled = false", "slots = 2", "base_url = 'http://127.0.0.1:10'"):
            with engine.begin() as conn:
                conn.execute(text(f"UPDATE comfy_servers SET {change} WHERE id = :id"), {"id": sid})
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM comfy_servers WHERE id = :id"), {"id": sid})
        heard: list[tuple[int | None, object]] = []
        deadline = time.monotonic() + 5
        while len(heard) < 5 and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                notice = listener.notices.get(timeout=0.1)
                assert isinstance(notice, ChannelNotice)
                heard.append((notice.int_field("server_id"), notice.data.get("op")))
        time.sleep(0.3)  # anything more would arrive now
        assert listener.notices.empty()
    assert heard == [(sid, "added"), (sid, "changed"), (sid, "changed"), (sid, "changed"), (sid, "removed")]


def test_a_server_drained_before_its_node_list_was_read_does_not_hold_up_refusals(
    studio: Studio, server: ComfyTestServer, other: ComfyTestServer
) -> None:
    """A job no enabled server can run is refused once the enabled servers' own /object_info says so; a drained
    server whose node list was never read (stored capabilities only) is not waited for."""
    engine = studio.engine
    nodes = {"LoadImage", "ImageScale", "SaveImage"}
    with engine.begin() as conn:
        for name, srv in (("a", server), ("b", other)):
            sid = register_server(engine, name, srv.url)
            server_capabilities.store(conn, sid, nodes, set())  # as `x121 server check` left them
    missing = quick_prompt("nonode")
    missing["9"] = {"class_type": "VHS_VideoCombine", "inputs": {"images": ["2", 0]}}

    async def scenario() -> None:
        async with running(Dispatcher(studio, lease_s=3.0, poll_s=0.5)) as dispatcher:
            a = next(h for h in dispatcher.fleet.handles.values() if h.row.name == "a")
            assert a.info is None  # placed on stored capabilities; nothing read from the server yet
            await ServerBoardService(studio).drain("a")
            await wait_for(lambda: not a.accepting, SEEN_WITHIN_S, "the drain to reach it")
            job = insert_job(engine, missing)
            await wait_for(lambda: job_state(engine, job)[0] is JobStatus.FAILED, 15, "the impossible job's refusal")
            assert a.info is None  # the drained server was not asked
            error = job_state(engine, job)[2]
            assert error is not None
            assert "VHS_VideoCombine" in error

    asyncio.run(scenario())
