"""Dispatcher shutdown and restart hygiene (real database, stand-in ComfyUI).

- Stopping a dispatcher closes every HTTP connection it kept alive to the servers (the io pool's
  threads, the WebSocket threads): none is left open, and none is left for the garbage collector
  to find (no ResourceWarning).
- A dispatcher stopped while its prompt runs leaves the lease to expire; the next dispatcher
  reclaims the job and adopts the running prompt by its prompt_id instead of running it again.
- A dispatcher stopped while a claimed job's inputs are still uploading gives the job back to the
  queue at once, and the upload thread does not POST the prompt afterwards.
- A server that closes a dispatcher's WebSocket (a restart, a proxy) gets the socket closed on our side
  too: websocket-client's `close()` does nothing once the peer's close frame was answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import queue
import socket
import threading
import time
import warnings
from collections.abc import Iterator

import psutil
import pytest
from sqlalchemy import text

from tests.comfyui_server import ComfyTestServer
from tests.services.test_orchestrator_live_servers import running, wait_for
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
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.stream import ComfyStream, Connected, Disconnected, ServerEvent
from x121_desktop.core.enums import JobStatus
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher

__all__ = ["db_url", "server", "studio"]


def unclosed_tcp(caught: list[warnings.WarningMessage]) -> list[str]:
    """ResourceWarnings of TCP sockets left to the garbage collector (their peer may be gone: no raddr then)."""
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning)
        and str(w.message).startswith("unclosed <socket.socket")
        and "family=2" in str(w.message)
    ]


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
        ended = [job_state(studio.engine, job)[0] for job in jobs]
        studio.close()  # the io pool's threads end: what they still held would be collected now
        del dispatcher
        gc.collect()
    assert ended == [JobStatus.SUCCEEDED] * len(jobs)
    assert max(seen) > before, "the count saw none of the dispatcher's connections while it ran"
    assert left == before
    assert not unclosed_tcp(caught)


def test_a_restarted_dispatcher_adopts_the_running_prompt_instead_of_running_it_again(
    studio: Studio, server: ComfyTestServer
) -> None:
    register_server(studio.engine, "a", server.url)
    server.faults.node_delay_s = 0.6  # ~1.8 s: still running when the first dispatcher has stopped
    job = insert_job(studio.engine, quick_prompt("adopt"))
    held_by: list[str | None] = []

    async def scenario() -> None:
        async with running(Dispatcher(studio, lease_s=1.0, poll_s=0.3, grace_s=0.0)) as first:
            await wait_for(lambda: job_state(studio.engine, job)[0] is JobStatus.RUNNING, 20, "the job to run")
        # stopped with no grace: the submitted job is left to its lease
        with studio.engine.connect() as conn:
            held_by.append(conn.execute(text("SELECT lease_holder FROM jobs WHERE id = :j"), {"j": job}).scalar())
        assert held_by[0] == first.holder
        async with running(Dispatcher(studio, lease_s=1.0, poll_s=0.3)):
            await wait_for(lambda: job_state(studio.engine, job)[0] is JobStatus.SUCCEEDED, 20, "the adopted job")

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


class SlowUploads:
    """A TCP relay in front of the stand-in that holds each `POST /upload/...` for `delay_s` before passing it on."""

    def __init__(self, upstream_port: int, delay_s: float) -> None:
        self.delay_s, self._upstream = delay_s, upstream_port
        self.held = threading.Event()
        self.passed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._upstream))
            self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        try:
            while data := source.recv(65536):
                if requests and data.startswith(b"POST /upload/"):
                    self.held.set()
                    time.sleep(self.delay_s)
                    self.passed.set()
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def slow_uploads(server: ComfyTestServer) -> Iterator[SlowUploads]:
    relay = SlowUploads(server.port, delay_s=2.0)
    yield relay
    relay.close()


def test_a_job_still_uploading_when_the_dispatcher_stops_goes_back_to_the_queue_and_is_never_posted(
    studio: Studio, server: ComfyTestServer, slow_uploads: SlowUploads
) -> None:
    register_server(studio.engine, "a", slow_uploads.url)
    file_id = store_file(studio.engine, studio.paths.media_root, tiny_png(77))
    job = insert_job(studio.engine, quick_prompt("stopping"), {"1.image": file_id})

    async def scenario() -> None:
        async with running(Dispatcher(studio, lease_s=3.0, poll_s=0.3, claim_every_s=0.2, grace_s=5.0)):
            await wait_for(slow_uploads.held.is_set, 20, "the upload to reach the relay")  # started while claiming
            await wait_for(lambda: job_state(studio.engine, job)[0] is JobStatus.CLAIMED, 5, "the claim to commit")
        assert not slow_uploads.passed.is_set(), "the dispatcher stopped only after the upload went through"

    asyncio.run(scenario())
    with studio.engine.connect() as conn:
        status, holder = conn.execute(
            text("SELECT job_status_id, lease_holder FROM jobs WHERE id = :j"), {"j": job}
        ).one()
    assert (JobStatus(status), holder) == (JobStatus.QUEUED, None)
    kind, data = job_events(studio.engine, job)[-1]
    assert (kind, data["reason"]) == ("requeued", "dispatcher stopping")
    assert slow_uploads.passed.wait(10)  # the held upload went on to the server after the stop ...
    time.sleep(0.5)  # ... and the thread that sent it would POST the prompt right after
    assert server.state.number == 0, "the prompt of a job given back to the queue reached the server"
    assert executions(server) == []


def test_a_websocket_the_server_closed_is_closed_on_our_side(server: ComfyTestServer) -> None:
    events: queue.Queue[ServerEvent] = queue.Queue()

    def next_event(kind: type[object]) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                if isinstance(events.get(timeout=0.1).event, kind):
                    return
        raise AssertionError(f"no {kind.__name__} event within 10 s")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        stream = ComfyStream(ComfyClient(server.url), events, backoff_s=0.2).start()
        try:
            next_event(Connected)
            server.drop_sockets()  # the server sends its close frame
            next_event(Disconnected)
            next_event(Connected)  # the stream reconnected: the first socket is gone from it
            gc.collect()
        finally:
            stream.close()
        gc.collect()
    assert not unclosed_tcp(caught)
