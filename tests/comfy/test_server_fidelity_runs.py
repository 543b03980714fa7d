"""The stand-in against the recorded runs, message by message and field by field (ids and times aside)."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.comfy.recordings import load, workflow
from tests.comfyui_server import ComfyTestServer
from tests.comfyui_server.recorder import Recorder, assert_same_run, http, http_json, normalise, prompt_runs, upload

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
    form = rec["upload_corrupt"]["request"]["multipart"]
    status, reply = upload(url, _corrupt_png(), form["filename"], form["fields"])
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


def test_queue_prompt_id_front_extra_data_clear_and_history(
    comfy_server: ComfyTestServer, recorder: MakeRecorder
) -> None:
    rec = load("transcript-queue.json")
    steps = rec["steps"]
    url = comfy_server.url
    ws = recorder()
    _submit(url, workflow("quick-png.api.json"))  # the recording's server had node 1 cached
    ws.wait_finished()
    before = len(ws.snapshot())
    comfy_server.faults.node_delay_s = 0.25
    labels: dict[str, str] = {}
    recorded_labels: dict[str, str] = {}
    numbers: dict[str, int] = {}

    def send(label: str, key: str) -> dict[str, Any]:
        request = dict(steps[key]["request"]["json"])
        prompt = _shrunk(request.pop("prompt"))
        extra = {k: v for k, v in request.items() if k != "client_id"}
        reply = _submit(url, prompt, **extra)
        want = steps[key]["response"]["json"]
        if "prompt_id" in extra:  # the client's own id comes back
            assert reply["prompt_id"] == extra["prompt_id"] == want["prompt_id"]
        labels[reply["prompt_id"]] = label
        recorded_labels[want["prompt_id"]] = label
        numbers[label] = reply["number"]
        return reply

    slow = send("slow", "1 POST /prompt slow (keeps the worker busy)")
    send("A", "2 POST /prompt quick A with a client-chosen prompt_id")
    send("B", "3 POST /prompt quick B with front=true (jumps ahead of A)")
    send("C", "4 POST /prompt quick C with extra_data")
    assert numbers["B"] == -(numbers["A"] + 1)  # every POST counts, front: true negates it
    assert numbers["C"] == numbers["A"] + 2
    key = "5 GET /queue (numbers: B negative, so it sorts first)"
    _, reply = http_json(url, "GET", "/queue")
    assert _queue_view(reply, labels) == _queue_view(steps[key]["response"]["json"], recorded_labels)
    _wait_executing(ws, slow["prompt_id"], "3")
    assert http(url, "POST", "/interrupt", b"")[::2] == (200, b"")  # no body: whatever runs
    comfy_server.faults.node_delay_s = 0.0
    runs = prompt_runs(ws.wait_finished(5)[before:])
    assert [labels[r[0]["json"]["data"]["prompt_id"]] for r in runs] == steps["observed execution order"]
    recorded_runs = prompt_runs(rec["websocket"]["messages"])
    for recorded, ours in zip(recorded_runs[:4], runs, strict=True):
        assert_same_run(recorded, ours)

    a2 = send("A2", "7 POST /prompt quick A2 reusing A's prompt_id")
    runs = prompt_runs(ws.wait_finished(6)[before:])
    assert_same_run(recorded_runs[4], runs[4])
    key = "8 GET /history/<A's id> after reuse (one entry, last one wins)"
    _assert_same_history(steps[key]["response"]["json"], _history(url, a2["prompt_id"]))
    _, newest = http_json(url, "GET", "/history?max_items=2")
    want = steps["9 GET /history?max_items=2"]["response"]["json"]
    assert [labels[k] for k in newest] == [recorded_labels[k] for k in want] == ["A2", "C"]  # A2 sits in A's old place
    assert http(url, "POST", "/history", {"delete": [a2["prompt_id"]]})[::2] == (200, b"")
    assert _history(url, a2["prompt_id"]) == steps["11 GET /history/<A's id> after delete"]["response"]["json"]

    comfy_server.faults.node_delay_s = 0.25
    slow = send("slow2", "12 POST /prompt slow again")
    recorded_labels[steps["12 POST /prompt slow again"]["response"]["json"]["prompt_id"]] = "slow2"
    d = send("D", "13 POST /prompt quick D")
    assert http(url, "POST", "/queue", {"clear": True})[::2] == (200, b"")
    _, reply = http_json(url, "GET", "/queue")
    assert _queue_view(reply, labels) == _queue_view(
        steps["15 GET /queue after clear"]["response"]["json"], recorded_labels
    )
    _wait_executing(ws, slow["prompt_id"], "3")
    assert http(url, "POST", "/interrupt", {})[::2] == (200, b"")
    comfy_server.faults.node_delay_s = 0.0
    runs = prompt_runs(ws.wait_finished(7)[before:])
    assert_same_run(recorded_runs[5], runs[5])
    assert _history(url, d["prompt_id"]) == steps["17 GET /history/<D> (cleared before it ran)"]["response"]["json"]
    c_id = next(k for k, v in labels.items() if v == "C")
    _assert_same_history(
        steps["18 GET /history/<C> (extra_data kept in prompt[3])"]["response"]["json"], _history(url, c_id)
    )


def test_cache_keeps_only_the_last_prompt_and_free_empties_it(
    comfy_server: ComfyTestServer, recorder: MakeRecorder
) -> None:
    rec = load("transcript-cache-eviction.json")
    url = comfy_server.url
    ws = recorder()
    _submit(url, workflow("binary-previews.api.json"))  # the recording's server had only node 1 cached
    ws.wait_finished()
    before = len(ws.snapshot())
    a = workflow("quick-png.api.json")
    a["3"]["inputs"]["filename_prefix"] = "cache/A"
    b = workflow("image-to-video-segment.api.json")
    for node in b.values():
        if "filename_prefix" in node["inputs"]:
            node["inputs"]["filename_prefix"] = node["inputs"]["filename_prefix"].replace("i2v/segment", "cache/B")
    comfy_server.pin_output_order(
        load("transcript-image-to-video.json")["history"]["response"]["json"].popitem()[1]["prompt"][4]
    )
    done = 1
    for run in rec["runs"]:
        if "prompt_id" not in run:  # the POST /free step
            assert http(url, "POST", "/free", {"unload_models": True, "free_memory": True})[::2] == (200, b"")
            continue
        _submit(url, b if "workflow B" in run["label"] else a)
        done += 1
        ours = prompt_runs(ws.wait_finished(done)[before:])[-1]
        cached = next(m for m in ours if m["json"]["type"] == "execution_cached")["json"]["data"]["nodes"]
        assert cached == run.get("execution_cached.nodes", []), run["label"]
        ran = [m["json"]["data"]["node"] for m in ours if m["kind"] == "text" and m["json"]["type"] == "executing"]
        assert ran[:-1] == run.get("executing (ran)", []), run["label"]
        assert ours[-3]["json"]["type"] == run["terminal_event"]
    ours_runs = prompt_runs(ws.snapshot()[before:])
    recorded_runs = prompt_runs(rec["websocket"]["messages"])
    assert len(ours_runs) == len(recorded_runs) == 5
    for recorded, mine in zip(recorded_runs, ours_runs, strict=True):
        assert_same_run(recorded, mine)


def test_video_roundtrip_upload_and_annotated_output_paths(
    comfy_server: ComfyTestServer, recorder: MakeRecorder
) -> None:
    rec = load("transcript-video-roundtrip.json")
    url = comfy_server.url
    ws = recorder()
    _submit(url, workflow("image-to-video-segment.api.json"))  # the previous segment: i2v/segment_mp4_00001_.mp4
    ws.wait_finished()
    frames = comfy_server.root / "output" / "i2v"
    (frames / "segment_lastframe_00002_.png").write_bytes((frames / "segment_lastframe_00001_.png").read_bytes())
    before = len(ws.snapshot())
    want = rec["download"]
    status, headers, body = http(url, "GET", want["request"]["path"])
    assert status == want["response"]["status"]
    assert set(headers) >= set(want["response"]["headers"])
    for key in ("content-disposition", "content-type", "accept-ranges"):
        assert headers[key] == want["response"]["headers"][key]
    assert (len(body), body[4:8]) == (
        int(headers["content-length"]),
        bytes.fromhex(want["response"]["body_first_bytes_hex"])[4:8],
    )
    form = rec["upload"]["request"]["multipart"]
    assert upload(url, body, form["filename"], form["fields"]) == (200, rec["upload"]["response"]["json"])
    recorded_runs = prompt_runs(rec["websocket"]["messages"])
    keys = ("run_uploaded", "run_annotated_output_path", "run_loadimage_annotated_output_path")
    for index, key in enumerate(keys):
        case = rec[key]
        entry = case["history"]["response"]["json"][case["prompt_id"]]
        comfy_server.pin_output_order(entry["prompt"][4])
        reply = _submit(url, case["post_prompt"]["request"]["json"]["prompt"])
        run = prompt_runs(ws.wait_finished(index + 2)[before:])[-1]
        assert_same_run(recorded_runs[index], run)
        _assert_same_history(case["history"]["response"]["json"], _history(url, reply["prompt_id"]))
