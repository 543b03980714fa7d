"""The stand-in's plain HTTP endpoints and uploads against http-endpoints.json and http-upload.json."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import websocket
from PIL import Image

from tests.comfy.conftest import astronaut_png
from tests.comfy.recordings import load, workflow
from tests.comfyui_server import ComfyTestServer
from tests.comfyui_server.recorder import http, shape, upload

ENDPOINTS = load("http-endpoints.json")
# replies that depend on the machine, the files or the port: compared by keys and value types only
BY_SHAPE = {
    "GET /system_stats",
    "GET /api/system_stats",
    "GET /extensions",
    "GET /object_info/LoadImage",
    "GET /experiment/models",
    "GET /internal/logs/raw",
}


def _replay(url: str, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    host = url.split("://", 1)[1]
    headers = {k: v.replace("127.0.0.1:8188", host) for k, v in request.get("headers", {}).items()}
    if "json" in request:
        return http(url, request["method"], request["path"], request["json"], headers)
    if request.get("body_bytes") == 9:  # the recorded malformed JSON body
        return http(url, request["method"], request["path"], b"{not json", headers)
    body = b"" if request["method"] == "POST" else None
    return http(url, request["method"], request["path"], body, headers)


@pytest.mark.parametrize("label", [k for k, v in ENDPOINTS.items() if isinstance(v, dict) and "response" in v])
def test_endpoint_replies_match(comfy_server: ComfyTestServer, label: str) -> None:
    request, want = ENDPOINTS[label]["request"], ENDPOINTS[label]["response"]
    status, headers, body = _replay(comfy_server.url, request)
    assert status == want["status"]
    assert headers.get("content-type") == want["headers"].get("content-type")
    if "text" in want:
        assert body.decode() == want["text"]
    elif want.get("body_bytes") == 0:
        assert body == b""
    elif label == "GET /object_info":  # the recording keeps only its size: compare with object_info.json
        assert list(json.loads(body)) == list(load("object_info.json"))
    elif label in BY_SHAPE:
        recorded = (
            {k: v for k, v in want["json"].items() if k != "_recorder_note"} if label.endswith("raw") else want["json"]
        )
        assert shape(json.loads(body)) == shape(recorded)
    else:
        assert json.loads(body) == want["json"]


def test_websocket_origin_guard_and_assigned_sid(comfy_server: ComfyTestServer) -> None:
    ws_url = "ws" + comfy_server.url[4:]
    foreign = ENDPOINTS["WS /ws with foreign Origin header"]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url + foreign["request"]["path"], origin=foreign["request"]["headers"]["Origin"])
    assert refused.value.status_code == 403
    assert "403 Forbidden" in foreign["observed"]["result"]
    first = ENDPOINTS["WS /ws without clientId (server assigns sid)"]["first_message"]
    ws = websocket.create_connection(ws_url + "/ws", timeout=10)
    try:
        got = json.loads(ws.recv())
    finally:
        ws.close()
    assert shape(got) == shape(first)
    assert got["data"]["status"] == first["data"]["status"]
    assert len(got["data"]["sid"]) == len(first["data"]["sid"]) == 32


def _other_png() -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(astronaut_png())).rotate(180).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_duplicate_rename_subfolder_and_refusals(comfy_server: ComfyTestServer) -> None:
    rec = load("http-upload.json")
    url = comfy_server.url
    (comfy_server.root / "input" / "astronaut.png").unlink()  # the recording starts with an empty input folder
    same, other = astronaut_png(), _other_png()
    for label, step in rec.items():
        if not isinstance(step, dict):
            continue
        request, want = step["request"], step["response"]
        if "multipart" not in request:  # the missing file field: a form with only `type`
            status, _, body = http(
                url, "POST", "/upload/image", b"type=input", {"Content-Type": "application/x-www-form-urlencoded"}
            )
            assert (status, body) == (want["status"], b"")
            continue
        form = request["multipart"]
        data = other if "different bytes" in label else same
        status, reply = upload(url, data, form["filename"], form["fields"])
        assert status == want["status"], label
        assert reply == want.get("json"), label
    assert sorted(p.name for p in (comfy_server.root / "input").iterdir()) == [
        "astronaut (1).png",
        "astronaut.png",
        "jobs",
    ]
    assert (comfy_server.root / "input" / "jobs" / "job-123" / "astronaut.png").read_bytes() == same


def test_loader_lists_only_the_input_folders_own_files_yet_validates_subfolder_ones(
    comfy_server: ComfyTestServer,
) -> None:
    """ComfyUI's LoadImage lists `os.listdir(input)` files only (INPUT_TYPES); a file in a subfolder is not
    listed but a prompt naming it still validates (VALIDATE_INPUTS checks that it exists)."""
    url = comfy_server.url
    status, reply = upload(url, astronaut_png(), "nested.png", {"type": "input", "subfolder": "jobs/job-7"})
    assert (status, reply) == (200, {"name": "nested.png", "subfolder": "jobs/job-7", "type": "input"})
    (comfy_server.root / "input" / "notes.txt").write_text("not an image")
    _, _, body = http(url, "GET", "/object_info/LoadImage", None, {})
    assert json.loads(body)["LoadImage"]["input"]["required"]["image"][0] == ["astronaut.png"]
    prompt = workflow("quick-png.api.json")
    prompt["1"]["inputs"]["image"] = "jobs/job-7/nested.png"
    status, _, body = http(url, "POST", "/prompt", {"prompt": prompt}, {"Content-Type": "application/json"})
    assert status == 200, body
    prompt["1"]["inputs"]["image"] = "jobs/job-7/absent.png"
    status, _, body = http(url, "POST", "/prompt", {"prompt": prompt}, {"Content-Type": "application/json"})
    assert status == 400
    assert "Invalid image file: jobs/job-7/absent.png" in json.loads(body)["node_errors"]["1"]["errors"][0]["details"]
