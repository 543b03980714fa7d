"""The node types an editor can place, as plain values (built by services from a server's /object_info).

The node editor lives in `ui`, which may not import `comfy`, so the catalogue is a core value:
typed sockets, widgets (combo, int/float with ranges, string, multiline, toggle, file upload) and
outputs per node type. `widget_slots` tells where each widget's value sits in a node's saved
`widgets_values` (the frontend interleaves "control after generate" and "upload" values).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize", "increment-wrap"})
UPLOAD_VALUES = frozenset({"image", "video", "audio", "file", ""})


class WidgetKind(StrEnum):
    COMBO = "combo"
    INT = "int"
    FLOAT = "float"
    STRING = "string"
    MULTILINE = "multiline"
    TOGGLE = "toggle"
    UPLOAD = "upload"  # a file combo with an upload button (LoadImage, LoadVideo, ...)


@dataclass(frozen=True, slots=True)
class WidgetSpec:
    name: str
    kind: WidgetKind
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    control_after_generate: bool = False
    upload: str | None = None  # "image_upload", "video_upload", ... for UPLOAD widgets
    type: str = ""  # the input's socket type ("INT", "COMBO", ...): widgets can be turned into sockets


@dataclass(frozen=True, slots=True)
class SocketSpec:
    name: str
    type: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class NodeType:
    name: str
    display_name: str
    category: str = ""
    inputs: tuple[SocketSpec, ...] = ()  # link-only inputs
    widgets: tuple[WidgetSpec, ...] = ()  # widget inputs, in the order their values are saved
    outputs: tuple[SocketSpec, ...] = ()
    output_node: bool = False
    deprecated: bool = False

    def widget(self, name: str) -> WidgetSpec | None:
        return next((w for w in self.widgets if w.name == name), None)

    def default_widget_values(self) -> list[Any]:
        """What the frontend saves for a fresh node: each default, plus the control and upload values."""
        out: list[Any] = []
        for w in self.widgets:
            out.append(w.default)
            if w.control_after_generate:
                out.append("randomize")
            if w.upload:
                out.append(w.upload.removesuffix("_upload").removeprefix("animated_"))
        return out


@dataclass(frozen=True)
class NodeCatalog:
    """Node types by name; `source` says where they came from (a server, a cached file, nothing)."""

    types: Mapping[str, NodeType] = field(default_factory=dict)
    source: str = "no node list"

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def __iter__(self) -> Iterator[NodeType]:
        return iter(self.types.values())

    def __len__(self) -> int:
        return len(self.types)

    def get(self, name: str) -> NodeType | None:
        return self.types.get(name)

    def search(self, text: str, limit: int = 50) -> list[NodeType]:
        """Types whose name, title or category contain every word of `text`; best (prefix) matches first."""
        words = text.lower().split()
        scored: list[tuple[int, str, NodeType]] = []
        for t in self.types.values():
            hay = f"{t.display_name} {t.name} {t.category}".lower()
            if all(w in hay for w in words):
                title = t.display_name.lower()
                rank = 0 if words and title.startswith(words[0]) else 1 if words and words[0] in title else 2
                scored.append((rank + (3 if t.deprecated else 0), title, t))
        scored.sort(key=lambda x: (x[0], x[1]))
        return [t for _, _, t in scored[:limit]]


def types_compatible(output_type: str, input_type: str) -> bool:
    """ComfyUI's rule: `*` matches anything; comma lists match when they share a type."""
    if output_type in ("*", "") or input_type in ("*", ""):
        return True
    outs = {t.strip() for t in output_type.split(",")}
    return bool(outs & {t.strip() for t in input_type.split(",")})


@dataclass(frozen=True, slots=True)
class WidgetSlot:
    """One widget and the index of its value in `widgets_values` (None: the list is too short)."""

    spec: WidgetSpec
    index: int | str | None
    value: Any


@dataclass(frozen=True, slots=True)
class SavedWidget:
    """How one widget is kept in a UI node's `widgets_values` (the frontend's rules)."""

    name: str
    default: Any
    control_after: bool
    """A control widget's value ("fixed", "randomize", ...) follows it (seed-like widgets)."""
    upload: bool
    """An upload widget's value follows it (file combos with an upload button)."""


def read_widgets_values(
    widgets: Sequence[SavedWidget], saved: Any
) -> tuple[list[tuple[int | str | None, Any]], tuple[Any, ...]]:
    """Where each widget's value sits in a node's saved `widgets_values`, and the values left over.

    A list is read in widget order; a control value after a seed-like widget and an upload value
    after a file combo are skipped (they are not inputs). A widget the list is too short for keeps
    its default (index None), as a freshly created node would. An object (some custom nodes) maps
    by widget name. Left over: values no widget takes (the node changed since it was saved).
    """
    if isinstance(saved, Mapping):
        known = {w.name for w in widgets}
        found: list[tuple[int | str | None, Any]] = [(w.name, saved.get(w.name, w.default)) for w in widgets]
        return found, tuple(v for k, v in saved.items() if k not in known)
    items = list(saved) if isinstance(saved, list | tuple) else []
    out: list[tuple[int | str | None, Any]] = []
    pos = 0
    for w in widgets:
        if pos >= len(items):
            out.append((None, w.default))
            continue
        out.append((pos, items[pos]))
        pos += 1
        if pos < len(items) and _skips(w, items[pos]):
            pos += 1
    return out, tuple(items[pos:])


def widget_slots(node_type: NodeType, saved: Any) -> tuple[WidgetSlot, ...]:
    """Assign saved widget values to widgets the way the frontend reads them back (`read_widgets_values`)."""
    rules = [SavedWidget(w.name, w.default, w.control_after_generate, bool(w.upload)) for w in node_type.widgets]
    found, _ = read_widgets_values(rules, saved)
    return tuple(WidgetSlot(w, index, value) for w, (index, value) in zip(node_type.widgets, found, strict=True))


def _skips(w: SavedWidget, value: Any) -> bool:
    if isinstance(value, str) and value in CONTROL_VALUES:
        return w.control_after or w.name in ("seed", "noise_seed")
    return w.upload and (value is None or (isinstance(value, str) and value in UPLOAD_VALUES))
