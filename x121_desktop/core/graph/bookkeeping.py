"""Document bookkeeping shared by the edits: graph access by scope, fresh ids, id counters, and links
recorded on both ends (node sockets or subgraph ports). Pure functions over immutable values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.model import (
    SUBGRAPH_INPUT_NODE_ID,
    SUBGRAPH_OUTPUT_NODE_ID,
    Graph,
    Link,
    Node,
    NodeId,
    Reroute,
    WorkflowDocument,
    same_id,
)
from x121_desktop.core.graph.reroute_chains import prune

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


def _reroute(graph: Graph, reroute_id: int) -> Reroute:
    reroute = graph.reroute(reroute_id)
    if reroute is None:
        raise EditRefused(f"Reroute {reroute_id} is not in this graph", "It may have been deleted; refresh the view.")
    return reroute


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
    before = graph_of(doc, scope)
    after = replace(_replace_nodes(before, changed), links=tuple(lk for lk in graph.links if lk.id not in gone))
    return with_graph(doc, scope, prune(before, after))  # reroutes only those links passed through go too


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
