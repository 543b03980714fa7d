"""Property: any sequence of edits keeps the document consistent and loadable; undoing all of them
restores the opened document exactly, and redoing all gives the edited one back."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.graph.test_edits import CATALOG, consistent, small_doc
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.edits import (
    Collapse,
    Disconnect,
    Edit,
    EditRefused,
    MoveNodes,
    RemoveNodes,
    SetNodeMode,
    SetTitle,
    SetWidgetValue,
)
from x121_desktop.core.graph.model import WorkflowDocument
from x121_desktop.core.graph.ops import add_node, connect, copy_nodes, group_around, insert_reroute, paste
from x121_desktop.core.graph.undo import EditSession

KINDS = (
    "add",
    "remove",
    "move",
    "connect",
    "disconnect",
    "widget",
    "mode",
    "title",
    "collapse",
    "group",
    "reroute",
    "paste",
)
TYPES = sorted(CATALOG.types)

op = st.tuples(st.sampled_from(KINDS), st.integers(0, 50), st.integers(0, 50), st.integers(-500, 500))


def _edit(doc: WorkflowDocument, kind: str, a: int, b: int, c: int) -> Edit:
    graph = doc.graph
    nodes = graph.nodes
    pick = nodes[a % len(nodes)] if nodes else None
    if kind == "add" or pick is None:
        node_type = CATALOG.types[TYPES[a % len(TYPES)]]
        return add_node(doc, None, node_type, (float(c), float(b)))
    other = nodes[b % len(nodes)]
    match kind:
        case "remove":
            return RemoveNodes(None, (pick.id,))
        case "move":
            return MoveNodes(None, ((pick.id, (float(c), float(b))),))
        case "connect":
            if not pick.outputs or not other.inputs:
                raise EditRefused("nothing to connect")
            return connect(doc, None, pick.id, a % len(pick.outputs), other.id, b % len(other.inputs))
        case "disconnect":
            if not graph.links:
                raise EditRefused("no links")
            return Disconnect(None, (graph.links[a % len(graph.links)].id,))
        case "widget":
            return SetWidgetValue(None, pick.id, b % 4, c)
        case "mode":
            return SetNodeMode(None, (pick.id,), (0, 2, 4)[b % 3])
        case "title":
            return SetTitle(None, pick.id, None if c % 2 else f"t{c}")
        case "collapse":
            return Collapse(None, (pick.id,), bool(c % 2))
        case "group":
            return group_around(graph, [pick.id, other.id], f"g{b}")
        case "reroute":
            if not graph.links:
                raise EditRefused("no links")
            return insert_reroute(doc, None, graph.links[a % len(graph.links)].id, (float(c), 0.0))
        case _:
            return paste(doc, None, copy_nodes(graph, [pick.id, other.id]), (float(c), float(b)))


@settings(max_examples=60, deadline=None)
@given(st.lists(op, min_size=1, max_size=25))
def test_random_edits_stay_consistent_and_undo_restores_exactly(ops: list[tuple[str, int, int, int]]) -> None:
    original = small_doc()
    session = EditSession(original)
    for kind, a, b, c in ops:
        try:
            edit = _edit(session.document, kind, a, b, c)
            session.push(edit)
        except EditRefused:
            continue
        consistent(session.document)
        saved: dict[str, Any] = dump_document(session.document)
        assert dump_document(load_document(saved)) == saved
    edited = session.document
    while session.can_undo:
        session.undo()
    assert session.document == original
    assert dump_document(session.document) == dump_document(original)
    assert not session.modified
    while session.can_redo:
        session.redo()
    assert session.document == edited
