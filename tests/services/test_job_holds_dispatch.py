"""Holds and paused queues against a running dispatcher (revision 0013): real logins, the real
`Dispatcher` (Bob's, a creator) and the ComfyUI stand-in, one server slot so claims come one by one.

- While the admin has the studio queue paused the running dispatcher claims nothing; resumed, it
  claims again without being restarted.
- Ada's job on hold is left alone while everything around it runs.
- Ada's paused queue holds what she submits; resuming queues it.
- Released, her held job is claimed in its original place: before the job of hers submitted later
  (a release keeps `created_at`, so its batch is still the older one), then Bob's by fair share.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from tests.comfyui_server import ComfyTestServer
from tests.services.test_dispatch_rights import bob
from tests.services.test_dispatch_roles import logins
from tests.services.test_runner import executions, quick_prompt, register_server, server
from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.job_board import JobBoardService
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest

__all__ = ["bob", "logins", "server"]

REQUEST = SubmitRequest("holds", {}, use_cache=False)
MANIFEST = {"format": "x121.workflow-manifest", "version": 1, "workflow": "holds.api.json", "parameters": {}}


def _studio(url: str, home: Path) -> Studio:
    return open_studio(LaunchOptions(database_url=url, home=str(home)))


def test_a_running_dispatcher_obeys_the_studio_pause_leaves_held_jobs_and_takes_a_released_one_in_its_place(
    logins: tuple[str, dict[str, str]], bob: str, server: ComfyTestServer, tmp_path: Path
) -> None:
    admin_url, urls = logins
    home = tmp_path / "home"
    admin, ada, bobs = _studio(admin_url, home), _studio(urls["creator"], home), _studio(bob, home)
    try:
        register_server(admin.engine, "hold-1", server.url, queued=0)  # one slot: one claim at a time
        with admin.engine.begin() as conn:
            wid = conn.execute(text("INSERT INTO workflows (name) VALUES ('holds') RETURNING id")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, manifest) "
                    "VALUES (:w, 1, :h, CAST(:a AS jsonb), CAST(:m AS jsonb))"
                ),
                {"w": wid, "h": "cd" * 32, "a": json.dumps(quick_prompt("holds")), "m": json.dumps(MANIFEST)},
            )

        def read(sql: str, **params: object) -> list[tuple[object, ...]]:
            with admin.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql), params).all()]

        def statuses(jobs: list[int]) -> list[JobStatus]:
            found = dict(read("SELECT id, job_status_id FROM jobs WHERE id = ANY(:j)", j=jobs))
            return [JobStatus(int(found[j])) for j in jobs]  # type: ignore[call-overload]

        def claimed(jobs: list[int]) -> list[int]:
            sql = "SELECT job_id FROM job_events WHERE job_event_kind_id = :k AND job_id = ANY(:j) ORDER BY id"
            return [int(r[0]) for r in read(sql, k=int(JobEventKind.CLAIMED), j=jobs)]  # type: ignore[call-overload]

        async def until(done: Callable[[], bool], what: str, timeout: float = 40.0) -> None:
            deadline = time.monotonic() + timeout
            while not await asyncio.to_thread(done):
                assert time.monotonic() < deadline, f"timed out waiting for {what}"
                await asyncio.sleep(0.1)

        async def main() -> None:
            studio_board, ada_board = JobBoardService(admin), JobBoardService(ada)
            ada_queue, bob_queue = JobQueueService(ada), JobQueueService(bobs)
            await studio_board.pause_studio(True)
            first = [int(r.job.id) for r in await ada_queue.submit_batch([REQUEST, REQUEST])]  # one batch
            bob_first = int((await bob_queue.submit(REQUEST)).job.id)
            assert (await ada_board.hold([first[0]])).changed == (first[0],)

            stop = asyncio.Event()
            dispatcher = Dispatcher(bobs, lease_s=3.0, poll_s=0.2, claim_every_s=0.2)
            running = asyncio.create_task(dispatcher.run(stop))
            try:
                await asyncio.sleep(1.5)  # several claim rounds while the studio queue is paused
                assert await asyncio.to_thread(claimed, [*first, bob_first]) == []
                await studio_board.pause_studio(False)  # resumed: the same dispatcher claims again
                await until(lambda: statuses([first[1], bob_first]) == [JobStatus.SUCCEEDED] * 2, "the queued two")
                await asyncio.sleep(1.0)
                assert await asyncio.to_thread(statuses, [first[0]]) == [JobStatus.HELD]  # left alone
                assert await asyncio.to_thread(claimed, [first[0]]) == []

                await ada_board.pause_my_queue(True)
                later = (await ada_queue.submit(REQUEST)).job
                assert later.status is JobStatus.HELD  # held at submission
                await asyncio.sleep(1.0)
                assert await asyncio.to_thread(statuses, [int(later.id)]) == [JobStatus.HELD]

                await studio_board.pause_studio(True)  # set the stage for the order, claiming nothing meanwhile
                await ada_board.pause_my_queue(False)  # `later` is queued again (the pause held it)
                bob_later = int((await bob_queue.submit(REQUEST)).job.id)
                assert (await ada_board.release([first[0]])).changed == (first[0],)
                tail = [first[0], int(later.id), bob_later]
                assert await asyncio.to_thread(statuses, tail) == [JobStatus.QUEUED] * 3
                await asyncio.sleep(1.0)
                assert await asyncio.to_thread(claimed, tail) == []
                await studio_board.pause_studio(False)
                await until(lambda: statuses(tail) == [JobStatus.SUCCEEDED] * 3, "the last three")
                # the released job kept its older batch, so it goes before her later job (reset, `later` would lead)
                assert await asyncio.to_thread(claimed, tail) == tail
            finally:
                stop.set()
                await asyncio.wait_for(running, 60)
            assert len(executions(server)) == 5  # each job ran once

        asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        for studio in (bobs, ada, admin):
            studio.close()


def test_a_resumed_studio_queue_wakes_a_waiting_dispatcher_at_once(
    logins: tuple[str, dict[str, str]], bob: str, server: ComfyTestServer, tmp_path: Path
) -> None:
    admin_url, urls = logins
    home = tmp_path / "home"
    admin, ada = _studio(admin_url, home), _studio(urls["creator"], home)
    try:
        register_server(admin.engine, "wake-1", server.url, queued=0)
        with admin.engine.begin() as conn:
            # the module's studio may have the workflow already (the test above makes it)
            conn.execute(text("INSERT INTO workflows (name) VALUES ('holds') ON CONFLICT (name) DO NOTHING"))
            wid = conn.execute(text("SELECT id FROM workflows WHERE name = 'holds'")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, manifest) "
                    "VALUES (:w, 1, :h, CAST(:a AS jsonb), CAST(:m AS jsonb)) ON CONFLICT DO NOTHING"
                ),
                {"w": wid, "h": "cd" * 32, "a": json.dumps(quick_prompt("holds")), "m": json.dumps(MANIFEST)},
            )

        def status(job: int) -> JobStatus:
            with admin.engine.connect() as conn:
                found = conn.execute(text("SELECT job_status_id FROM jobs WHERE id = :j"), {"j": job}).scalar_one()
            return JobStatus(int(found))

        async def main() -> float:
            board = JobBoardService(admin)
            await board.pause_studio(True)
            job = int((await JobQueueService(ada).submit(REQUEST)).job.id)
            stop = asyncio.Event()
            # it looks again on its own only every 60 s: only the resume's notice can wake it sooner
            dispatcher = Dispatcher(admin, lease_s=3.0, claim_every_s=60.0)
            running = asyncio.create_task(dispatcher.run(stop))
            try:
                await asyncio.sleep(1.5)
                assert await asyncio.to_thread(status, job) is JobStatus.QUEUED
                resumed = time.monotonic()
                await board.pause_studio(False)
                while await asyncio.to_thread(status, job) is JobStatus.QUEUED:
                    assert time.monotonic() - resumed < 10, "the resumed queue did not wake the dispatcher"
                    await asyncio.sleep(0.05)
                return time.monotonic() - resumed
            finally:
                stop.set()
                await asyncio.wait_for(running, 60)

        assert asyncio.run(main()) < 5.0
    finally:
        admin.close()
        ada.close()
