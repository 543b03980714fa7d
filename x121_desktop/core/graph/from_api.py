"""Build an editable UI document from an API-format prompt (`{id: {class_type, inputs, _meta}}`).

API prompts carry no positions, sockets or widget order, so the catalogue supplies them: link inputs
become sockets, literal values go to `widgets_values` in widget order (with the control and upload
values the frontend saves), and nodes are laid out in columns by dependency depth. Converting the
result back gives the same prompt for every node type the catalogue knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from x121_desktop.core.graph.analysis import execution_order
from x121_desktop.core.graph.catalog import NodeCatalog, NodeType
from x121_desktop.core.graph.model import Graph, InputSocket, Link, Node, NodeId, OutputSocket, WorkflowDocument

COLUMN_WIDTH = 360.0
ROW_GAP = 40.0
ROW_HEIGHT = 24.0


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int) and isinstance(value[1], int)


def _node_id(raw: str) -> NodeId:
    return int(raw) if raw.isdigit() else raw


def document_from_api(prompt: Mapping[str, Any], catalog: NodeCatalog) -> tuple[WorkflowDocument, list[Any]]:
    from x121_desktop.core.graph.repair import Problem

    problems: list[Problem] = []
    entries = {str(k): v for k, v in prompt.items() if isinstance(v, Mapping) and isinstance(v.get("class_type"), str)}
    for key in prompt:
        if str(key) not in entries:
            problems.append(Problem(f"Entry {key!r} has no class_type and was left out.", None))
    edges = {
        k: {str(v[0]) for v in (e.get("inputs") or {}).values() if _is_link(v) and str(v[0]) in entries}
        for k, e in entries.items()
    }
    order = execution_order(edges) or sorted(entries)
    depth: dict[str, int] = {}
    for k in order:
        depth[k] = 1 + max((depth.get(d, 0) for d in edges.get(k, ())), default=-1)
    out_slots: dict[str, int] = {}
    for e in entries.values():
        for v in (e.get("inputs") or {}).values():
            if _is_link(v):
                out_slots[str(v[0])] = max(out_slots.get(str(v[0]), 0), v[1] + 1)

    nodes: dict[str, Node] = {}
    links: list[Link] = []
    column_y: dict[int, float] = {}
    pending: list[tuple[str, int, str, int]] = []  # (target, target slot, origin, origin slot)
    for key in order:
        entry = entries[key]
        node_type = catalog.get(entry["class_type"])
        node, wires, issues = _node(key, entry, node_type, out_slots.get(key, 0))
        problems.extend(Problem(text, key) for text in issues)
        col = depth.get(key, 0)
        y = column_y.get(col, 0.0)
        h = node.size[1] if node.size else 100.0
        column_y[col] = y + h + 30.0 + ROW_GAP
        nodes[key] = _placed(node, (col * COLUMN_WIDTH, y))
        pending.extend((key, slot, origin, oslot) for slot, origin, oslot in wires)
    for link_id, (target, slot, origin, oslot) in enumerate(pending, start=1):
        if origin not in nodes:
            problems.append(Problem(f"Input {slot} reads from node {origin}, which is not in the prompt.", target))
            continue
        src = nodes[origin]
        if oslot >= len(src.outputs):
            continue
        link_type = src.outputs[oslot].type
        links.append(Link(link_id, src.id, oslot, nodes[target].id, slot, link_type))
        outs = list(src.outputs)
        outs[oslot] = OutputSocket(outs[oslot].name, outs[oslot].type, (*outs[oslot].links, link_id))
        nodes[origin] = _with(src, outputs=tuple(outs))
        tgt = nodes[target]
        ins = list(tgt.inputs)
        ins[slot] = InputSocket(ins[slot].name, ins[slot].type, link_id, ins[slot].widget, present=ins[slot].present)
        nodes[target] = _with(tgt, inputs=tuple(ins))
    int_ids = [n.id for n in nodes.values() if isinstance(n.id, int)]
    document = WorkflowDocument(
        graph=Graph(nodes=tuple(nodes.values()), links=tuple(links)),
        extra={"last_node_id": max(int_ids, default=0), "last_link_id": len(pending), "config": {}, "extra": {}},
    )
    return document, problems


def _node(
    key: str, entry: Mapping[str, Any], node_type: NodeType | None, n_outputs: int
) -> tuple[Node, list[tuple[int, str, int]], list[str]]:
    inputs_raw: Mapping[str, Any] = entry.get("inputs") or {}
    if node_type is not None:
        sockets, wires, values, issues = _known_inputs(inputs_raw, node_type)
        outputs = tuple(OutputSocket(o.name, o.type) for o in node_type.outputs)
    else:
        sockets, wires, values, issues = [], [], [], []
        for name, raw in inputs_raw.items():
            if _is_link(raw):
                wires.append((len(sockets), str(raw[0]), raw[1]))
                sockets.append(InputSocket(name, "*"))
            else:
                values.append(raw)
        outputs = tuple(OutputSocket(f"output {i}", "*") for i in range(n_outputs))
    meta = entry.get("_meta")
    title = meta.get("title") if isinstance(meta, Mapping) and isinstance(meta.get("title"), str) else None
    if node_type is not None and title == node_type.display_name:
        title = None
    rows = len(values) + max(len(sockets) - len(values), len(outputs))
    present = {"id", "type", "mode", "inputs", "outputs", "widgets_values", "properties", "pos", "size"}
    node = Node(
        id=_node_id(key),
        type=str(entry["class_type"]),
        title=title,
        inputs=tuple(sockets),
        outputs=outputs,
        widgets_values=values,
        properties={"Node name for S&R": str(entry["class_type"])},
        size=(280.0, 40.0 + ROW_HEIGHT * rows),
        extra={"flags": {}, "order": 0},
        present=frozenset(present | ({"title"} if title else set())),
    )
    return node, wires, issues


def _known_inputs(
    inputs_raw: Mapping[str, Any], node_type: NodeType
) -> tuple[list[InputSocket], list[tuple[int, str, int]], list[Any], list[str]]:
    sockets: list[InputSocket] = []
    wires: list[tuple[int, str, int]] = []
    values: list[Any] = []
    issues: list[str] = []
    with_widget = frozenset({"name", "type", "link", "widget"})
    for s in node_type.inputs:
        if _is_link(inputs_raw.get(s.name)):
            wires.append((len(sockets), str(inputs_raw[s.name][0]), inputs_raw[s.name][1]))
        sockets.append(InputSocket(s.name, s.type))
    for w in node_type.widgets:
        raw = inputs_raw.get(w.name, w.default)
        if _is_link(raw):
            wires.append((len(sockets), str(raw[0]), raw[1]))
            raw = w.default
        sockets.append(InputSocket(w.name, w.type or "*", widget=w.name, present=with_widget))
        values.append(raw)
        if w.control_after_generate:
            values.append("fixed")
        if w.upload:
            values.append(w.upload.removesuffix("_upload").removeprefix("animated_"))
    known = {s.name for s in node_type.inputs} | {w.name for w in node_type.widgets}
    for name, raw in inputs_raw.items():
        if name in known:
            continue
        if _is_link(raw):
            wires.append((len(sockets), str(raw[0]), raw[1]))
            sockets.append(InputSocket(name, "*"))
        else:
            issues.append(f"Input {name!r} is not an input of {node_type.name}; its value was left out.")
    return sockets, wires, values, issues


def _placed(node: Node, pos: tuple[float, float]) -> Node:
    return _with(node, pos=pos)


def _with(node: Node, **changes: Any) -> Node:
    from dataclasses import replace

    return replace(node, **changes)
