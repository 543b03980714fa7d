"""Every recorded message of ../shared/comfyui, fed through the client's parsers, gives typed events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.comfy.recordings import ALL_FILES, exchanges, frame_of, load, ws_logs
from x121_desktop.comfy import protocol as p
from x121_desktop.comfy.errors import ComfyProtocolError, PromptRejected
from x121_desktop.comfy.rest import (
    parse_history,
    parse_prompt_accepted,
    parse_queue,
    parse_system_stats,
    parse_upload,
    prompt_rejection,
)

SOURCE = "http://127.0.0.1:8188"
FAILED = "prompt_outputs_failed_validation"


def events_of(log: dict[str, Any]) -> list[p.WsEvent]:
    result = []
    for record in log["messages"]:
        frame = frame_of(record)
        if isinstance(frame, bytes):
            result.append(p.parse_binary_message(frame, SOURCE))
        else:
            result.append(p.parse_text_message(frame, SOURCE))
    return result


@pytest.mark.parametrize("name", [n for n in ALL_FILES if not n.startswith("http-")])
def test_every_recorded_ws_message_parses_to_a_known_event(name: str) -> None:
    logs = list(ws_logs(load(name)))
    assert logs, f"{name} has no WebSocket log"
    for log in logs:
        events = events_of(log)
        assert isinstance(events[0], p.Status)
        assert events[0].sid == log["client_id"]
        assert not [e for e in events if isinstance(e, (p.UnknownMessage, p.UnknownBinary))]
        for event in events:
            if isinstance(event, p.TERMINAL_EVENTS):
                assert event.prompt_id


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_recorded_http_reply_parses(name: str) -> None:
    for label, request, response in exchanges(load(name)):
        path, status, body = request["path"], response["status"], response.get("json")
        if path.startswith("/prompt") and request["method"] == "POST" and body is not None:
            if status == 200:
                accepted = parse_prompt_accepted(body, SOURCE)
                assert accepted.prompt_id, label
            else:
                rejection = prompt_rejection(body, SOURCE)
                assert SOURCE in rejection.sentence, label
                assert rejection.error_type, label
        elif path.startswith("/history") and request["method"] == "GET":
            for prompt_id, entry in parse_history(body, SOURCE).items():
                assert entry.prompt_id == prompt_id, label
                assert entry.status_str in ("success", "error"), label
        elif path.endswith("/queue") and request["method"] == "GET":
            state = parse_queue(body, SOURCE)
            assert [i.number for i in state.pending] == sorted(i.number for i in state.pending)
        elif path == "/upload/image" and status == 200:
            assert parse_upload(body, SOURCE).name


def test_image_to_video_run_gives_outputs_videos_and_text() -> None:
    rec = load("transcript-image-to-video.json")
    events = events_of(rec["websocket"])
    executed = {e.node: e.output for e in events if isinstance(e, p.Executed)}
    assert set(executed) == {"6", "7", "8", "10", "12"}
    mp4 = executed["6"].videos[0]
    assert (mp4.filename, mp4.subfolder, mp4.type) == ("segment_mp4_00001_.mp4", "i2v", "output")
    assert executed["6"].animated
    assert not executed["10"].animated
    assert not executed["10"].videos
    assert executed["12"].text == ("16",)
    assert mp4.annotated_path == "i2v/segment_mp4_00001_.mp4 [output]"
    texts = [e for e in events if isinstance(e, p.ProgressText)]
    assert texts == [p.ProgressText("11", "width: 512, height: 512\n batch size: 16")]
    states = [e for e in events if isinstance(e, p.ProgressState)]
    assert states[-1].nodes[-1] == p.NodeState("10", 1.0, 1.0, "finished", "10", None, "10")
    assert isinstance(events[-3], p.ExecutionSuccess)
    assert events[-2] == p.Status(0)
    assert events[-1] == p.Executing(rec["prompt_id"], None)
    started = [e.node for e in events if isinstance(e, p.Executing) and e.node]
    assert started == ["1", "2", "3", "4", "8", "7", "5", "6", "11", "12", "9", "10"]
    entry = parse_history(rec["history"]["response"]["json"], SOURCE)[rec["prompt_id"]]
    assert entry.succeeded
    assert entry.number == 1
    assert {o.node_id for o in entry.outputs} == set(executed)
    observer = events_of(rec["websocket_observer"])
    assert {type(e) for e in observer} == {p.Status, p.ProgressText}


def test_cached_and_changed_runs() -> None:
    cached = events_of(load("transcript-cached.json")["websocket"])
    hit = next(e for e in cached if isinstance(e, p.ExecutionCached))
    assert len(hit.nodes) == 12
    assert not [e for e in cached if isinstance(e, p.Executing) and e.node]
    names = {f.filename for e in cached if isinstance(e, p.Executed) for f in e.output.files}
    assert "segment_mp4_00001_.mp4" in names
    changed = events_of(load("transcript-changed-input.json")["websocket"])
    assert next(e for e in changed if isinstance(e, p.ExecutionCached)).nodes == ("1", "2", "3")
    names = {f.filename for e in changed if isinstance(e, p.Executed) for f in e.output.files}
    assert "segment_mp4_00002_.mp4" in names


def test_execution_errors_are_typed_and_readable() -> None:
    rec = load("transcript-execution-error.json")
    errors = [e for e in events_of(rec["websocket"]) if isinstance(e, p.ExecutionError)]
    assert [(e.node_id, e.node_type, e.exception_type) for e in errors] == [
        ("4", "LoadImage", "OSError"),
        ("1", "CheckpointLoaderSimple", "safetensors._safetensors_rust.SafetensorError"),
    ]
    assert errors[0].executed == ("3",)
    assert errors[0].traceback
    assert errors[0].sentence == "Node 4 (LoadImage) failed with OSError: Truncated File Read"
    entry = parse_history(rec["corrupt_image"]["history"]["response"]["json"], SOURCE)[errors[0].prompt_id]
    assert not entry.succeeded
    assert not entry.completed
    assert entry.message_types[-1] == "execution_error"
    assert [o.node_id for o in entry.outputs] == ["3"]


def test_interrupt_and_queue_recordings() -> None:
    rec = load("transcript-interrupt.json")
    events = events_of(rec["websocket"])
    stop = next(e for e in events if isinstance(e, p.ExecutionInterrupted))
    assert (stop.node_id, stop.node_type, set(stop.executed)) == ("5", "ImageBlur", {"1", "2", "3", "4"})
    assert [type(e) for e in events[events.index(stop) + 1 :][:2]] == [p.Status, p.Executing]
    queue = parse_queue(rec["steps"]["4 GET /queue while running"]["response"]["json"], SOURCE)
    assert [i.number for i in queue.running] == [24]
    assert [i.number for i in queue.pending] == [25, 26]
    assert queue.contains(queue.pending[0].prompt_id)
    gone = rec["steps"]["12 GET /history/<deleted>"]["response"]["json"]
    assert parse_history(gone, SOURCE) == {}
    q = load("transcript-queue.json")["steps"]
    state = parse_queue(q["5 GET /queue (numbers: B negative, so it sorts first)"]["response"]["json"], SOURCE)
    assert state.pending[0].number < 0
    entry = parse_history(q["18 GET /history/<C> (extra_data kept in prompt[3])"]["response"]["json"], SOURCE)
    assert next(iter(entry.values())).succeeded


def test_binary_previews_both_ways() -> None:
    rec = load("transcript-binary-previews.json")
    plain = events_of(rec["plain_client"]["websocket"])
    previews = [e for e in plain if isinstance(e, p.PreviewImage)]
    assert len(previews) == 3
    assert all(e.image_type == "image/png" for e in previews)
    assert all(e.image.startswith(b"\x89PNG") for e in previews)
    flagged = events_of(rec["feature_flag_client"]["websocket"])
    assert flagged[1] == p.FeatureFlags(True, 104857600)
    meta = [e for e in flagged if isinstance(e, p.PreviewImageWithMetadata)]
    assert len(meta) == 3
    assert {(e.node_id, e.image_type) for e in meta} == {("4", "image/png")}
    assert meta[0].prompt_id == rec["feature_flag_client"]["prompt_id"]
    assert [type(e) for e in flagged if isinstance(e, (p.Progress, p.PreviewImageWithMetadata))][:2] == [
        p.PreviewImageWithMetadata,
        p.Progress,
    ]


@pytest.mark.parametrize(
    ("name", "key", "kind", "needle"),
    [
        ("error-missing-node.json", None, "invalid_prompt", "VHS_VideoCombine does not exist"),
        ("error-missing-lora.json", "only_lora_missing", "prompt_outputs_failed_validation", "my_style_lora"),
        ("error-missing-lora.json", "lora_and_checkpoint_missing", "prompt_outputs_failed_validation", "sd15"),
        ("error-validation-misc.json", "no output node", "prompt_no_outputs", "has no outputs"),
        ("error-validation-misc.json", "value bigger than max", "prompt_outputs_failed_validation", "16384"),
        ("error-validation-misc.json", "required input missing", "prompt_outputs_failed_validation", "height"),
        (
            "error-validation-misc.json",
            "link type mismatch (MASK into IMAGE)",
            "prompt_outputs_failed_validation",
            "MASK",
        ),
        ("error-validation-misc.json", "node without class_type", "invalid_prompt", "class_type"),
    ],
)
def test_rejections_become_one_sentence(name: str, key: str | None, kind: str, needle: str) -> None:
    rec = load(name)
    reply = (rec[key] if key else rec)["post_prompt"]["response"]
    assert reply["status"] == 400
    error = prompt_rejection(reply["json"], SOURCE)
    assert isinstance(error, PromptRejected)
    assert error.error_type == kind
    assert needle in error.sentence
    assert SOURCE in error.sentence
    assert "\n" not in error.sentence


def test_partial_acceptance_carries_node_errors() -> None:
    rec = load("error-validation-misc.json")["one good output, one bad output (whole prompt rejected?)"]
    accepted = parse_prompt_accepted(rec["post_prompt"]["response"]["json"], SOURCE)
    assert [(n.node_id, n.class_type, n.dependent_outputs) for n in accepted.node_errors] == [
        ("5", "ImageScale", ("4",))
    ]
    assert accepted.node_errors[0].errors[0].type == "value_bigger_than_max"


def test_system_stats_and_malformed_messages() -> None:
    stats = parse_system_stats(load("http-endpoints.json")["GET /system_stats"]["response"]["json"], SOURCE)
    assert stats.comfyui_version == "0.3.64"
    assert stats.devices[0].type == "cpu"
    for bad in ("not json", '{"type": 3}', '{"type": "executed", "data": {"node": "1"}}', "[]"):
        with pytest.raises(ComfyProtocolError, match=r"127\.0\.0\.1:8188"):
            p.parse_text_message(bad, SOURCE)
    with pytest.raises(ComfyProtocolError, match="overruns"):
        p.parse_binary_message(b"\0\0\0\3\0\0\0\x50abc", SOURCE)
