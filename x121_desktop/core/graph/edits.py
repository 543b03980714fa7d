"""Edits of a `WorkflowDocument`: small frozen values, each a pure function from one document to the next.

An edit names the graph it works in (`scope`: None for the root, else a subgraph id) and keeps the
document's own bookkeeping consistent: a link's id sits in its origin output's `links` and its target
input's `link`, a subgraph port lists the links through it, and the `last_node_id`/`last_link_id`
counters never fall behind. Undo does not run edits backwards: `undo.EditSession` keeps the document
before and after each edit (the records are immutable, so unchanged nodes are shared), which makes
undo exact by construction. Qt-free: the canvas turns gestures into these and reacts to the events.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.model import (
    SUBGRAPH_INPUT_NODE_ID,
    SUBGRAPH_OUTPUT_NODE_ID,
    Graph,
    Group,
    Link,
    Node,
    NodeId,
    WorkflowDocument,
    same_id,
)

type Scope = str | None


class EditRefused(InvalidInput):
    """An edit that does not fit the document (a missing node, slot or link)."""


# ------------------------------------------------------------------ document access


def graph_of(doc: WorkflowDocument, scope: Scope) -> Graph:
    if scope is None:
        return doc.graph
    sub = doc.subgraphs.get(scope)
    if sub is None:
        raise EditRefused(f"There is no subgraph {scope!r} in this workflow", "Reopen the workflow.")
    return sub.graph


def with_graph(doc: WorkflowDocument, scope: Scope, graph: Graph) -> WorkflowDocument:
    if scope is None:
        return replace(doc, graph=graph)
    subs = dict(doc.subgraphs)
    subs[scope] = replace(subs[scope], graph=graph)
    return replace(doc, subgraphs=subs)


def _node(graph: Graph, node_id: NodeId) -> Node:
    node = graph.node(node_id)
    if node is None:
        raise EditRefused(f"Node {node_id} is not in this graph", "It may have been deleted; refresh the view.")
    return node


def _replace_nodes(graph: Graph, changed: Mapping[str, Node]) -> Graph:
    return replace(graph, nodes=tuple(changed.get(str(n.id), n) for n in graph.nodes))


def next_node_id(doc: WorkflowDocument) -> int:
    """A node id not used anywhere in the document (the frontend's counter is shared by subgraphs)."""
    used = [n.id for _, g in doc.all_graphs() for n in g.nodes if isinstance(n.id, int)]
    return max([0, *used, *_counters(doc, "last_node_id", "lastNodeId")]) + 1


def next_link_id(doc: WorkflowDocument) -> int:
    used = [lk.id for _, g in doc.all_graphs() for lk in g.links]
    return max([0, *used, *_counters(doc, "last_link_id", "lastLinkId")]) + 1


def _counters(doc: WorkflowDocument, flat: str, state_key: str) -> list[int]:
    out = [v for v in (doc.extra.get(flat),) if isinstance(v, int)]
    state = doc.extra.get("state")
    if isinstance(state, Mapping) and isinstance(state.get(state_key), int):
        out.append(state[state_key])
    return out


def _bump(doc: WorkflowDocument, node_ids: Iterable[NodeId] = (), link_ids: Iterable[int] = ()) -> WorkflowDocument:
    """Raise the saved id counters past new ids so the frontend never hands the same id out again."""
    extra = dict(doc.extra)
    for flat, state_key, ids in (
        ("last_node_id", "lastNodeId", [i for i in node_ids if isinstance(i, int)]),
        ("last_link_id", "lastLinkId", list(link_ids)),
    ):
        if not ids:
            continue
        top = max(ids)
        if isinstance(extra.get(flat), int) and extra[flat] < top:
            extra[flat] = top
        state = extra.get("state")
        if isinstance(state, Mapping) and isinstance(state.get(state_key), int) and state[state_key] < top:
            extra["state"] = {**state, state_key: top}
    return doc if extra == doc.extra else replace(doc, extra=extra)


# ------------------------------------------------------------------ link bookkeeping


def _attach(doc: WorkflowDocument, scope: Scope, link: Link) -> WorkflowDocument:
    """Add `link` and record it on both its ends (nodes or subgraph ports)."""
    graph = graph_of(doc, scope)
    changed: dict[str, Node] = {}
    if not (scope and link.origin_id == SUBGRAPH_INPUT_NODE_ID):
        origin = _node(graph, link.origin_id)
        if not 0 <= link.origin_slot < len(origin.outputs):
            raise EditRefused(f"{origin.label} has no output {link.origin_slot}", "Pick an existing output.")
        outs = list(origin.outputs)
        outs[link.origin_slot] = replace(outs[link.origin_slot], links=(*outs[link.origin_slot].links, link.id))
        changed[str(origin.id)] = replace(origin, outputs=tuple(outs))
    if not (scope and link.target_id == SUBGRAPH_OUTPUT_NODE_ID):
        target = changed.get(str(link.target_id)) or _node(graph, link.target_id)
        if not 0 <= link.target_slot < len(target.inputs):
            raise EditRefused(f"{target.label} has no input {link.target_slot}", "Pick an existing input.")
        ins = list(target.inputs)
        ins[link.target_slot] = replace(ins[link.target_slot], link=link.id)
        changed[str(target.id)] = replace(target, inputs=tuple(ins))
    graph = replace(_replace_nodes(graph, changed), links=(*graph.links, link))
    return _ports(with_graph(doc, scope, graph), scope, link, add=True)


def _detach(doc: WorkflowDocument, scope: Scope, link_ids: Iterable[int]) -> WorkflowDocument:
    """Remove links and clear them from both ends."""
    graph = graph_of(doc, scope)
    gone = {i for i in link_ids if graph.link(i) is not None}
    if not gone:
        return doc
    changed: dict[str, Node] = {}
    for lk in (graph.link(i) for i in gone):
        assert lk is not None
        origin = changed.get(str(lk.origin_id)) or graph.node(lk.origin_id)
        if origin is not None and 0 <= lk.origin_slot < len(origin.outputs):
            outs = list(origin.outputs)
            outs[lk.origin_slot] = replace(
                outs[lk.origin_slot], links=tuple(x for x in outs[lk.origin_slot].links if x != lk.id)
            )
            changed[str(origin.id)] = replace(origin, outputs=tuple(outs))
        target = changed.get(str(lk.target_id)) or graph.node(lk.target_id)
        if (
            target is not None
            and 0 <= lk.target_slot < len(target.inputs)
            and target.inputs[lk.target_slot].link == lk.id
        ):
            ins = list(target.inputs)
            ins[lk.target_slot] = replace(ins[lk.target_slot], link=None)
            changed[str(target.id)] = replace(target, inputs=tuple(ins))
        doc = _ports(doc, scope, lk, add=False)
    graph = replace(
        _replace_nodes(graph_of(doc, scope), changed), links=tuple(lk for lk in graph.links if lk.id not in gone)
    )
    return with_graph(doc, scope, graph)


def _ports(doc: WorkflowDocument, scope: Scope, link: Link, *, add: bool) -> WorkflowDocument:
    """Keep a subgraph's `inputs[].linkIds` / `outputs[].linkIds` in step with its links."""
    if scope is None:
        return doc
    sub = doc.subgraphs[scope]
    for attr, end, slot in (
        ("inputs", link.origin_id, link.origin_slot),
        ("outputs", link.target_id, link.target_slot),
    ):
        virtual = SUBGRAPH_INPUT_NODE_ID if attr == "inputs" else SUBGRAPH_OUTPUT_NODE_ID
        ports = list(getattr(sub, attr))
        if not same_id(end, virtual) or not 0 <= slot < len(ports):
            continue
        ids = tuple(x for x in ports[slot].link_ids if x != link.id)
        ports[slot] = replace(ports[slot], link_ids=(*ids, link.id) if add else ids)
        sub = replace(sub, inputs=tuple(ports)) if attr == "inputs" else replace(sub, outputs=tuple(ports))
    return replace(doc, subgraphs={**doc.subgraphs, scope: sub})


# ------------------------------------------------------------------ edits


@dataclass(frozen=True)
class Edit:
    """Base: `apply` returns the next document; `merge_key` lets the undo stack fold repeats into one step."""

    scope: Scope

    @property
    def title(self) -> str:
        return type(self).__name__

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        raise NotImplementedError

    def merge_key(self) -> Hashable | None:
        return None


@dataclass(frozen=True)
class AddNodes(Edit):
    """Add nodes (their sockets carry no links yet) and links among them or to existing nodes."""

    nodes: tuple[Node, ...]
    links: tuple[Link, ...] = ()

    @property
    def title(self) -> str:
        return f"Add {self.nodes[0].type}" if len(self.nodes) == 1 else f"Paste {len(self.nodes)} nodes"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        for n in self.nodes:
            if graph.node(n.id) is not None:
                raise EditRefused(f"Node id {n.id} is already used", "Add the node with a fresh id.")
        clean = tuple(
            replace(
                n,
                inputs=tuple(replace(s, link=None) for s in n.inputs),
                outputs=tuple(replace(s, links=()) for s in n.outputs),
            )
            for n in self.nodes
        )
        doc = with_graph(doc, self.scope, replace(graph, nodes=(*graph.nodes, *clean)))
        for lk in self.links:
            doc = _attach(doc, self.scope, lk)
        return _bump(doc, [n.id for n in self.nodes], [lk.id for lk in self.links])


@dataclass(frozen=True)
class RemoveNodes(Edit):
    """Remove nodes with every link into or out of them."""

    node_ids: tuple[NodeId, ...]

    @property
    def title(self) -> str:
        return f"Delete {len(self.node_ids)} node{'s' if len(self.node_ids) != 1 else ''}"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        ids = {str(i) for i in self.node_ids}
        touching = [lk.id for lk in graph.links if str(lk.origin_id) in ids or str(lk.target_id) in ids]
        doc = _detach(doc, self.scope, touching)
        graph = graph_of(doc, self.scope)
        return with_graph(doc, self.scope, replace(graph, nodes=tuple(n for n in graph.nodes if str(n.id) not in ids)))


@dataclass(frozen=True)
class MoveNodes(Edit):
    """Put nodes (and group frames, by index) at new positions: one drag, one step."""

    positions: tuple[tuple[NodeId, tuple[float, float]], ...]
    group_bounds: tuple[tuple[int, tuple[float, ...]], ...] = ()

    @property
    def title(self) -> str:
        return "Move nodes"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        changed = {str(i): replace(_node(graph, i), pos=(float(x), float(y))) for i, (x, y) in self.positions}
        graph = _replace_nodes(graph, changed)
        if self.group_bounds:
            groups = list(graph.groups)
            for index, bounding in self.group_bounds:
                groups[index] = replace(groups[index], bounding=tuple(bounding))
            graph = replace(graph, groups=tuple(groups))
        return with_graph(doc, self.scope, graph)


@dataclass(frozen=True)
class ResizeNode(Edit):
    node_id: NodeId
    size: tuple[float, float]

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        node = replace(_node(graph, self.node_id), size=self.size)
        return with_graph(doc, self.scope, _replace_nodes(graph, {str(node.id): node}))


@dataclass(frozen=True)
class Connect(Edit):
    """Wire an output to an input; a link already into that input is replaced."""

    link: Link

    @property
    def title(self) -> str:
        return f"Connect {self.link.type}"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        if graph.link(self.link.id) is not None:
            raise EditRefused(f"Link id {self.link.id} is already used", "Connect with a fresh link id.")
        old = [
            lk.id
            for lk in graph.links
            if same_id(lk.target_id, self.link.target_id) and lk.target_slot == self.link.target_slot
        ]
        doc = _detach(doc, self.scope, old)
        return _bump(_attach(doc, self.scope, self.link), link_ids=[self.link.id])


@dataclass(frozen=True)
class Disconnect(Edit):
    link_ids: tuple[int, ...]

    @property
    def title(self) -> str:
        return "Disconnect"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        return _detach(doc, self.scope, self.link_ids)


@dataclass(frozen=True)
class SetWidgetValue(Edit):
    """Set one widget value: `key` is the index in a `widgets_values` list, or a name when it is an object."""

    node_id: NodeId
    key: int | str
    value: Any

    @property
    def title(self) -> str:
        return "Change value"

    def merge_key(self) -> Hashable:
        return ("widget", self.scope, str(self.node_id), self.key)

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        node = _node(graph, self.node_id)
        values: Any
        if isinstance(self.key, str):
            values = {**(node.widgets_values if isinstance(node.widgets_values, Mapping) else {}), self.key: self.value}
        else:
            values = list(node.widgets_values) if isinstance(node.widgets_values, list) else []
            values.extend([None] * (self.key + 1 - len(values)))
            values[self.key] = self.value
        return with_graph(doc, self.scope, _replace_nodes(graph, {str(node.id): replace(node, widgets_values=values)}))


@dataclass(frozen=True)
class SetNodeMode(Edit):
    """Mute (2), bypass (4) or restore (0) nodes."""

    node_ids: tuple[NodeId, ...]
    mode: int

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        changed = {str(i): replace(_node(graph, i), mode=self.mode) for i in self.node_ids}
        return with_graph(doc, self.scope, _replace_nodes(graph, changed))


@dataclass(frozen=True)
class SetTitle(Edit):
    node_id: NodeId
    text: str | None

    @property
    def title(self) -> str:
        return "Rename node"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        node = _node(graph, self.node_id)
        present = node.present | {"title"} if self.text is not None else node.present - {"title"}
        return with_graph(
            doc, self.scope, _replace_nodes(graph, {str(node.id): replace(node, title=self.text, present=present)})
        )


@dataclass(frozen=True)
class Collapse(Edit):
    """Collapse or expand nodes (`flags.collapsed`, as the frontend saves it)."""

    node_ids: tuple[NodeId, ...]
    collapsed: bool

    @property
    def title(self) -> str:
        return "Collapse nodes" if self.collapsed else "Expand nodes"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        changed: dict[str, Node] = {}
        for i in self.node_ids:
            node = _node(graph, i)
            flags = dict(node.extra.get("flags") or {})
            if self.collapsed:
                flags["collapsed"] = True
            else:
                flags.pop("collapsed", None)
            changed[str(node.id)] = replace(node, extra={**node.extra, "flags": flags})
        return with_graph(doc, self.scope, _replace_nodes(graph, changed))


@dataclass(frozen=True)
class AddGroup(Edit):
    group: Group

    @property
    def title(self) -> str:
        return "Group nodes"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        return with_graph(doc, self.scope, replace(graph, groups=(*graph.groups, self.group)))


@dataclass(frozen=True)
class RemoveGroups(Edit):
    """Ungroup: remove group frames (by index); their nodes stay."""

    indexes: tuple[int, ...]

    @property
    def title(self) -> str:
        return "Ungroup"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        drop = set(self.indexes)
        return with_graph(
            doc, self.scope, replace(graph, groups=tuple(g for i, g in enumerate(graph.groups) if i not in drop))
        )


@dataclass(frozen=True)
class Compound(Edit):
    """Several edits as one undo step (insert a reroute, paste, align…)."""

    edits: tuple[Edit, ...]
    name: str = "Edit"

    @property
    def title(self) -> str:
        return self.name

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        for edit in self.edits:
            doc = edit.apply(doc)
        return doc
