"""The stand-in against the recorded runs, message by message and field by field (ids and times aside)."""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.comfy.recordings import load, workflow
from tests.comfyui_server import ComfyTestServer
from tests.comfyui_server.recorder import Recorder, assert_same_run, http, http_json, normalise, prompt_runs

MakeRecorder = Callable[..., Recorder]


@pytest.fixture
def recorder(comfy_server: ComfyTestServer) -> Iterator[MakeRecorder]:
    made: list[Recorder] = []

    def make(client_id: str = "fidelity", *, flags: bool = False) -> Recorder:
        made.append(Recorder(comfy_server.url, client_id, flags=flags))
        made[-1].wait_for(lambda seen: len(seen) >= (2 if flags else 1), what="hello")
        return made[-1]

    yield make
    for r in made:
        r.close()


def _submit(url: str, prompt: dict[str, Any], client_id: str = "fidelity", **extra: Any) -> dict[str, Any]:
    status, reply = http_json(url, "POST", "/prompt", {"prompt": prompt, "client_id": client_id, **extra})
    assert status == 200, reply
    assert reply["node_errors"] == {}
    return dict(reply)


def _upload(url: str, data: bytes, filename: str, fields: dict[str, str]) -> tuple[int, Any]:
    """POST /upload/image as multipart form data, the way a browser sends it."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
    parts.append(head.encode() + b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    status, _, raw = http(
        url, "POST", "/upload/image", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    return status, json.loads(raw) if raw else None


def _history(url: str, prompt_id: str) -> dict[str, Any]:
    status, reply = http_json(url, "GET", f"/history/{prompt_id}")
    assert status == 200
    return dict(reply)


def _assert_same_history(want: dict[str, Any], got: dict[str, Any]) -> None:
    """A history entry: same keys, outputs, status and messages; the prompt item keeps its number aside."""
    (want_entry,), (got_entry,) = want.values(), got.values()
    assert normalise(got_entry["outputs"]) == normalise(want_entry["outputs"])
    assert normalise(got_entry["status"]) == normalise(want_entry["status"])
    assert normalise(got_entry["meta"]) == normalise(want_entry["meta"])
    assert got_entry["prompt"][2] == _shrunk(want_entry["prompt"][2])
    assert got_entry["prompt"][4] == want_entry["prompt"][4]
    assert set(got_entry["prompt"][3]) == set(want_entry["prompt"][3])
    assert set(got_entry) == set(want_entry)


def test_binary_previews_plain_then_feature_flags(comfy_server: ComfyTestServer, recorder: MakeRecorder) -> None:
    rec = load("transcript-binary-previews.json")
    url = comfy_server.url
    warm = recorder("warm")  # the recording's server had run astronaut.png just before: node 1 was cached
    _submit(url, workflow("quick-png.api.json"), "warm")
    warm.wait_finished()
    for key, flags in (("plain_client", False), ("feature_flag_client", True)):
        case = rec[key]
        ws = recorder(key, flags=flags)
        assert [m["json"]["type"] for m in ws.snapshot()] == [
            m["json"]["type"] for m in case["websocket"]["messages"][: 2 if flags else 1]
        ]
        comfy_server.pin_output_order(case["history"]["response"]["json"][case["prompt_id"]]["prompt"][4])
        reply = _submit(url, workflow("binary-previews.api.json"), key)
        (run,) = prompt_runs(ws.wait_finished())
        (recorded,) = prompt_runs(case["websocket"]["messages"])
        assert_same_run(recorded, run)
        _assert_same_history(case["history"]["response"]["json"], _history(url, reply["prompt_id"]))


def _corrupt_png() -> bytes:
    """248 bytes like the recording's upload: a PNG whose second chunk claims more bytes than the file has."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
    head += struct.pack(">I", 4096) + b"tEXt"
    return head + b"x" * (248 - len(head))


def test_execution_errors_corrupt_png_then_fake_checkpoint(
    comfy_server: ComfyTestServer, recorder: MakeRecorder
) -> None:
    rec = load("transcript-execution-error.json")
    url = comfy_server.url
    upload = rec["upload_corrupt"]["request"]["multipart"]
    status, reply = _upload(url, _corrupt_png(), upload["filename"], upload["fields"])
    assert (status, reply) == (200, rec["upload_corrupt"]["response"]["json"])
    ckpt = rec["corrupt_checkpoint"]["post_prompt"]["request"]["json"]["prompt"]["1"]["inputs"]["ckpt_name"]
    comfy_server.set_models("checkpoints", [ckpt])  # listed, so validation passes; loading it fails
    ws = recorder()
    _submit(url, workflow("quick-png.api.json"))  # the recording's server had nodes 1 and 2 cached
    ws.wait_finished()
    recorded_runs = prompt_runs(rec["websocket"]["messages"])
    for index, key in enumerate(("corrupt_image", "corrupt_checkpoint")):
        case = rec[key]
        comfy_server.pin_output_order(case["history"]["response"]["json"][case["prompt_id"]]["prompt"][4])
        reply = _submit(url, case["post_prompt"]["request"]["json"]["prompt"])
        run = prompt_runs(ws.wait_finished(index + 2))[-1]
        assert_same_run(recorded_runs[index], run)
        _assert_same_history(case["history"]["response"]["json"], _history(url, reply["prompt_id"]))
    assert http_json(url, "GET", "/queue") == (200, rec["queue_after"]["response"]["json"])


def _shrunk(prompt: dict[str, Any]) -> dict[str, Any]:
    """The recordings' slow workflow at 64x64 instead of 1024x1024: the same nodes and messages, less CPU."""
    small = json.loads(json.dumps(prompt))
    if small.get("2", {}).get("inputs", {}).get("width") == 1024:
        small["2"]["inputs"] |= {"width": 64, "height": 64}
    return small


def _queue_view(reply: dict[str, Any], labels: dict[str, str]) -> dict[str, list[Any]]:
    """GET /queue by label: running and pending (sorted by number, as the README says), ids and numbers aside."""

    def item(entry: list[Any]) -> list[Any]:
        number, prompt_id, prompt, extra, outputs = entry
        extra = {k: v for k, v in extra.items() if k != "client_id"} | {"client_id": type(extra["client_id"]).__name__}
        return [labels[prompt_id], "front" if number < 0 else "back", _shrunk(prompt), extra, outputs]

    pending = sorted(reply["queue_pending"], key=lambda e: e[0])
    return {"running": [item(e) for e in reply["queue_running"]], "pending": [item(e) for e in pending]}


def _wait_executing(ws: Recorder, prompt_id: str, node: str) -> None:
    def seen(messages: list[dict[str, Any]]) -> bool:
        return any(
            m["kind"] == "text"
            and m["json"]["type"] == "executing"
            and m["json"]["data"] == {"node": node, "display_node": node, "prompt_id": prompt_id}
            for m in messages
        )

    ws.wait_for(seen, what=f"executing {node}")


def test_interrupt_with_others_queued_and_one_deleted(comfy_server: ComfyTestServer, recorder: MakeRecorder) -> None:
    rec = load("transcript-interrupt.json")
    steps = rec["steps"]
    url = comfy_server.url
    prefix = comfy_server.root / "output" / "quick"
    prefix.mkdir(parents=True)
    (prefix / "after_interrupt_00001_.png").write_bytes(b"")  # the recording's counter was at 1 already
    ws = recorder()
    comfy_server.faults.node_delay_s = 0.25  # slow enough to interrupt inside node 5, as recorded
    labels: dict[str, str] = {}
    recorded_labels: dict[str, str] = {}
    for label, key in (
        ("slow", "1 POST /prompt slow"),
        ("quick", "2 POST /prompt quick (queued behind)"),
        ("deleted", "3 POST /prompt slow again with a different seed, then deleted from the queue"),
    ):
        labels[_submit(url, _shrunk(steps[key]["request"]["json"]["prompt"]))["prompt_id"]] = label
        recorded_labels[steps[key]["response"]["json"]["prompt_id"]] = label
    ids = {label: prompt_id for prompt_id, label in labels.items()}
    _wait_executing(ws, ids["slow"], "1")
    for key in ("4 GET /queue while running", "7 GET /queue after delete"):
        if key.startswith("7"):
            assert http(url, "POST", "/queue", {"delete": [ids["deleted"]]})[::2] == (200, b"")
        status, reply = http_json(url, "GET", "/queue")
        assert status == 200
        assert _queue_view(reply, labels) == _queue_view(steps[key]["response"]["json"], recorded_labels)
        if key.startswith("4"):
            assert http_json(url, "GET", "/prompt") == (200, steps["5 GET /prompt while running"]["response"]["json"])
    assert http(url, "POST", "/interrupt", {"prompt_id": ids["quick"]})[::2] == (200, b"")  # not running: ignored
    _wait_executing(ws, ids["slow"], "5")
    assert http(url, "POST", "/interrupt", {"prompt_id": ids["slow"]})[::2] == (200, b"")
    comfy_server.faults.node_delay_s = 0.0
    runs = prompt_runs(ws.wait_finished(2))
    recorded_runs = prompt_runs(rec["websocket"]["messages"])
    assert len(runs) == len(recorded_runs) == 2
    for recorded, ours in zip(recorded_runs, runs, strict=True):
        assert_same_run(recorded, ours)
    for label, key in (("slow", "10 GET /history/<slow>"), ("quick", "11 GET /history/<quick>")):
        _assert_same_history(steps[key]["response"]["json"], _history(url, ids[label]))
    assert _history(url, ids["deleted"]) == steps["12 GET /history/<deleted>"]["response"]["json"] == {}
    assert http_json(url, "GET", "/queue") == (200, steps["13 GET /queue at end"]["response"]["json"])
