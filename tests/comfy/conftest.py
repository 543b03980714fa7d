"""Fixtures for comfy tests: the stand-in ComfyUI server and the recorded input image."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from tests.comfyui_server import ComfyTestServer
from x121_desktop.comfy.client import ComfyClient, invalidate_object_info

RECORDINGS = Path(__file__).resolve().parents[2].parent / "shared" / "comfyui"


def astronaut_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def comfy_server(tmp_path: Path) -> Iterator[ComfyTestServer]:
    """A fresh stand-in ComfyUI on 127.0.0.1:<free port>, with astronaut.png in its input folder."""
    server = ComfyTestServer(tmp_path / "comfyui")
    (server.root / "input" / "astronaut.png").write_bytes(astronaut_png())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        invalidate_object_info(server.url)


@pytest.fixture
def comfy_client(comfy_server: ComfyTestServer) -> ComfyClient:
    return ComfyClient(comfy_server.url, timeout=20.0)
