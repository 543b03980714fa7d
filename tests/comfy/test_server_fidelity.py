"""The stand-in against the recordings, field by field: it must not drift from the real server."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest
import websocket

from tests.comfy.recordings import load, workflow
from tests.comfyui_server import ComfyTestServer

Message = dict[str, Any]


class Recorder:
    """A raw WS client recording messages in the recordings' own shape."""

    def __init__(self, url: str, client_id: str, *, flags: bool = False) -> None:
        self.ws = websocket.create_connection(f"ws{url[4:]}/ws?clientId={client_id}", timeout=30)
        if flags:
            self.ws.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
        self.messages: list[Message] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                opcode, data = self.ws.recv_data()
            except (OSError, websocket.WebSocketException):
                return
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self.messages.append({"kind": "text", "json": json.loads(data)})
            elif opcode == websocket.ABNF.OPCODE_BINARY:
                self.messages.append({"kind": "binary", "first8_be_u32": [data[3], 0]})
            else:
                return

    def wait_finished(self, count: int = 1, timeout: float = 60) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [m for m in self.messages if _type(m) == "executing" and m["json"]["data"]["node"] is None]
            if len(done) >= count:
                return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"not finished: {[_type(m) for m in self.messages]}")

    def close(self) -> None:
        self.ws.close()
        self.thread.join(5)


def _type(m: Message) -> str:
    return m["json"]["type"] if m["kind"] == "text" else f"binary{m['first8_be_u32'][0]}"


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        if value and all(str(k).isdigit() for k in value):
            return {"<id>": sorted({json.dumps(_shape(v), sort_keys=True) for v in value.values()})}
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(_shape(v), sort_keys=True) for v in value})
    return type(value).__name__


def _structure(messages: list[Message]) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """(types up to execution_cached, node → its message types, types from the terminal on), status dropped."""
    seq = [m for m in messages if _type(m) != "status"]
    start = next(i for i, m in enumerate(seq) if _type(m) == "execution_cached") + 1
    end = next(
        i for i, m in enumerate(seq) if _type(m) in ("execution_success", "execution_error", "execution_interrupted")
    )
    groups: dict[str, list[str]] = {}
    chunk: list[Message] = []

    def close_chunk() -> None:
        if chunk:
            label = next(m["json"]["data"]["node"] for m in chunk if _type(m) in ("executing", "executed"))
            groups[label] = [_type(m) for m in chunk]

    for m in seq[start:end]:
        kind = _type(m)
        starts = False
        if kind == "progress_state":
            last = list(m["json"]["data"]["nodes"].values())[-1]
            starts = last["state"] == "running" and last["value"] == 0.0 and isinstance(last["value"], float)
        if kind == "executed" and (not chunk or _type(chunk[-1]) == "progress_state"):
            starts = not any(_type(c) == "executing" for c in chunk) or _type(chunk[-1]) == "progress_state"
        if starts:
            close_chunk()
            chunk = []
        chunk.append(m)
    close_chunk()
    return [_type(m) for m in seq[:start]], groups, [_type(m) for m in seq[end:]]


def _assert_same(recorded: list[Message], ours: list[Message]) -> None:
    assert _type(ours[0]) == _type(recorded[0]) == "status"
    assert set(ours[0]["json"]["data"]) == set(recorded[0]["json"]["data"]) == {"status", "sid"}
    assert _structure(ours) == _structure(recorded)
    shapes: dict[str, Any] = {}
    for m in recorded:
        if m["kind"] == "text":
            shapes.setdefault(m["json"]["type"], set()).add(json.dumps(_shape(m["json"]), sort_keys=True))
    for m in ours:
        if m["kind"] == "text":
            assert json.dumps(_shape(m["json"]), sort_keys=True) in shapes[m["json"]["type"]], m


def _post(url: str, path: str, payload: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url + path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
            return reply.status, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body else None


@pytest.fixture
def recorder(comfy_server: ComfyTestServer) -> Any:
    made: list[Recorder] = []

    def make(client_id: str = "fidelity", flags: bool = False) -> Recorder:
        made.append(Recorder(comfy_server.url, client_id, flags=flags))
        time.sleep(0.05)
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_image_to_video_then_cached_then_changed(comfy_server: ComfyTestServer, recorder: Any) -> None:
    ws = recorder()
    url = comfy_server.url
    for number, (wf, name) in enumerate(
        [
            ("image-to-video-segment.api.json", "transcript-image-to-video.json"),
            ("image-to-video-segment.api.json", "transcript-cached.json"),
            ("image-to-video-segment-seed7.api.json", "transcript-changed-input.json"),
        ]
    ):
        before = len(ws.messages)
        status, reply = _post(url, "/prompt", {"prompt": workflow(wf), "client_id": "fidelity"})
        assert status == 200
        assert set(reply) == {"prompt_id", "number", "node_errors"}
        ours = [ws.messages[0], *ws.wait_finished(number + 1)[before:]]
        recorded = load(name)
        _assert_same(recorded["websocket"]["messages"], ours)
        with urllib.request.urlopen(f"{url}/history/{reply['prompt_id']}") as r:
            history = json.loads(r.read())
        want = recorded["history"]["response"]["json"][recorded["prompt_id"]]
        got = history[reply["prompt_id"]]
        assert _shape(got) == _shape(want)
        files = sorted(i["filename"] for o in got["outputs"].values() for i in o.get("images", []))
        assert files == sorted(i["filename"] for o in want["outputs"].values() for i in o.get("images", []))


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("error-missing-node.json", None),
        ("error-missing-lora.json", "only_lora_missing"),
        ("error-missing-lora.json", "lora_and_checkpoint_missing"),
        *[
            ("error-validation-misc.json", k)
            for k in load("error-validation-misc.json")
            if k not in ("scenario", "websocket")
        ],
    ],
)
def test_validation_replies_match_exactly(comfy_server: ComfyTestServer, name: str, key: str | None) -> None:
    case = load(name)[key] if key else load(name)
    request = case["post_prompt"]["request"]["json"]
    if key == "only_lora_missing":  # the recording's server had this checkpoint installed
        comfy_server.set_models("checkpoints", [request["prompt"]["1"]["inputs"]["ckpt_name"]])
    status, reply = _post(comfy_server.url, "/prompt", request)
    want = case["post_prompt"]["response"]
    assert status == want["status"]
    if status == 200:
        assert reply["node_errors"] == want["json"]["node_errors"]
        return
    for entry in [*reply["node_errors"].values(), *want["json"]["node_errors"].values()]:
        for error in entry["errors"]:
            error["extra_info"].pop("traceback", None)
    assert reply == want["json"]
