"""Inputs already sent to a server are not uploaded again (services/orchestrator/staging.py), on the stand-in.

A scene's segment jobs start from the same seeds: the second job's upload of the same file to the same
server reuses the first (in flight or done), another server still gets its own copy, a failed upload is
tried again the next time, and a restarted server is sent everything again.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.comfyui_server import ComfyTestServer
from tests.services.test_runner import tiny_png
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import ServerId
from x121_desktop.db.repositories.job_records import StoredFile
from x121_desktop.services.orchestrator.staging import StagedInputs
from x121_desktop.services.storage import MediaStore


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
