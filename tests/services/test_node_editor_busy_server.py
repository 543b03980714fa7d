"""Editor test runs take a server slot the way a dispatcher's claim does (real database, stand-in ComfyUI).

A running dispatcher fills the server (1 running + 1 queued slot): a test run then waits for a free
slot and is refused with a sentence when none frees in time, leaving no job behind; given time, it
gets the next free slot. At no moment does the server hold more jobs than its slots (sampled from
the database all along). A drained server refuses a test run at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from tests.comfyui_server import ComfyTestServer
from tests.services.test_orchestrator_live_servers import active_on, all_ended, running, wait_for
from tests.services.test_runner import db_url, insert_job, job_state, quick_prompt, register_server, server, studio
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.core.enums import JobKind, JobStatus
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.node_editor_jobs import EditorRunJob, EditorRunJobs, ServerFull
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.server_board import ServerBoardService
from x121_desktop.services.storage import MediaStore

__all__ = ["db_url", "server", "studio"]

PROMPT: dict[str, Any] = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "astronaut.png"}},
    "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
}


def editor_jobs(studio: Studio) -> list[tuple[int, JobStatus]]:
    with studio.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, job_status_id FROM jobs WHERE job_kind_id = :k ORDER BY id"),
            {"k": int(JobKind.EDITOR_TEST_RUN)},
        ).all()
    return [(int(r.id), JobStatus(r.job_status_id)) for r in rows]


class Sampler:
    """Counts the jobs holding the server's slots, as the database sees them, until stopped."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.most = 0
        self._count, self._stop = count, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.most = max(self.most, self._count())

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_an_editor_run_waits_for_a_free_slot_or_is_refused_and_never_overfills_the_server(
    studio: Studio, server: ComfyTestServer
) -> None:
    engine = studio.engine
    sid = register_server(engine, "gpu", server.url)  # 1 running + 1 queued slot
    server.faults.node_delay_s = 0.25  # ~0.75 s a queued job
    queued = [insert_job(engine, quick_prompt(f"busy{i}")) for i in range(3)]
    runs = EditorRunJobs(engine, studio.runtime, MediaStore(studio.paths.media_root), room_wait_s=0.3)
    client = ComfyClient(server.url)
    got: list[EditorRunJob] = []

    def open_run() -> EditorRunJob:
        return runs.open("gpu", sid, PROMPT, str(uuid.uuid4()), client)

    async def scenario() -> None:
        async with running(Dispatcher(studio, lease_s=3.0, poll_s=0.5)):
            await wait_for(lambda: len(active_on(engine, sid)) == 2, 20, "the dispatcher to fill the server")
            with pytest.raises(ServerFull, match=r"'gpu' is busy: all 2 of its job slots are taken\. Run the test"):
                await asyncio.to_thread(open_run)
            assert editor_jobs(studio) == []  # the refused run left no job
            runs.room_wait_s = 30.0
            got.append(await asyncio.to_thread(open_run))  # waits for a slot to free
            assert got[0].job_id in active_on(engine, sid)
            got[0].fail("ended by the test")  # gives the slot back
            await wait_for(lambda: all_ended(engine, queued), 30, "the queued jobs to finish")

    with Sampler(lambda: len(active_on(engine, sid))) as sampler:
        asyncio.run(scenario())
    assert sampler.most == 2, f"the server held {sampler.most} jobs at once; it has 2 slots"
    assert [job_state(engine, job)[0] for job in queued] == [JobStatus.SUCCEEDED] * 3
    assert editor_jobs(studio) == [(got[0].job_id, JobStatus.FAILED)]


def test_a_drained_server_refuses_an_editor_run_at_once(studio: Studio, server: ComfyTestServer) -> None:
    sid = register_server(studio.engine, "gpu", server.url)
    asyncio.run(ServerBoardService(studio).drain("gpu"))
    runs = EditorRunJobs(studio.engine, studio.runtime, MediaStore(studio.paths.media_root), room_wait_s=30.0)
    with pytest.raises(ServerFull, match=r"'gpu' is drained and takes no new jobs\. Resume it in the Servers panel"):
        runs.open("gpu", sid, PROMPT, str(uuid.uuid4()), ComfyClient(server.url))
    assert editor_jobs(studio) == []


def test_a_waiting_editor_run_says_so_once_and_a_cancel_ends_the_wait_leaving_no_job(
    studio: Studio, server: ComfyTestServer
) -> None:
    from datetime import timedelta

    from x121_desktop.core.cancel import CancelToken
    from x121_desktop.core.errors import Cancelled
    from x121_desktop.db.repositories import job_dispatch

    engine = studio.engine
    sid = register_server(engine, "gpu", server.url)  # 1 running + 1 queued slot
    for n in range(2):  # another workstation's dispatcher holds both slots
        job = insert_job(engine, quick_prompt(f"held{n}"))
        with engine.begin() as conn:
            assert job_dispatch.assign(conn, job, "ws-other:1:x", timedelta(seconds=60), sid, {}) is not None
    runs = EditorRunJobs(engine, studio.runtime, MediaStore(studio.paths.media_root), room_wait_s=30.0)
    told: list[int] = []
    cancel = CancelToken()

    def waiting(slots: int) -> None:
        told.append(slots)
        threading.Timer(0.3, cancel.cancel).start()  # the person presses Stop run a moment later

    began = time.monotonic()
    with pytest.raises(Cancelled, match=r"^The test run on gpu \(waiting for a free slot\) was cancelled\.$"):
        runs.open("gpu", sid, PROMPT, str(uuid.uuid4()), ComfyClient(server.url), waiting=waiting, cancel=cancel)
    assert time.monotonic() - began < 5.0  # not the 30 s wait
    assert told == [2]  # said once, with the server's slot count
    assert editor_jobs(studio) == []
