"""aiohttp routes of the stand-in: the recorded endpoints, also under /api/..."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from tests.comfyui_server.faults import HTML_PAGE
from tests.comfyui_server.state import MODEL_FOLDERS, Client, QueueEntry, ServerState
from tests.comfyui_server.validation import Validator

STATE: web.AppKey[ServerState] = web.AppKey("state", ServerState)
MAX_UPLOAD = 104857600
CONTENT_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".webp": "image/webp", ".png": "image/png"}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


@web.middleware
async def guards(request: web.Request, handler: Any) -> web.StreamResponse:
    state = request.app[STATE]
    if state.faults.html_status is not None:
        return web.Response(text=HTML_PAGE, status=state.faults.html_status, content_type="text/html")
    origin = request.headers.get("Origin")
    if origin and origin.split("://", 1)[-1].rstrip("/") != request.headers.get("Host", ""):
        return web.Response(status=403)
    response: web.StreamResponse = await handler(request)
    return response


async def websocket(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    sid = request.query.get("clientId") or uuid.uuid4().hex
    ws = web.WebSocketResponse(max_msg_size=0)
    await ws.prepare(request)
    client = Client(ws)
    state.clients[sid] = client
    status = {"status": {"exec_info": {"queue_remaining": state.queue_remaining()}}, "sid": sid}
    await ws.send_str(json.dumps({"type": "status", "data": status}))
    running = state.running
    if running and running.extra_data.get("client_id") == sid and state.executing_node:
        node = state.executing_node
        data = {"node": node, "display_node": node, "prompt_id": running.prompt_id}
        await ws.send_str(json.dumps({"type": "executing", "data": data}))
    first = True
    try:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                parsed = json.loads(message.data)
            except ValueError:
                continue
            if first and isinstance(parsed, dict) and parsed.get("type") == "feature_flags":
                flags = parsed.get("data") or {}
                client.preview_metadata = bool(flags.get("supports_preview_metadata"))
                reply = {"supports_preview_metadata": True, "max_upload_size": MAX_UPLOAD}
                await ws.send_str(json.dumps({"type": "feature_flags", "data": reply}))
            first = False
    finally:
        if state.clients.get(sid) is client:
            del state.clients[sid]
    return ws


def _file_check(state: ServerState) -> Any:
    def check(class_type: str, name: str, value: str) -> str | None:
        kinds = {("LoadImage", "image"): "image", ("LoadVideo", "file"): "video"}
        kind = kinds.get((class_type, name))
        if kind is None:
            return None
        folders = {"input": state.input_dir, "output": state.output_dir, "temp": state.temp_dir}
        folder, plain = state.input_dir, value
        for key, path in folders.items():
            if value.endswith(f" [{key}]"):
                folder, plain = path, value[: -len(key) - 3]
        target = (folder / plain).resolve()
        if folder.resolve() in target.parents and target.is_file():
            return None
        return f"Invalid {kind} file: {value}"

    return check


async def post_prompt(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        body = await request.json()
    except ValueError:
        return web.Response(text="500 Internal Server Error\n\nServer got itself in trouble", status=500)
    if "number" in body:
        number = int(body["number"])
    else:
        number = -state.number if body.get("front") else state.number
        state.number += 1
    prompt = body.get("prompt")
    if not isinstance(prompt, dict):
        error = {
            "type": "no_prompt",
            "message": "No prompt provided",
            "details": "No prompt provided",
            "extra_info": {},
        }
        return _json({"error": error, "node_errors": {}}, 400)
    used = [n["class_type"] for n in prompt.values() if isinstance(n, dict) and isinstance(n.get("class_type"), str)]
    verdict = Validator(state.object_info(used), prompt, _file_check(state)).run(body.get("partial_execution_targets"))
    if verdict.error is not None:
        return _json({"error": verdict.error, "node_errors": verdict.node_errors}, 400)
    prompt_id = str(body.get("prompt_id") or uuid.uuid4())
    extra_data = dict(body.get("extra_data") or {})
    if body.get("client_id"):
        extra_data["client_id"] = body["client_id"]
    state.pending.append(QueueEntry(number, prompt_id, prompt, extra_data, state.order_outputs(verdict.good_outputs)))
    await state.send_status()
    state.wake.set()
    return _json({"prompt_id": prompt_id, "number": number, "node_errors": verdict.node_errors})


async def get_prompt(request: web.Request) -> web.Response:
    return _json({"exec_info": {"queue_remaining": request.app[STATE].queue_remaining()}})


async def get_queue(request: web.Request) -> web.Response:
    state = request.app[STATE]
    running = [state.running.as_list()] if state.running else []
    return _json({"queue_running": running, "queue_pending": [e.as_list() for e in state.pending]})


async def post_queue(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _body(request)
    if body.get("clear"):
        state.pending.clear()
    for prompt_id in body.get("delete", []):
        state.pending[:] = [e for e in state.pending if e.prompt_id != prompt_id]
    await state.send_status()
    return web.Response(status=200)


async def post_interrupt(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _body(request)
    wanted = body.get("prompt_id")
    if state.running and (not wanted or wanted == state.running.prompt_id):
        state.interrupted = True
    return web.Response(status=200)


async def post_free(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if (await _body(request)).get("free_memory"):
        state.free_pending = True
    return web.Response(status=200)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


async def get_history(request: web.Request) -> web.Response:
    state = request.app[STATE]
    prompt_id = request.match_info.get("prompt_id")
    if prompt_id is not None:
        entry = state.history.get(prompt_id)
        return _json({prompt_id: entry} if entry else {})
    items = list(state.history.items())  # a reused prompt_id keeps its first place, as in a dict
    max_items = int(request.query["max_items"]) if "max_items" in request.query else None
    offset = int(request.query.get("offset", -1))
    if offset < 0 and max_items is not None:  # ComfyUI: no offset means the newest max_items
        offset = len(items) - max_items
    items = items[max(offset, 0) :]
    return _json(dict(items[:max_items] if max_items is not None else items))


async def post_history(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _body(request)
    if body.get("clear"):
        state.history.clear()
    for prompt_id in body.get("delete", []):
        state.history.pop(prompt_id, None)
    return web.Response(status=200)


async def upload_image(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    image = form.get("image")
    if not isinstance(image, web.FileField) or not image.filename:
        return web.Response(status=400)
    kind = str(form.get("type") or "input")
    base = {"input": state.input_dir, "temp": state.temp_dir, "output": state.output_dir}.get(kind, state.input_dir)
    subfolder = str(form.get("subfolder") or "")
    folder = (base / os.path.normpath(subfolder)).resolve() if subfolder else base.resolve()
    if os.path.commonpath([str(base.resolve()), str(folder)]) != str(base.resolve()):
        return web.Response(status=400)
    data = image.file.read()
    name = Path(image.filename).name
    stem, ext = os.path.splitext(name)
    target = folder / name
    if str(form.get("overwrite", "")).lower() not in ("true", "1"):
        index = 1
        while target.exists():
            if target.read_bytes() == data:
                return _json({"name": name, "subfolder": subfolder, "type": kind})
            name = f"{stem} ({index}){ext}"
            target = folder / name
            index += 1
    folder.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return _json({"name": name, "subfolder": subfolder, "type": kind})


async def view(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    folders = {"output": state.output_dir, "input": state.input_dir, "temp": state.temp_dir}
    base = folders.get(request.query.get("type", "output"), state.output_dir).resolve()
    name = request.query.get("filename", "")
    path = (base / request.query.get("subfolder", "") / name).resolve()
    if not name or base not in path.parents or not path.is_file():
        return web.Response(status=404)
    headers = {"Content-Disposition": f'filename="{path.name}"'}
    ctype = CONTENT_TYPES.get(path.suffix.lower())
    if ctype:
        headers["Content-Type"] = ctype
    return web.FileResponse(path, headers=headers)


async def system_stats(request: web.Request) -> web.Response:
    port = request.url.port or 80
    argv = ["<comfyui>/main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port), "--disable-auto-launch"]
    system = {
        "os": "posix",
        "ram_total": 25276514304,
        "ram_free": 24172494848,
        "comfyui_version": "0.3.64",
        "required_frontend_version": "1.27.10",
        "installed_templates_version": "0.1.95",
        "required_templates_version": "0.1.95",
        "python_version": sys.version,
        "pytorch_version": "2.13.0+cpu",
        "embedded_python": False,
        "argv": argv,
    }
    device = {"name": "cpu", "type": "cpu", "index": None, "vram_total": 25276514304, "vram_free": 24172494848}
    device |= {"torch_vram_total": 25276514304, "torch_vram_free": 24172494848}
    return _json({"system": system, "devices": [device]})


async def object_info(request: web.Request) -> web.Response:
    info = request.app[STATE].object_info()
    name = request.match_info.get("node_class")
    if name is not None:
        return _json({name: info[name]} if name in info else {})
    return _json(info)


async def models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    folder = request.match_info.get("folder")
    if folder is None:
        return _json(MODEL_FOLDERS)
    if folder not in MODEL_FOLDERS:
        return web.Response(status=404)
    return _json(sorted(state.models.get(folder, [])))


async def logs_raw(request: web.Request) -> web.Response:
    entries = [{"t": request.app[STATE].boot, "m": "ComfyUI stand-in started\n"}]
    return _json({"entries": entries, "size": {"cols": 80, "rows": 24}})


EXTENSIONS = ["/extensions/core/groupNode.js", "/extensions/core/clipspace.js", "/extensions/core/widgetInputs.js"]


async def simple(request: web.Request) -> web.Response:
    answers: dict[str, Any] = {
        "features": {"supports_preview_metadata": True, "max_upload_size": MAX_UPLOAD},
        "extensions": EXTENSIONS,
        "settings": {},
        "workflow_templates": {},
    }
    return _json(answers.get(request.path.rsplit("/", 1)[-1], []))


async def experiment_models(request: web.Request) -> web.Response:
    root = request.app[STATE].root / "models"
    skip = ("configs", "custom_nodes")
    return _json([{"name": f, "folders": [str(root / f)]} for f in MODEL_FOLDERS if f not in skip])


async def userdata(request: web.Request) -> web.Response:
    """No user folder: the recorded reply for ?dir=workflows on a fresh install."""
    return web.Response(text="Directory not found", status=404)


def build_app(state: ServerState) -> web.Application:
    app = web.Application(middlewares=[guards], client_max_size=MAX_UPLOAD)
    app[STATE] = state
    routes = [
        ("GET", "/ws", websocket),
        ("GET", "/prompt", get_prompt),
        ("POST", "/prompt", post_prompt),
        ("GET", "/queue", get_queue),
        ("POST", "/queue", post_queue),
        ("POST", "/interrupt", post_interrupt),
        ("POST", "/free", post_free),
        ("GET", "/history", get_history),
        ("GET", "/history/{prompt_id}", get_history),
        ("POST", "/history", post_history),
        ("POST", "/upload/image", upload_image),
        ("GET", "/view", view),
        ("GET", "/system_stats", system_stats),
        ("GET", "/object_info", object_info),
        ("GET", "/object_info/{node_class}", object_info),
        ("GET", "/models", models),
        ("GET", "/models/{folder}", models),
        ("GET", "/internal/logs/raw", logs_raw),
        ("GET", "/features", simple),
        ("GET", "/embeddings", simple),
        ("GET", "/extensions", simple),
        ("GET", "/settings", simple),
        ("GET", "/workflow_templates", simple),
        ("GET", "/experiment/models", experiment_models),
        ("GET", "/userdata", userdata),
    ]
    for method, path, handler in routes:
        for prefix in ("", "/api"):
            app.router.add_route(method, prefix + path, handler)
    return app
