"""Servers that are not (well-behaved) ComfyUI: every failure is one ComfyError sentence naming the URL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.comfyui_server import ComfyTestServer
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.errors import ComfyNotFound, ComfyProtocolError, ComfyUnreachable
from x121_desktop.comfy.protocol import OutputFile
from x121_desktop.core.errors import ComfyError


class RawServer:
    """A TCP server on 127.0.0.1 that answers every connection with fixed bytes (or closes it)."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.stopped = threading.Event()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                conn.recv(65536)
                if self.reply:
                    conn.sendall(self.reply)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def raw_server(request: pytest.FixtureRequest) -> Iterator[RawServer]:
    server = RawServer(request.param)
    yield server
    server.close()


def _http(status: str, ctype: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


def _assert_sentence(error: ComfyError, url: str) -> None:
    assert url in error.sentence
    assert error.fix
    assert "\n" not in error.sentence
    assert "Traceback" not in error.sentence


@pytest.mark.parametrize(
    ("raw_server", "kind", "words"),
    [
        (b"", ComfyUnreachable, "closed the connection"),
        (_http("200 OK", "text/html", b"<html>login</html>"), ComfyProtocolError, "HTML page"),
        (
            _http("500 Internal Server Error", "text/plain", b"500 Internal Server Error\n\nboom"),
            ComfyProtocolError,
            "500",
        ),
        (_http("200 OK", "application/json", b"{not json"), ComfyProtocolError, "not valid JSON"),
        (_http("200 OK", "application/json", b'{"system": 3}'), ComfyProtocolError, "not a JSON object"),
    ],
    indirect=["raw_server"],
)
def test_misbehaving_server(raw_server: RawServer, kind: type[ComfyError], words: str) -> None:
    client = ComfyClient(raw_server.url, timeout=5)
    with pytest.raises(kind, match=words) as caught:
        client.system_stats()
    _assert_sentence(caught.value, raw_server.url)


def test_refused_connection() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    with pytest.raises(ComfyUnreachable, match="refused the connection") as caught:
        ComfyClient(url).queue()
    _assert_sentence(caught.value, url)


def test_html_fault_on_the_stand_in_and_its_websocket(comfy_server: ComfyTestServer) -> None:
    comfy_server.faults.html_status = 502
    client = ComfyClient(comfy_server.url)
    with pytest.raises(ComfyProtocolError, match="HTML page") as caught:
        client.submit({"1": {"class_type": "PreviewAny", "inputs": {"source": "x"}}})
    _assert_sentence(caught.value, comfy_server.url)


def test_not_a_url() -> None:
    with pytest.raises(ComfyError, match="not a ComfyUI server URL"):
        ComfyClient("ftp://files.example")


def test_missing_output_file(comfy_server: ComfyTestServer, tmp_path: object) -> None:
    client = ComfyClient(comfy_server.url)
    with pytest.raises(ComfyNotFound, match=r"nope\.mp4") as caught:
        client.download(OutputFile("nope.mp4", "i2v", "output"), comfy_server.root / "dl" / "nope.mp4")
    _assert_sentence(caught.value, comfy_server.url)
    assert not list((comfy_server.root / "dl").iterdir())
