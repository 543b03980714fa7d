"""Editor operations built from edits: new nodes from catalogue types, typed connections, reroutes,
groups, alignment, copy/paste. Each returns one `Edit` (one undo step); nothing here mutates.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from x121_desktop.core.graph.catalog import NodeType, types_compatible
from x121_desktop.core.graph.edits import (
    AddGroup,
    AddNodes,
    Compound,
    Connect,
    Disconnect,
    EditRefused,
    MoveNodes,
    Scope,
    graph_of,
    next_link_id,
    next_node_id,
)
from x121_desktop.core.graph.model import (
    SUBGRAPH_INPUT_NODE_ID,
    SUBGRAPH_OUTPUT_NODE_ID,
    Graph,
    Group,
    InputSocket,
    Link,
    Node,
    NodeId,
    OutputSocket,
    WorkflowDocument,
    same_id,
)

DEFAULT_SIZE = (240.0, 120.0)
REROUTE_TYPE = "Reroute"


def new_node(node_id: int, node_type: NodeType, pos: tuple[float, float]) -> Node:
    """A node as the frontend creates it: link sockets, a socket per widget input, default widget values."""
    inputs = [InputSocket(name=s.name, type=s.type) for s in node_type.inputs]
    inputs += [
        InputSocket(
            name=w.name, type=w.type or "*", widget=w.name, present=frozenset({"name", "type", "link", "widget"})
        )
        for w in node_type.widgets
    ]
    outputs = [OutputSocket(name=s.name, type=s.type) for s in node_type.outputs]
    rows = len(node_type.widgets) + max(len(node_type.inputs), len(node_type.outputs))
    return Node(
        id=node_id,
        type=node_type.name,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        widgets_values=node_type.default_widget_values(),
        properties={"Node name for S&R": node_type.name},
        pos=pos,
        size=(DEFAULT_SIZE[0], max(60.0, 30.0 + 22.0 * rows)),
        extra={"flags": {}, "order": 0},
        present=frozenset({"id", "type", "mode", "inputs", "outputs", "widgets_values", "properties", "pos", "size"}),
    )


def add_node(doc: WorkflowDocument, scope: Scope, node_type: NodeType, pos: tuple[float, float]) -> AddNodes:
    return AddNodes(scope, (new_node(next_node_id(doc), node_type, pos),))


def output_type(doc: WorkflowDocument, scope: Scope, node_id: NodeId, slot: int) -> str:
    if scope is not None and same_id(node_id, SUBGRAPH_INPUT_NODE_ID):
        ports = doc.subgraphs[scope].inputs
        return ports[slot].type if 0 <= slot < len(ports) else "*"
    node = graph_of(doc, scope).node(node_id)
    if node is None or not 0 <= slot < len(node.outputs):
        raise EditRefused(f"Node {node_id} has no output {slot}", "Pick an existing output.")
    return node.outputs[slot].type


def input_type(doc: WorkflowDocument, scope: Scope, node_id: NodeId, slot: int) -> str:
    if scope is not None and same_id(node_id, SUBGRAPH_OUTPUT_NODE_ID):
        ports = doc.subgraphs[scope].outputs
        return ports[slot].type if 0 <= slot < len(ports) else "*"
    node = graph_of(doc, scope).node(node_id)
    if node is None or not 0 <= slot < len(node.inputs):
        raise EditRefused(f"Node {node_id} has no input {slot}", "Pick an existing input.")
    return node.inputs[slot].type


def connect(
    doc: WorkflowDocument, scope: Scope, origin: NodeId, origin_slot: int, target: NodeId, target_slot: int
) -> Connect:
    """A type-checked connection (ComfyUI's rule: `*` matches all, comma lists share a type)."""
    out_t = output_type(doc, scope, origin, origin_slot)
    in_t = input_type(doc, scope, target, target_slot)
    if same_id(origin, target):
        raise EditRefused("A node cannot feed itself", "Connect it to another node.")
    if not types_compatible(out_t, in_t):
        raise EditRefused(f"A {out_t} output cannot feed a {in_t} input", f"Connect it to a {out_t} input.")
    link_type = out_t if out_t not in ("*", "") else in_t
    return Connect(scope, Link(next_link_id(doc), origin, origin_slot, target, target_slot, link_type))


def insert_reroute(doc: WorkflowDocument, scope: Scope, link_id: int, pos: tuple[float, float]) -> Compound:
    """Split a wire with a Reroute node (the frontend's node type; the converter follows links through it)."""
    graph = graph_of(doc, scope)
    lk = graph.link(link_id)
    if lk is None:
        raise EditRefused(f"Link {link_id} is not in this graph", "Refresh the view.")
    rid = next_node_id(doc)
    reroute = Node(
        id=rid,
        type=REROUTE_TYPE,
        inputs=(InputSocket(name="", type="*"),),
        outputs=(OutputSocket(name="", type=lk.type),),
        properties={"showOutputText": False, "horizontal": False},
        pos=pos,
        size=(75.0, 26.0),
        extra={"flags": {}, "order": 0},
        present=frozenset({"id", "type", "mode", "inputs", "outputs", "properties", "pos", "size"}),
    )
    first = next_link_id(doc)
    links = (
        Link(first, lk.origin_id, lk.origin_slot, rid, 0, lk.type),
        Link(first + 1, rid, 0, lk.target_id, lk.target_slot, lk.type),
    )
    return Compound(scope, (Disconnect(scope, (link_id,)), AddNodes(scope, (reroute,), links)), "Add reroute")


def node_rect(node: Node) -> tuple[float, float, float, float]:
    x, y = node.pos or (0.0, 0.0)
    w, h = node.size or DEFAULT_SIZE
    if (node.extra.get("flags") or {}).get("collapsed"):
        h = 0.0
    return (x, y - 30.0, float(w), float(h) + 30.0)  # the saved pos is below the title bar


def bounds(graph: Graph, ids: Iterable[NodeId] | None = None) -> tuple[float, float, float, float] | None:
    wanted = None if ids is None else {str(i) for i in ids}
    rects = [node_rect(n) for n in graph.nodes if wanted is None or str(n.id) in wanted]
    if not rects:
        return None
    left = min(r[0] for r in rects)
    top = min(r[1] for r in rects)
    right = max(r[0] + r[2] for r in rects)
    bottom = max(r[1] + r[3] for r in rects)
    return (left, top, right - left, bottom - top)


def group_around(graph: Graph, ids: Iterable[NodeId], title: str = "Group", scope: Scope = None) -> AddGroup:
    box = bounds(graph, ids)
    if box is None:
        raise EditRefused("No nodes are selected to group", "Select the nodes first.")
    x, y, w, h = box
    pad = 10.0
    bounding = (x - pad, y - pad - 34.0, w + 2 * pad, h + 2 * pad + 34.0)
    return AddGroup(
        scope, Group(title=title, bounding=bounding, extra={"color": "#3f789e", "font_size": 24, "flags": {}})
    )


class Align(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    TOP = "top"
    BOTTOM = "bottom"
    DISTRIBUTE_H = "distribute_h"
    DISTRIBUTE_V = "distribute_v"


def align(graph: Graph, ids: Iterable[NodeId], how: Align, scope: Scope = None) -> MoveNodes:
    nodes = [n for n in graph.nodes if str(n.id) in {str(i) for i in ids} and n.pos is not None]
    if len(nodes) < 2:
        raise EditRefused("Aligning needs at least two selected nodes", "Select more nodes.")
    rects = {str(n.id): node_rect(n) for n in nodes}
    moves: list[tuple[NodeId, tuple[float, float]]] = []
    if how in (Align.DISTRIBUTE_H, Align.DISTRIBUTE_V):
        axis = 0 if how is Align.DISTRIBUTE_H else 1
        order = sorted(nodes, key=lambda n: rects[str(n.id)][axis])
        start, end = rects[str(order[0].id)][axis], rects[str(order[-1].id)][axis]
        step = (end - start) / (len(order) - 1)
        for i, n in enumerate(order):
            pos = list(n.pos or (0.0, 0.0))
            pos[axis] = start + i * step + (pos[axis] - rects[str(n.id)][axis])
            moves.append((n.id, (pos[0], pos[1])))
        return MoveNodes(scope, tuple(moves))
    for n in nodes:
        _x, y, w, h = rects[str(n.id)]
        px, py = n.pos or (0.0, 0.0)
        if how is Align.LEFT:
            px = min(r[0] for r in rects.values())
        elif how is Align.RIGHT:
            px = max(r[0] + r[2] for r in rects.values()) - w
        elif how is Align.TOP:
            py = min(r[1] for r in rects.values()) + (py - y)
        else:
            py = max(r[1] + r[3] for r in rects.values()) - h + (py - y)
        moves.append((n.id, (px, py)))
    return MoveNodes(scope, tuple(moves))


@dataclass(frozen=True)
class Clip:
    """Copied nodes and the links among them (as values; pasting gives them fresh ids)."""

    nodes: tuple[Node, ...]
    links: tuple[Link, ...]


def copy_nodes(graph: Graph, ids: Iterable[NodeId]) -> Clip:
    wanted = {str(i) for i in ids}
    nodes = tuple(n for n in graph.nodes if str(n.id) in wanted)
    links = tuple(lk for lk in graph.links if str(lk.origin_id) in wanted and str(lk.target_id) in wanted)
    return Clip(nodes, links)


def paste(doc: WorkflowDocument, scope: Scope, clip: Clip, at: tuple[float, float]) -> AddNodes:
    """The clip's nodes with fresh ids, placed so their top-left corner lands at `at`."""
    if not clip.nodes:
        raise EditRefused("Nothing has been copied", "Select nodes and copy them first.")
    box = bounds(Graph(nodes=clip.nodes)) or (0.0, 0.0, 0.0, 0.0)
    dx, dy = at[0] - box[0], at[1] - box[1]
    first_node, first_link = next_node_id(doc), next_link_id(doc)
    ids = {str(n.id): first_node + i for i, n in enumerate(clip.nodes)}
    nodes = tuple(
        replace(
            n,
            id=ids[str(n.id)],
            pos=(n.pos[0] + dx, n.pos[1] + dy) if n.pos else (at[0], at[1]),
            widgets_values=_copy.deepcopy(n.widgets_values),
        )
        for n in clip.nodes
    )
    links = tuple(
        replace(
            lk, id=first_link + i, origin_id=ids[str(lk.origin_id)], target_id=ids[str(lk.target_id)], parent_id=None
        )  # the copies run straight: reroutes are not copied
        for i, lk in enumerate(clip.links)
    )
    return AddNodes(scope, nodes, links)
