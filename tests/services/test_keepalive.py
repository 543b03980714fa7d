"""KeptAliveClient: HTTP keep-alive for the dispatcher's ComfyUI clients, against real servers.

The stand-in ComfyUI (aiohttp, as ComfyUI itself) for reuse across upload, POST /prompt, /queue and
/history; a small HTTP/1.1 server of our own for the ways a server ends a connection: asking to
close it, closing it while it is idle, and dropping a request on a reused connection.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.comfy.conftest import astronaut_png
from tests.comfyui_server import ComfyTestServer
from tests.services.test_runner import quick_prompt
from x121_desktop.comfy.errors import ComfyUnreachable
from x121_desktop.services.orchestrator import keepalive
from x121_desktop.services.orchestrator.keepalive import KeptAliveClient


@pytest.fixture
def comfy(tmp_path: Path) -> Iterator[ComfyTestServer]:
    server = ComfyTestServer(tmp_path / "comfy")
    (server.root / "input" / "astronaut.png").write_bytes(astronaut_png())
    with server:
        yield server


def test_upload_submit_and_polls_reuse_one_connection_per_thread(comfy: ComfyTestServer) -> None:
    client = KeptAliveClient(comfy.url)
    uploaded = client.upload(astronaut_png(), name="x121_keepalive.png")
    prompt = quick_prompt("keepalive")
    prompt["1"]["inputs"]["image"] = uploaded.annotated_path
    pid = str(uuid.uuid4())
    assert client.submit(prompt, prompt_id=pid).prompt_id == pid
    deadline = time.monotonic() + 20
    while client.history(pid) is None and time.monotonic() < deadline:
        client.queue()
        time.sleep(0.05)
    entry = client.history(pid)
    assert entry is not None
    assert entry.succeeded
    assert client.reused >= 3  # every request after the first went over the kept connection

    other: list[int] = []  # another thread gets its own connection (a request is never shared)

    def elsewhere() -> None:
        before = client.reused
        client.queue()
        client.queue()
        other.append(client.reused - before)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join(10)
    assert other == [1]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "keep"
    seen: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        if self.mode == "drop-second" and getattr(self, "answered", 0) >= 1:
            self.close_connection = True  # a request on the reused connection: close without a word
            return
        self.answered = getattr(self, "answered", 0) + 1
        body = json.dumps({"queue_running": [], "queue_pending": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.mode == "close-header":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        if self.mode == "close-silently":
            self.close_connection = True

    def do_GET(self) -> None:
        self._reply()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._reply()


@pytest.fixture
def plain() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_server_asking_to_close_gets_a_new_connection_each_time(plain: tuple[str, type[_Handler]]) -> None:
    url, handler = plain
    handler.mode = "close-header"
    client = KeptAliveClient(url)
    for _ in range(3):
        client.queue()
    assert client.reused == 0
    assert len(handler.seen) == 3


def test_a_connection_the_server_closed_while_idle_is_not_reused(plain: tuple[str, type[_Handler]]) -> None:
    url, handler = plain
    handler.mode = "close-silently"  # HTTP/1.1 without `Connection: close`, then the socket is closed
    client = KeptAliveClient(url)
    client.queue()
    time.sleep(0.1)  # the server's FIN arrives; the client sees EOF before reusing it
    client.queue()
    assert client.reused == 0
    assert len(handler.seen) == 2


def test_a_connection_idle_too_long_is_not_reused(
    plain: tuple[str, type[_Handler]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = plain
    monkeypatch.setattr(keepalive, "MAX_IDLE_S", 0.05)
    client = KeptAliveClient(url)
    client.queue()
    client.queue()
    assert client.reused == 1
    time.sleep(0.1)
    client.queue()
    assert client.reused == 1


def test_a_get_dropped_on_a_reused_connection_is_sent_again_but_a_post_never(
    plain: tuple[str, type[_Handler]],
) -> None:
    url, handler = plain
    handler.mode = "drop-second"  # each connection answers its first request only
    client = KeptAliveClient(url)
    client.queue()
    client.queue()  # dropped on the kept connection, then sent once more on a fresh one
    assert handler.seen == ["GET /queue", "GET /queue", "GET /queue"]
    handler.seen.clear()
    with pytest.raises(ComfyUnreachable, match="closed the connection before answering POST /queue"):
        client.delete_from_queue(["some-prompt"])  # a POST on the kept connection: reported, not repeated
    assert handler.seen == ["POST /queue"]
