"""Edits of a `WorkflowDocument`: small frozen values, each a pure function from one document to the next.

An edit names the graph it works in (`scope`: None for the root, else a subgraph id) and keeps the
document's own bookkeeping consistent: a link's id sits in its origin output's `links` and its target
input's `link`, a subgraph port lists the links through it, and the `last_node_id`/`last_link_id`
counters never fall behind. Undo does not run edits backwards: `undo.EditSession` keeps the document
before and after each edit (the records are immutable, so unchanged nodes are shared), which makes
undo exact by construction. Qt-free: the canvas turns gestures into these and reacts to the events.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from x121_desktop.core.graph.bookkeeping import (
    EditRefused,
    Scope,
    _attach,
    _bump,
    _detach,
    _node,
    _replace_nodes,
    _reroute,
    graph_of,
    next_link_id,
    next_node_id,
    with_graph,
)
from x121_desktop.core.graph.model import Group, Link, Node, NodeId, WorkflowDocument, same_id
from x121_desktop.core.graph.reroute_chains import remove

__all__ = [
    "AddGroup",
    "AddNodes",
    "Collapse",
    "Compound",
    "Connect",
    "Disconnect",
    "Edit",
    "EditRefused",
    "MoveNodes",
    "RemoveGroups",
    "RemoveNodes",
    "RemoveReroutes",
    "ResizeNode",
    "Scope",
    "SetNodeMode",
    "SetTitle",
    "SetWidgetValue",
    "graph_of",
    "next_link_id",
    "next_node_id",
    "with_graph",
]


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
    """Put nodes (and group frames, by index, and native reroutes, by id) at new positions: one drag, one step."""

    positions: tuple[tuple[NodeId, tuple[float, float]], ...]
    group_bounds: tuple[tuple[int, tuple[float, ...]], ...] = ()
    reroutes: tuple[tuple[int, tuple[float, float]], ...] = ()

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
        if self.reroutes:
            moved = dict(self.reroutes)
            for rid in moved:
                if graph.reroute(rid) is None:
                    raise EditRefused(
                        f"Reroute {rid} is not in this graph", "It may have been deleted; refresh the view."
                    )
            graph = replace(
                graph,
                reroutes=tuple(
                    replace(r, pos=(float(moved[r.id][0]), float(moved[r.id][1]))) if r.id in moved else r
                    for r in graph.reroutes
                ),
            )
        return with_graph(doc, self.scope, graph)


@dataclass(frozen=True)
class RemoveReroutes(Edit):
    """Delete native reroutes; the links through them stay connected (they pass the parent reroute)."""

    reroute_ids: tuple[int, ...]

    @property
    def title(self) -> str:
        return f"Delete {len(self.reroute_ids)} reroute{'s' if len(self.reroute_ids) != 1 else ''}"

    def apply(self, doc: WorkflowDocument) -> WorkflowDocument:
        graph = graph_of(doc, self.scope)
        for rid in self.reroute_ids:
            _reroute(graph, rid)
            graph = remove(graph, rid)
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
