"""The node-graph model of a ComfyUI UI-format document (what the editor saves).

Plain frozen values: nodes with typed input/output sockets, links, groups, native reroutes and
subgraph definitions.
Every record keeps the JSON keys it does not model in `extra` and remembers which modelled keys were
present (`present`), so a document loads and saves back unchanged. Edits replace records
(`dataclasses.replace`); the model never touches files or Qt.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

type NodeId = int | str
type JsonObject = Mapping[str, Any]

# Ids of the virtual input/output nodes inside a subgraph definition.
SUBGRAPH_INPUT_NODE_ID = -10
SUBGRAPH_OUTPUT_NODE_ID = -20


class NodeMode(IntEnum):
    """LiteGraph node modes as saved in `mode`."""

    ALWAYS = 0
    ON_EVENT = 1
    NEVER = 2  # "muted": not executed, its outputs are absent
    ON_TRIGGER = 3
    BYPASS = 4  # not executed, inputs of the matching type pass straight through


@dataclass(frozen=True)
class InputSocket:
    name: str
    type: str
    link: int | None = None
    widget: str | None = None  # name of the widget this socket stands for, if any
    label: str | None = None
    extra: JsonObject = field(default_factory=dict)
    present: frozenset[str] = frozenset({"name", "type", "link"})

    @property
    def display_name(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class OutputSocket:
    name: str
    type: str
    links: tuple[int, ...] = ()
    label: str | None = None
    extra: JsonObject = field(default_factory=dict)
    present: frozenset[str] = frozenset({"name", "type", "links"})


@dataclass(frozen=True)
class Node:
    id: NodeId
    type: str
    mode: int = NodeMode.ALWAYS
    title: str | None = None
    inputs: tuple[InputSocket, ...] = ()
    outputs: tuple[OutputSocket, ...] = ()
    widgets_values: Any = None  # a list (core nodes) or an object (some custom nodes), kept as loaded
    properties: JsonObject = field(default_factory=dict)
    pos: tuple[float, float] | None = None
    size: tuple[float, float] | None = None
    extra: JsonObject = field(default_factory=dict)
    present: frozenset[str] = frozenset({"id", "type", "mode", "inputs", "outputs"})

    @property
    def label(self) -> str:
        """How a person knows this node: `#12 "Start image" (LoadImage)`."""
        if self.title and self.title != self.type:
            return f'#{self.id} "{self.title}" ({self.type})'
        return f"#{self.id} ({self.type})"

    def input_index(self, name: str) -> int | None:
        return next((i for i, s in enumerate(self.inputs) if s.name == name), None)


@dataclass(frozen=True)
class Link:
    """A wire from an output socket to an input socket: `[id, from_node, from_slot, to_node, to_slot, type]`."""

    id: int
    origin_id: NodeId
    origin_slot: int
    target_id: NodeId
    target_slot: int
    type: str
    extra: JsonObject = field(default_factory=dict)  # object-form links: keys not modelled here
    parent_id: int | None = None
    """The native reroute nearest the target this link passes through (its `parentId`), if any."""


@dataclass(frozen=True)
class Reroute:
    """A native reroute: a point on the canvas that links pass through (the new frontend's link
    midpoints, saved in `extra.reroutes` / `reroutes`). `parent_id` is the next reroute towards the
    links' origin. Which links pass through it follows from the links' `parent_id` chains (as in the
    frontend), so it is derived, not stored; `extra` keeps `floating` and any unknown keys."""

    id: int
    pos: tuple[float, float]
    parent_id: int | None = None
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    title: str
    bounding: tuple[float, ...] = ()
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class SubgraphPort:
    """An input or output of a subgraph definition (a socket on the node that instantiates it)."""

    name: str
    type: str
    link_ids: tuple[int, ...] = ()
    label: str | None = None
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    """One level of nodes and links (the root document, or the inside of a subgraph)."""

    nodes: tuple[Node, ...] = ()
    links: tuple[Link, ...] = ()
    groups: tuple[Group, ...] = ()
    reroutes: tuple[Reroute, ...] = ()
    floating_links: tuple[Link, ...] = ()
    """Links with one end on a floating reroute only (`floatingLinks`): kept, not executed."""

    def node(self, node_id: NodeId) -> Node | None:
        return self._nodes_by_id().get(_key(node_id))

    def reroute(self, reroute_id: int) -> Reroute | None:
        cache: dict[int, Reroute] | None = self.__dict__.get("_reroute_index")
        if cache is None:
            cache = {r.id: r for r in self.reroutes}
            object.__setattr__(self, "_reroute_index", cache)
        return cache.get(reroute_id)

    def link(self, link_id: int) -> Link | None:
        return self._links_by_id().get(link_id)

    def links_into(self, node_id: NodeId) -> Iterator[Link]:
        return (lk for lk in self.links if _key(lk.target_id) == _key(node_id))

    def links_out_of(self, node_id: NodeId) -> Iterator[Link]:
        return (lk for lk in self.links if _key(lk.origin_id) == _key(node_id))

    def _nodes_by_id(self) -> dict[str, Node]:
        cache: dict[str, Node] | None = self.__dict__.get("_node_index")
        if cache is None:
            cache = {_key(n.id): n for n in self.nodes}
            object.__setattr__(self, "_node_index", cache)
        return cache

    def _links_by_id(self) -> dict[int, Link]:
        cache: dict[int, Link] | None = self.__dict__.get("_link_index")
        if cache is None:
            cache = {lk.id: lk for lk in self.links}
            object.__setattr__(self, "_link_index", cache)
        return cache


@dataclass(frozen=True)
class Subgraph:
    """A subgraph definition (`definitions.subgraphs[]`); nodes of type `id` instantiate it."""

    id: str
    name: str
    graph: Graph
    inputs: tuple[SubgraphPort, ...] = ()
    outputs: tuple[SubgraphPort, ...] = ()
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class WorkflowDocument:
    """A whole UI-format document: the root graph, subgraph definitions and everything else kept verbatim."""

    graph: Graph
    subgraphs: Mapping[str, Subgraph] = field(default_factory=dict)
    version: Any = 0.4
    link_format: str = "array"  # "array" ([id, from, slot, to, slot, type]) or "object"
    extra: JsonObject = field(default_factory=dict)
    definitions_extra: JsonObject = field(default_factory=dict)

    def all_graphs(self) -> Iterator[tuple[str | None, Graph]]:
        """The root graph (key None) then every subgraph definition."""
        yield None, self.graph
        for sid, sub in self.subgraphs.items():
            yield sid, sub.graph

    def node_count(self) -> int:
        return sum(len(g.nodes) for _, g in self.all_graphs())


def _key(node_id: NodeId) -> str:
    """Node ids are compared as text: documents mix `12` and `"12"`."""
    return str(node_id)


def same_id(a: NodeId, b: NodeId) -> bool:
    return _key(a) == _key(b)
