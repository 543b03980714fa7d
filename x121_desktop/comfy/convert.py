"""Workflow files: detect API vs UI format, and convert UI format → API format as ComfyUI's frontend does.

What the frontend's graph-to-prompt step does, and so what this does:
* `widgets_values` go to the widget inputs in object_info order (see `map_widget_values`);
  a linked input then takes the link instead of its widget value.
* UI-only nodes are not sent: `Reroute` (links are followed through it), legacy `PrimitiveNode`
  (its value is written into every input it feeds), `Note`/`MarkdownNote` (dropped).
* Muted nodes (mode 2) are not sent and inputs fed by them are left out; bypassed nodes (mode 4)
  are not sent and pass through the input whose type matches the requested output.
* Subgraphs (`definitions.subgraphs`) are flattened: an inner node gets the id
  `"<instance id>:<inner id>"` (nested: `"a:b:c"`), subgraph inputs resolve to the instance's links or its
  promoted widget values, subgraph outputs to the inner node that feeds them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from x121_desktop.comfy.object_info import ObjectInfo, map_widget_values
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.catalog import types_compatible
from x121_desktop.core.graph.document import is_ui_document, load_document
from x121_desktop.core.graph.model import (
    SUBGRAPH_INPUT_NODE_ID,
    SUBGRAPH_OUTPUT_NODE_ID,
    Graph,
    Node,
    NodeId,
    NodeMode,
    Subgraph,
    WorkflowDocument,
)

type ApiPrompt = dict[str, dict[str, Any]]

NOTE_TYPES = frozenset({"Note", "MarkdownNote", "Label (rgthree)", "Bookmark (rgthree)"})
REROUTE_TYPES = frozenset({"Reroute", "Reroute (rgthree)"})
PRIMITIVE_NODE_TYPE = "PrimitiveNode"
_MAX_DEPTH = 64


class WorkflowFormat(StrEnum):
    API = "api"
    UI = "ui"


@dataclass(frozen=True)
class LoadedWorkflow:
    """A workflow file as read: an API prompt, or a UI document kept whole for the node editor."""

    source: str
    format: WorkflowFormat
    api: Mapping[str, Any] | None = None
    document: WorkflowDocument | None = None


@dataclass(frozen=True)
class Conversion:
    """The API prompt made from a UI document, plus sentences about what could not be carried over."""

    prompt: ApiPrompt
    notes: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # API node id → how a person knows the node


def read_json(path: Path) -> Any:
    """Read a JSON file; errors name the file and the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}", "Check the path and permissions.") from exc
    return parse_json_text(text, str(path))


def parse_json_text(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            "Fix the file or export the workflow from ComfyUI again.",
        ) from exc


def detect_format(raw: object) -> WorkflowFormat | None:
    if is_ui_document(raw):
        return WorkflowFormat.UI
    if (
        isinstance(raw, Mapping)
        and raw
        and all(isinstance(v, Mapping) for v in raw.values())
        and any("class_type" in v for v in raw.values())
    ):
        return WorkflowFormat.API
    return None


def parse_workflow(raw: object, source: str = "workflow") -> LoadedWorkflow:
    kind = detect_format(raw)
    if kind is WorkflowFormat.UI and isinstance(raw, Mapping):
        return LoadedWorkflow(source=source, format=kind, document=load_document(raw, source))
    if kind is WorkflowFormat.API and isinstance(raw, Mapping):
        return LoadedWorkflow(source=source, format=kind, api=raw)
    raise InvalidInput(
        f"{source} is neither a ComfyUI API-format prompt (node id → {{class_type, inputs}}) "
        "nor a UI-format workflow (nodes and links)",
        "Export the workflow from ComfyUI with Save or Export (API).",
    )


def load_workflow(path: Path) -> LoadedWorkflow:
    return parse_workflow(read_json(path), str(path))


def to_api(workflow: LoadedWorkflow, info: ObjectInfo) -> Conversion:
    """The API prompt for any loaded workflow (a copy for API files, a conversion for UI files)."""
    if workflow.document is not None:
        return ui_to_api(workflow.document, info, workflow.source)
    prompt = json.loads(json.dumps(workflow.api or {}))
    labels = {str(k): _api_label(str(k), v) for k, v in prompt.items() if isinstance(v, Mapping)}
    return Conversion(prompt=prompt, labels=labels)


def ui_to_api(doc: WorkflowDocument, info: ObjectInfo, source: str = "workflow") -> Conversion:
    builder = _Builder(doc, info, source)
    builder.emit_scope(_Scope(graph=doc.graph))
    prompt = builder.prompt
    for node in prompt.values():  # drop links to nodes that were not sent (as the frontend does)
        node["inputs"] = {
            k: v
            for k, v in node["inputs"].items()
            if not (isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and v[0] not in prompt)
        }
    return Conversion(prompt=prompt, notes=tuple(builder.notes), labels=builder.labels)


def _api_label(node_id: str, node: Mapping[str, Any]) -> str:
    meta = node.get("_meta")
    title = meta.get("title") if isinstance(meta, Mapping) else None
    class_type = str(node.get("class_type", "?"))
    return f'#{node_id} "{title}" ({class_type})' if title and title != class_type else f"#{node_id} ({class_type})"


@dataclass(frozen=True)
class _Ref:
    node_id: str
    slot: int


@dataclass(frozen=True)
class _Value:
    value: Any


@dataclass(frozen=True)
class _Scope:
    graph: Graph
    path: tuple[str, ...] = ()
    subgraph: Subgraph | None = None
    parent: _Scope | None = None
    instance: Node | None = None
    promoted: Mapping[str, Any] = field(default_factory=dict)

    def flat_id(self, node_id: NodeId) -> str:
        return ":".join((*self.path, str(node_id)))


class _Builder:
    def __init__(self, doc: WorkflowDocument, info: ObjectInfo, source: str) -> None:
        self.doc, self.info, self.source = doc, info, source
        self.prompt: ApiPrompt = {}
        self.notes: list[str] = []
        self.labels: dict[str, str] = {}

    # -------------------------------------------------------------- emission
    def emit_scope(self, scope: _Scope) -> None:
        if len(scope.path) > _MAX_DEPTH:
            raise InvalidInput(
                f"{self.source}: subgraphs are nested more than {_MAX_DEPTH} deep (a subgraph contains itself)",
                "Remove the self-referencing subgraph in ComfyUI.",
            )
        for node in scope.graph.nodes:
            if node.mode in (NodeMode.NEVER, NodeMode.BYPASS) or node.type in NOTE_TYPES | REROUTE_TYPES:
                continue
            if node.type == PRIMITIVE_NODE_TYPE:
                continue
            sub = self.doc.subgraphs.get(node.type)
            if sub is not None:
                self.emit_scope(self._child(scope, node, sub))
            else:
                self._emit_node(scope, node)

    def _emit_node(self, scope: _Scope, node: Node) -> None:
        node_id = scope.flat_id(node.id)
        label = _flat_label(node_id, node)
        spec = self.info.get(node.type)
        inputs: dict[str, Any] = {}
        if spec is not None:
            mapped = map_widget_values(spec, node.widgets_values)
            inputs.update(mapped.values)
            if mapped.leftover:
                self.notes.append(
                    f"Node {label} has {len(mapped.leftover)} saved widget value(s) more than this server's "
                    f"{node.type} accepts ({_short(mapped.leftover)}); they were ignored. "
                    "Check the node's settings after updating ComfyUI or the workflow."
                )
        for sock in node.inputs:
            if sock.link is None:
                continue
            resolved = self._resolve_link(scope, sock.link, sock.type, 0)
            if isinstance(resolved, _Ref):
                inputs[sock.name] = [resolved.node_id, resolved.slot]
            elif isinstance(resolved, _Value):
                inputs[sock.name] = resolved.value
        title = node.title or (spec.display_name if spec is not None else node.type)
        self.prompt[node_id] = {"inputs": inputs, "class_type": node.type, "_meta": {"title": title}}
        self.labels[node_id] = label

    # -------------------------------------------------------------- subgraphs
    def _child(self, scope: _Scope, instance: Node, sub: Subgraph) -> _Scope:
        widget_ports = [p.name for p in sub.inputs if self._port_is_widget(sub, p.link_ids)]
        promoted: dict[str, Any] = {}
        saved = instance.widgets_values
        if isinstance(saved, list):
            promoted = dict(zip(widget_ports, saved, strict=False))
        elif isinstance(saved, Mapping):
            promoted = {k: saved[k] for k in widget_ports if k in saved}
        return _Scope(
            graph=sub.graph,
            path=(*scope.path, str(instance.id)),
            subgraph=sub,
            parent=scope,
            instance=instance,
            promoted=promoted,
        )

    def _port_is_widget(self, sub: Subgraph, link_ids: tuple[int, ...]) -> bool:
        for link_id in link_ids:
            lk = sub.graph.link(link_id)
            target = sub.graph.node(lk.target_id) if lk is not None else None
            if lk is None or target is None or lk.target_slot >= len(target.inputs):
                continue
            sock = target.inputs[lk.target_slot]
            if sock.widget is not None:
                return True
            spec = self.info.get(target.type)
            inp = spec.input(sock.name) if spec is not None else None
            if inp is not None and inp.is_widget:
                return True
        return False

    # -------------------------------------------------------------- link resolution
    def _resolve_link(self, scope: _Scope, link_id: int, want: str, depth: int) -> _Ref | _Value | None:
        lk = scope.graph.link(link_id)
        if lk is None:
            return None
        return self._resolve_output(scope, lk.origin_id, lk.origin_slot, want or lk.type, depth + 1)

    def _resolve_output(self, scope: _Scope, node_id: NodeId, slot: int, want: str, depth: int) -> _Ref | _Value | None:
        if depth > 4 * _MAX_DEPTH:
            raise InvalidInput(
                f"{self.source}: reroutes or bypassed nodes feed each other in a loop near node {node_id}",
                "Remove the loop of reroutes or bypassed nodes in ComfyUI.",
            )
        if str(node_id) == str(SUBGRAPH_INPUT_NODE_ID):
            return self._resolve_subgraph_input(scope, slot, want, depth)
        node = scope.graph.node(node_id)
        if node is None or node.mode == NodeMode.NEVER or node.type in NOTE_TYPES:
            return None
        if node.type in REROUTE_TYPES:
            link = node.inputs[0].link if node.inputs else None
            return None if link is None else self._resolve_link(scope, link, want, depth)
        if node.type == PRIMITIVE_NODE_TYPE:
            values = node.widgets_values
            return _Value(values[0]) if isinstance(values, list) and values else None
        if node.mode == NodeMode.BYPASS:
            index = _bypass_input(node, slot, want)
            link = node.inputs[index].link if index is not None else None
            return None if link is None else self._resolve_link(scope, link, want, depth)
        sub = self.doc.subgraphs.get(node.type)
        if sub is not None:
            child = self._child(scope, node, sub)
            inner = next(
                (
                    lk
                    for lk in sub.graph.links
                    if str(lk.target_id) == str(SUBGRAPH_OUTPUT_NODE_ID) and lk.target_slot == slot
                ),
                None,
            )
            if inner is None:
                return None
            return self._resolve_output(child, inner.origin_id, inner.origin_slot, want, depth + 1)
        return _Ref(scope.flat_id(node.id), slot)

    def _resolve_subgraph_input(self, scope: _Scope, slot: int, want: str, depth: int) -> _Ref | _Value | None:
        if scope.subgraph is None or scope.instance is None or scope.parent is None:
            return None
        if slot >= len(scope.subgraph.inputs):
            return None
        port = scope.subgraph.inputs[slot]
        index = scope.instance.input_index(port.name)
        link = scope.instance.inputs[index].link if index is not None else None
        if link is not None:
            return self._resolve_link(scope.parent, link, want, depth)
        if port.name in scope.promoted:
            return _Value(scope.promoted[port.name])
        return None


def _bypass_input(node: Node, slot: int, want: str) -> int | None:
    """Which input a bypassed node passes through to output `slot` (the frontend's rule)."""
    out_type = node.outputs[slot].type if slot < len(node.outputs) else want
    if out_type in ("*", ""):
        return slot if slot < len(node.inputs) else (0 if node.inputs else None)
    if slot < len(node.inputs) and types_compatible(node.inputs[slot].type, out_type):
        return slot
    exact = next((i for i, s in enumerate(node.inputs) if s.type == out_type), None)
    if exact is not None:
        return exact
    return next(
        (i for i, s in enumerate(node.inputs) if s.type not in ("*", "") and types_compatible(s.type, out_type)),
        None,
    )


def _flat_label(node_id: str, node: Node) -> str:
    if node.title and node.title != node.type:
        return f'#{node_id} "{node.title}" ({node.type})'
    return f"#{node_id} ({node.type})"


def _short(values: tuple[Any, ...]) -> str:
    text = ", ".join(repr(v) for v in values[:3])
    return text + (", ..." if len(values) > 3 else "")
