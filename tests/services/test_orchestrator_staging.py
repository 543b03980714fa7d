"""Inputs already sent to a server are not uploaded again (services/orchestrator/staging.py), on the stand-in.

A scene's segment jobs start from the same seeds: the second job's upload of the same file to the same
server reuses the first (in flight or done), another server still gets its own copy, a failed upload is
tried again the next time, and a restarted server is sent everything again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.comfyui_server import ComfyTestServer
from tests.services.test_orchestrator_live_servers import running, wait_for
from tests.services.test_runner import (
    db_url,
    insert_job,
    job_state,
    quick_prompt,
    register_server,
    server,
    store_file,
    studio,
    tiny_png,
)
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.core.enums import JobStatus
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import ServerId
from x121_desktop.core.orchestration.states import TERMINAL
from x121_desktop.db.repositories.job_records import StoredFile
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.orchestrator.staging import StagedInputs
from x121_desktop.services.storage import MediaStore

__all__ = ["db_url", "server", "studio"]


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[ComfyTestServer]:
    srv = ComfyTestServer(tmp_path / "comfyui")
    srv.start()
    yield srv
    srv.stop()


def stored(store: MediaStore, data: bytes) -> StoredFile:
    blob = store.write_bytes(data, suffix=".png")
    return StoredFile(blob.sha256, blob.rel_path)


def test_a_file_sent_to_a_server_is_not_uploaded_again(stand_in: ComfyTestServer, tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    seed, other = stored(store, tiny_png(1)), stored(store, tiny_png(2))
    client = ComfyClient(stand_in.url)
    with ThreadPoolExecutor(2) as io:
        staged = StagedInputs(io, store)
        first = staged.upload(ServerId(1), client, {"1.image": seed}).result(10)
        second = staged.upload(ServerId(1), client, {"1.image": seed, "5.image": other}).result(10)
        assert staged.uploads == 2  # the seed once, the other file once
        assert second["1.image"] == first["1.image"] == f"x121_{seed.sha256[:20]}.png"
        assert (stand_in.root / "input" / first["1.image"]).read_bytes() == tiny_png(1)
        staged.upload(ServerId(2), client, {"1.image": seed}).result(10)  # another server: its own copy
        assert staged.uploads == 3
        staged.forget(ServerId(1))  # it restarted: everything is sent again
        again = staged.upload(ServerId(1), client, {"1.image": seed}).result(10)
        assert (staged.uploads, again["1.image"]) == (4, first["1.image"])  # ComfyUI keeps the name for the same bytes


def test_a_failed_upload_is_tried_again_next_time(stand_in: ComfyTestServer, tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    seed = stored(store, tiny_png(3))
    with ThreadPoolExecutor(2) as io:
        staged = StagedInputs(io, store)
        gone = ComfyClient("http://127.0.0.1:9", timeout=1.0)  # nothing listens there
        with pytest.raises(X121Error):
            staged.upload(ServerId(1), gone, {"1.image": seed}).result(10)
        names = staged.upload(ServerId(1), ComfyClient(stand_in.url), {"1.image": seed}).result(10)
        assert staged.uploads == 2
        assert names["1.image"].startswith("x121_")
        assert staged.upload(ServerId(1), ComfyClient(stand_in.url), {}).result(1) == {}


def test_an_input_deleted_on_the_server_is_sent_again_after_the_refused_prompt(
    studio: Studio, server: ComfyTestServer
) -> None:
    engine = studio.engine
    register_server(engine, "gpu", server.url)
    seed = store_file(engine, studio.paths.media_root, tiny_png(7))

    async def scenario() -> list[tuple[JobStatus, int, str | None]]:
        async with running(Dispatcher(studio, lease_s=5.0, claim_every_s=0.2)) as d:
            first = insert_job(engine, quick_prompt("one"), {"1.image": seed}, redispatch=False)
            await wait_for(lambda: job_state(engine, first)[0] in TERMINAL, 30, "the first job")
            for sent in (server.root / "input").glob("x121_*"):
                sent.unlink()  # an operator cleans the server's input folder
            second = insert_job(engine, quick_prompt("two"), {"1.image": seed}, redispatch=False)
            await wait_for(lambda: job_state(engine, second)[0] in TERMINAL, 30, "the second job")
            third = insert_job(engine, quick_prompt("three"), {"1.image": seed}, redispatch=False)
            await wait_for(lambda: job_state(engine, third)[0] in TERMINAL, 30, "the third job")
            assert d.staged.uploads == 2  # once for the first job, again after the refusal
        return [job_state(engine, job) for job in (first, second, third)]

    first, second, third = asyncio.run(scenario())
    assert first[0] is JobStatus.SUCCEEDED
    assert second[0] is JobStatus.FAILED  # the server refused it: said, not retried
    assert second[2]
    assert third[0] is JobStatus.SUCCEEDED
