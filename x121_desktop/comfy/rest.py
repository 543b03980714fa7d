"""Typed ComfyUI REST replies and their parsers (the WebSocket side is in protocol.py)."""

from __future__ import annotations

from dataclasses import dataclass

from x121_desktop.comfy.errors import PromptRejected
from x121_desktop.comfy.protocol import JsonFields, NodeOutput, parse_node_output, protocol_error


@dataclass(frozen=True, slots=True)
class InputError:
    type: str
    message: str
    details: str
    input_name: str | None


@dataclass(frozen=True, slots=True)
class NodeErrors:
    node_id: str
    class_type: str
    errors: tuple[InputError, ...]
    dependent_outputs: tuple[str, ...]

    def sentence(self) -> str:
        parts = []
        for e in self.errors:
            detail = e.details or e.input_name or ""
            parts.append(f"{e.message} ({detail})" if detail else e.message)
        return f"node {self.node_id} ({self.class_type}): " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class PromptAccepted:
    prompt_id: str
    number: int
    node_errors: tuple[NodeErrors, ...]


@dataclass(frozen=True, slots=True)
class UploadResult:
    name: str
    subfolder: str
    type: str

    @property
    def annotated_path(self) -> str:
        path = f"{self.subfolder}/{self.name}" if self.subfolder else self.name
        return path if self.type == "input" else f"{path} [{self.type}]"


@dataclass(frozen=True, slots=True)
class QueueItem:
    number: int
    prompt_id: str
    client_id: str | None
    outputs_to_execute: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueueState:
    running: tuple[QueueItem, ...]
    pending: tuple[QueueItem, ...]  # sorted by number: the order they will run

    def contains(self, prompt_id: str) -> bool:
        return any(i.prompt_id == prompt_id for i in (*self.running, *self.pending))


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    prompt_id: str
    number: int
    status_str: str
    completed: bool
    outputs: tuple[NodeOutput, ...]
    message_types: tuple[str, ...]

    @property
    def succeeded(self) -> bool:
        return self.status_str == "success" and self.completed


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    type: str
    index: int | None
    vram_total: int
    vram_free: int


@dataclass(frozen=True, slots=True)
class SystemStats:
    comfyui_version: str
    python_version: str
    pytorch_version: str
    os: str
    ram_total: int
    ram_free: int
    argv: tuple[str, ...]
    devices: tuple[Device, ...]


def parse_node_errors(raw: object, source: str) -> tuple[NodeErrors, ...]:
    f = JsonFields(raw, source, "node_errors")
    result = []
    for node_id, entry in f.data.items():
        g = JsonFields(entry, source, f"node_errors[{node_id}]")
        errors = []
        items = g.data.get("errors", [])
        for item in items if isinstance(items, list) else []:
            e = JsonFields(item, source, f"error of node {node_id}")
            extra = e.data.get("extra_info")
            name = extra.get("input_name") if isinstance(extra, dict) else None
            errors.append(
                InputError(
                    e.opt_text("type") or "",
                    e.opt_text("message") or "",
                    e.opt_text("details") or "",
                    name if isinstance(name, str) else None,
                )
            )
        result.append(
            NodeErrors(str(node_id), g.opt_text("class_type") or "", tuple(errors), g.texts("dependent_outputs"))
        )
    return tuple(result)


def parse_prompt_accepted(raw: object, source: str) -> PromptAccepted:
    f = JsonFields(raw, source, "reply to POST /prompt")
    return PromptAccepted(
        f.text("prompt_id"), f.integer("number"), parse_node_errors(f.data.get("node_errors", {}), source)
    )


def prompt_rejection(raw: object, source: str) -> PromptRejected:
    """Turn a 400 reply of POST /prompt into one sentence per the README's error table."""
    f = JsonFields(raw, source, "error reply to POST /prompt")
    error = f.obj("error")
    kind = error.opt_text("type") or "unknown"
    message = (error.opt_text("message") or "the workflow was rejected").rstrip(".")
    details = error.opt_text("details") or ""
    nodes = parse_node_errors(f.data.get("node_errors", {}), source)
    if nodes:
        problem = f"ComfyUI at {source} rejected the workflow: " + "; ".join(n.sentence() for n in nodes)
    elif details:
        problem = f"ComfyUI at {source} rejected the workflow: {message} ({details})"
    else:
        problem = f"ComfyUI at {source} rejected the workflow: {message}"
    fixes = {
        "invalid_prompt": "Install the missing custom node on that server or remove the node from the workflow.",
        "prompt_no_outputs": "Add an output node (SaveVideo, SaveImage, PreviewAny) to the workflow.",
        "no_prompt": "Send the workflow in the 'prompt' field.",
    }
    fix = fixes.get(kind, "Fix the listed inputs (missing models must be installed on that server) and resubmit.")
    return PromptRejected(problem, fix, error_type=kind, node_ids=tuple(n.node_id for n in nodes))


def parse_upload(raw: object, source: str) -> UploadResult:
    f = JsonFields(raw, source, "reply to POST /upload/image")
    return UploadResult(f.text("name"), f.opt_text("subfolder") or "", f.opt_text("type") or "input")


def _queue_item(raw: object, source: str) -> QueueItem:
    if not isinstance(raw, list) or len(raw) < 3:
        raise protocol_error(source, "a queue item that is not [number, prompt_id, prompt, ...]")
    number, prompt_id = raw[0], raw[1]
    if not isinstance(number, int) or not isinstance(prompt_id, str):
        raise protocol_error(source, "a queue item without a number and a prompt_id")
    extra = raw[3] if len(raw) > 3 and isinstance(raw[3], dict) else {}
    client_id = extra.get("client_id")
    outputs = raw[4] if len(raw) > 4 and isinstance(raw[4], list) else []
    return QueueItem(number, prompt_id, client_id if isinstance(client_id, str) else None, tuple(map(str, outputs)))


def parse_queue(raw: object, source: str) -> QueueState:
    f = JsonFields(raw, source, "reply to GET /queue")
    running, pending = f.data.get("queue_running"), f.data.get("queue_pending")
    if not isinstance(running, list) or not isinstance(pending, list):
        raise protocol_error(source, "a /queue reply without queue_running and queue_pending lists")
    items = sorted((_queue_item(i, source) for i in pending), key=lambda i: i.number)
    return QueueState(tuple(_queue_item(i, source) for i in running), tuple(items))


def parse_history_entry(prompt_id: str, raw: object, source: str) -> HistoryEntry:
    f = JsonFields(raw, source, f"history entry {prompt_id}")
    prompt = f.data.get("prompt")
    number = prompt[0] if isinstance(prompt, list) and prompt and isinstance(prompt[0], int) else 0
    status = f.obj("status")
    messages = status.data.get("messages", [])
    types = tuple(m[0] for m in messages if isinstance(m, list) and m and isinstance(m[0], str))
    outputs = f.obj("outputs")
    return HistoryEntry(
        prompt_id=prompt_id,
        number=number,
        status_str=status.opt_text("status_str") or "",
        completed=status.data.get("completed") is True,
        outputs=tuple(parse_node_output(str(k), v, source) for k, v in outputs.data.items()),
        message_types=types,
    )


def parse_history(raw: object, source: str) -> dict[str, HistoryEntry]:
    f = JsonFields(raw, source, "reply to GET /history")
    return {str(k): parse_history_entry(str(k), v, source) for k, v in f.data.items()}


def parse_system_stats(raw: object, source: str) -> SystemStats:
    f = JsonFields(raw, source, "reply to GET /system_stats")
    s = f.obj("system")
    devices = f.data.get("devices", [])
    parsed = []
    for d in devices if isinstance(devices, list) else []:
        g = JsonFields(d, source, "device")
        index = g.data.get("index")
        parsed.append(
            Device(
                g.opt_text("name") or "",
                g.opt_text("type") or "",
                index if isinstance(index, int) else None,
                g.integer("vram_total", 0),
                g.integer("vram_free", 0),
            )
        )
    argv = s.data.get("argv", [])
    return SystemStats(
        comfyui_version=s.text("comfyui_version"),
        python_version=s.opt_text("python_version") or "",
        pytorch_version=s.opt_text("pytorch_version") or "",
        os=s.opt_text("os") or "",
        ram_total=s.integer("ram_total", 0),
        ram_free=s.integer("ram_free", 0),
        argv=tuple(str(a) for a in argv) if isinstance(argv, list) else (),
        devices=tuple(parsed),
    )
