"""Typed ComfyUI WebSocket messages and their parsers (see ../shared/comfyui/README.md).

Every parser takes `source` (the server URL) so a malformed message becomes one
ComfyProtocolError sentence naming the server, never a KeyError traceback.
REST replies live in `x121_desktop.comfy.rest`.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from x121_desktop.comfy.errors import ComfyProtocolError

VIDEO_EXTENSIONS = frozenset({".mp4", ".webm", ".mov", ".mkv", ".gif"})

# Binary frame event types (first big-endian u32 of a binary WS message).
BINARY_PREVIEW_IMAGE = 1
BINARY_TEXT = 3
BINARY_PREVIEW_IMAGE_WITH_METADATA = 4
IMAGE_FORMATS = {1: "image/jpeg", 2: "image/png"}


def protocol_error(source: str, what: str) -> ComfyProtocolError:
    return ComfyProtocolError(
        f"ComfyUI at {source} sent {what}",
        "Check that the URL points at a ComfyUI server of a supported version (0.3.6x) and not at a proxy.",
    )


# ---------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One file a node wrote; fetch it with GET /view (videos arrive under `images` too)."""

    filename: str
    subfolder: str
    type: str

    @property
    def is_video(self) -> bool:
        name = self.filename.lower()
        return any(name.endswith(ext) for ext in VIDEO_EXTENSIONS)

    @property
    def annotated_path(self) -> str:
        """The `sub/name.ext [output]` form LoadImage/LoadVideo accept without an upload."""
        path = f"{self.subfolder}/{self.filename}" if self.subfolder else self.filename
        return f"{path} [{self.type}]"


@dataclass(frozen=True, slots=True)
class NodeOutput:
    """The ui dict of one output node (`executed.output` or `history.outputs[node]`)."""

    node_id: str
    files: tuple[OutputFile, ...] = ()
    animated: bool = False
    text: tuple[str, ...] = ()

    @property
    def videos(self) -> tuple[OutputFile, ...]:
        return tuple(f for f in self.files if f.is_video)


# ---------------------------------------------------------------- WS text events


@dataclass(frozen=True, slots=True)
class Status:
    queue_remaining: int
    sid: str | None = None


@dataclass(frozen=True, slots=True)
class FeatureFlags:
    supports_preview_metadata: bool
    max_upload_size: int | None


@dataclass(frozen=True, slots=True)
class ExecutionStart:
    prompt_id: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class ExecutionCached:
    prompt_id: str
    nodes: tuple[str, ...]
    timestamp: int


@dataclass(frozen=True, slots=True)
class NodeState:
    node_id: str
    value: float
    max: float
    state: str  # "running" | "finished"
    display_node_id: str | None
    parent_node_id: str | None
    real_node_id: str | None


@dataclass(frozen=True, slots=True)
class ProgressState:
    prompt_id: str
    nodes: tuple[NodeState, ...]


@dataclass(frozen=True, slots=True)
class Executing:
    """A node started; `node is None` is the old-style "prompt finished" signal."""

    prompt_id: str | None
    node: str | None
    display_node: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    prompt_id: str | None
    node: str | None
    value: int
    max: int


@dataclass(frozen=True, slots=True)
class Executed:
    prompt_id: str
    node: str
    display_node: str | None
    output: NodeOutput


@dataclass(frozen=True, slots=True)
class ExecutionSuccess:
    prompt_id: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class ExecutionError:
    prompt_id: str
    node_id: str
    node_type: str
    executed: tuple[str, ...]
    exception_message: str
    exception_type: str
    traceback: tuple[str, ...]
    timestamp: int

    @property
    def sentence(self) -> str:
        return (
            f"Node {self.node_id} ({self.node_type}) failed with {self.exception_type}: "
            f"{self.exception_message.strip()}"
        )


@dataclass(frozen=True, slots=True)
class ExecutionInterrupted:
    prompt_id: str
    node_id: str
    node_type: str
    executed: tuple[str, ...]
    timestamp: int


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A message type this client does not know (custom nodes add their own); kept, not fatal."""

    type: str
    data_json: str


# ---------------------------------------------------------------- WS binary events


@dataclass(frozen=True, slots=True)
class PreviewImage:
    """Type 1: an image with neither node id nor prompt id (link it to the progress around it)."""

    image_type: str
    image: bytes


@dataclass(frozen=True, slots=True)
class PreviewImageWithMetadata:
    """Type 4: sent to clients that negotiated `supports_preview_metadata`."""

    node_id: str
    prompt_id: str
    display_node_id: str | None
    parent_node_id: str | None
    real_node_id: str | None
    image_type: str
    image: bytes


@dataclass(frozen=True, slots=True)
class ProgressText:
    """Type 3: progress text of a node, broadcast to every client."""

    node_id: str
    text: str


@dataclass(frozen=True, slots=True)
class UnknownBinary:
    event_type: int
    length: int


type WsEvent = (
    Status
    | FeatureFlags
    | ExecutionStart
    | ExecutionCached
    | ProgressState
    | Executing
    | Progress
    | Executed
    | ExecutionSuccess
    | ExecutionError
    | ExecutionInterrupted
    | UnknownMessage
    | PreviewImage
    | PreviewImageWithMetadata
    | ProgressText
    | UnknownBinary
)

TERMINAL_EVENTS = (ExecutionSuccess, ExecutionError, ExecutionInterrupted)


# ---------------------------------------------------------------- field helpers


class JsonFields:
    """Typed access to one JSON object; a missing or mistyped field is a protocol error."""

    def __init__(self, data: object, source: str, where: str) -> None:
        if not isinstance(data, dict):
            raise protocol_error(source, f"a {where} that is not a JSON object")
        self.data: dict[str, Any] = data
        self.source = source
        self.where = where

    def _bad(self, key: str, want: str) -> ComfyProtocolError:
        return protocol_error(self.source, f"a {self.where} whose '{key}' is not {want}")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        raise self._bad(key, "a string or null")

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(key, "a number")
        return int(value)

    def number(self, key: str) -> float:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(key, "a number")
        return float(value)

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings")
        return tuple(value)

    def obj(self, key: str) -> JsonFields:
        return JsonFields(self.data.get(key), self.source, f"{self.where}.{key}")


def parse_node_output(node_id: str, ui: object, source: str) -> NodeOutput:
    f = JsonFields(ui, source, f"output of node {node_id}")
    files: list[OutputFile] = []
    images = f.data.get("images", [])
    if not isinstance(images, list):
        raise protocol_error(source, f"an output of node {node_id} whose 'images' is not a list")
    for item in images:
        g = JsonFields(item, source, f"image entry of node {node_id}")
        files.append(OutputFile(g.text("filename"), g.opt_text("subfolder") or "", g.opt_text("type") or "output"))
    animated = f.data.get("animated", [])
    text = f.data.get("text", [])
    return NodeOutput(
        node_id=node_id,
        files=tuple(files),
        animated=isinstance(animated, list) and any(a is True for a in animated),
        text=tuple(str(t) for t in text) if isinstance(text, list) else (str(text),),
    )


def _node_state(key: str, raw: object, source: str) -> NodeState:
    f = JsonFields(raw, source, f"progress_state node {key}")
    return NodeState(
        node_id=f.opt_text("node_id") or key,
        value=f.number("value"),
        max=f.number("max"),
        state=f.text("state"),
        display_node_id=f.opt_text("display_node_id"),
        parent_node_id=f.opt_text("parent_node_id"),
        real_node_id=f.opt_text("real_node_id"),
    )


# ---------------------------------------------------------------- parsers


def parse_text_message(text: str | bytes, source: str) -> WsEvent:
    """Parse one WS text frame into a typed event."""
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise protocol_error(source, "a WebSocket text message that is not JSON") from None
    return parse_message(message, source)


def parse_message(message: object, source: str) -> WsEvent:
    envelope = JsonFields(message, source, "WebSocket message")
    kind = envelope.text("type")
    d = envelope.obj("data")
    if kind == "status":
        exec_info = d.obj("status").obj("exec_info")
        return Status(queue_remaining=exec_info.integer("queue_remaining"), sid=d.opt_text("sid"))
    if kind == "feature_flags":
        size = d.data.get("max_upload_size")
        return FeatureFlags(
            supports_preview_metadata=d.data.get("supports_preview_metadata") is True,
            max_upload_size=size if isinstance(size, int) else None,
        )
    if kind == "execution_start":
        return ExecutionStart(d.text("prompt_id"), d.integer("timestamp", 0))
    if kind == "execution_cached":
        return ExecutionCached(d.text("prompt_id"), d.texts("nodes"), d.integer("timestamp", 0))
    if kind == "progress_state":
        nodes = d.obj("nodes")
        return ProgressState(d.text("prompt_id"), tuple(_node_state(k, v, source) for k, v in nodes.data.items()))
    if kind == "executing":
        return Executing(d.opt_text("prompt_id"), d.opt_text("node"), d.opt_text("display_node"))
    if kind == "progress":
        return Progress(d.opt_text("prompt_id"), d.opt_text("node"), d.integer("value"), d.integer("max"))
    if kind == "executed":
        node = d.text("node")
        return Executed(
            d.text("prompt_id"), node, d.opt_text("display_node"), parse_node_output(node, d.data.get("output"), source)
        )
    if kind == "execution_success":
        return ExecutionSuccess(d.text("prompt_id"), d.integer("timestamp", 0))
    if kind == "execution_error":
        return ExecutionError(
            prompt_id=d.text("prompt_id"),
            node_id=d.opt_text("node_id") or "",
            node_type=d.opt_text("node_type") or "",
            executed=d.texts("executed"),
            exception_message=d.opt_text("exception_message") or "",
            exception_type=d.opt_text("exception_type") or "",
            traceback=d.texts("traceback"),
            timestamp=d.integer("timestamp", 0),
        )
    if kind == "execution_interrupted":
        return ExecutionInterrupted(
            d.text("prompt_id"),
            d.opt_text("node_id") or "",
            d.opt_text("node_type") or "",
            d.texts("executed"),
            d.integer("timestamp", 0),
        )
    return UnknownMessage(kind, json.dumps(d.data, sort_keys=True))


def parse_binary_message(frame: bytes, source: str) -> WsEvent:
    """Parse one WS binary frame (event types 1, 3 and 4)."""
    if len(frame) < 8:
        raise protocol_error(source, f"a binary WebSocket frame of only {len(frame)} bytes")
    event_type, second = struct.unpack(">II", frame[:8])
    if event_type == BINARY_PREVIEW_IMAGE:
        return PreviewImage(IMAGE_FORMATS.get(second, "application/octet-stream"), frame[8:])
    if event_type in (BINARY_TEXT, BINARY_PREVIEW_IMAGE_WITH_METADATA):
        end = 8 + second
        if end > len(frame):
            raise protocol_error(source, f"a binary frame of type {event_type} whose header overruns it")
        head = frame[8:end]
        if event_type == BINARY_TEXT:
            try:
                return ProgressText(head.decode("utf-8"), frame[end:].decode("utf-8"))
            except UnicodeDecodeError:
                raise protocol_error(source, "a binary TEXT frame that is not UTF-8") from None
        try:
            meta: Mapping[str, Any] = json.loads(head)
        except (ValueError, UnicodeDecodeError):
            raise protocol_error(source, "a preview frame whose metadata is not JSON") from None
        f = JsonFields(meta, source, "preview metadata")
        return PreviewImageWithMetadata(
            node_id=f.opt_text("node_id") or "",
            prompt_id=f.opt_text("prompt_id") or "",
            display_node_id=f.opt_text("display_node_id"),
            parent_node_id=f.opt_text("parent_node_id"),
            real_node_id=f.opt_text("real_node_id"),
            image_type=f.opt_text("image_type") or "image/png",
            image=frame[end:],
        )
    return UnknownBinary(event_type, len(frame))


def prompt_of(event: WsEvent) -> str | None:
    """The prompt an event belongs to, if it says so."""
    value = getattr(event, "prompt_id", None)
    return value if isinstance(value, str) and value else None
