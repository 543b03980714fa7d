"""Edits of the graph model without Qt: bookkeeping on both link ends, undo/redo, merge rules, events."""

from __future__ import annotations

from typing import Any

import pytest

from x121_desktop.core.graph.catalog import NodeCatalog, NodeType, SocketSpec, WidgetKind, WidgetSpec, widget_slots
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.edits import (
    Collapse,
    Disconnect,
    EditRefused,
    MoveNodes,
    RemoveGroups,
    RemoveNodes,
    SetNodeMode,
    SetTitle,
    SetWidgetValue,
    graph_of,
)
from x121_desktop.core.graph.model import Graph, Node, WorkflowDocument
from x121_desktop.core.graph.ops import (
    Align,
    add_node,
    align,
    connect,
    copy_nodes,
    group_around,
    insert_reroute,
    paste,
)
from x121_desktop.core.graph.undo import EditSession, GraphEdited

LOADER = NodeType(
    "LoadImage",
    "Load Image",
    "image",
    widgets=(WidgetSpec("image", WidgetKind.UPLOAD, "a.png", choices=("a.png",), upload="image_upload", type="COMBO"),),
    outputs=(SocketSpec("IMAGE", "IMAGE"), SocketSpec("MASK", "MASK")),
)
SAMPLER = NodeType(
    "KSampler",
    "KSampler",
    "sampling",
    inputs=(SocketSpec("model", "MODEL"), SocketSpec("latent_image", "LATENT")),
    widgets=(
        WidgetSpec("seed", WidgetKind.INT, 0, 0, 2**64, control_after_generate=True, type="INT"),
        WidgetSpec("steps", WidgetKind.INT, 20, 1, 10000, type="INT"),
        WidgetSpec("cfg", WidgetKind.FLOAT, 8.0, 0.0, 100.0, 0.1, type="FLOAT"),
    ),
    outputs=(SocketSpec("LATENT", "LATENT"),),
)
PREVIEW = NodeType("PreviewImage", "Preview Image", "image", inputs=(SocketSpec("images", "IMAGE"),), output_node=True)
CATALOG = NodeCatalog({t.name: t for t in (LOADER, SAMPLER, PREVIEW)}, source="test")


def small_doc() -> WorkflowDocument:
    """LoadImage(1) → Preview(2), a note, one group; counters like the frontend saves."""
    raw: dict[str, Any] = {
        "last_node_id": 3,
        "last_link_id": 1,
        "nodes": [
            {
                "id": 1,
                "type": "LoadImage",
                "pos": [0, 0],
                "size": [300, 300],
                "flags": {},
                "mode": 0,
                "inputs": [],
                "outputs": [
                    {"name": "IMAGE", "type": "IMAGE", "links": [1]},
                    {"name": "MASK", "type": "MASK", "links": None},
                ],
                "widgets_values": ["a.png", "image"],
                "future_field": {"kept": True},
            },
            {
                "id": 2,
                "type": "PreviewImage",
                "pos": [400, 0],
                "size": [200, 200],
                "mode": 0,
                "inputs": [{"name": "images", "type": "IMAGE", "link": 1}],
                "outputs": [],
            },
            {"id": 3, "type": "Note", "pos": [0, 400], "mode": 0, "widgets_values": ["hello"]},
        ],
        "links": [[1, 1, 0, 2, 0, "IMAGE"]],
        "groups": [{"title": "Inputs", "bounding": [-10, -50, 320, 360], "color": "#3f789e"}],
        "config": {},
        "extra": {"ds": {"scale": 1, "offset": [0, 0]}},
        "version": 0.4,
    }
    return load_document(raw)


def consistent(doc: WorkflowDocument) -> None:
    """Every link is recorded on both ends, and every socket reference names a link."""
    for scope, graph in doc.all_graphs():
        ids = {lk.id for lk in graph.links}
        for lk in graph.links:
            origin, target = graph.node(lk.origin_id), graph.node(lk.target_id)
            if origin is not None:
                assert lk.id in origin.outputs[lk.origin_slot].links, (scope, lk)
            if target is not None:
                assert target.inputs[lk.target_slot].link == lk.id, (scope, lk)
        for node in graph.nodes:
            assert all(s.link is None or s.link in ids for s in node.inputs), node
            assert all(x in ids for s in node.outputs for x in s.links), node


def test_add_and_connect_with_type_check_then_undo_redo() -> None:
    session = EditSession(small_doc())
    events: list[GraphEdited] = []
    session.subscribe(events.append)
    session.push(add_node(session.document, None, SAMPLER, (800, 0)))
    new = session.document.graph.nodes[-1]
    assert new.id == 4
    assert new.type == "KSampler"
    assert new.widgets_values == [0, "randomize", 20, 8.0]
    assert [s.name for s in new.inputs] == ["model", "latent_image", "seed", "steps", "cfg"]
    assert events[-1].nodes_added == {"4"}
    assert session.document.extra["last_node_id"] == 4

    with pytest.raises(EditRefused, match="A IMAGE output cannot feed a LATENT input"):
        connect(session.document, None, 1, 0, 4, 1)
    session.push(connect(session.document, None, 1, 0, 2, 0))  # replaces link 1 into the preview
    consistent(session.document)
    graph = session.document.graph
    assert [lk.id for lk in graph.links] == [2]
    assert events[-1].links_added == {2}
    assert events[-1].links_removed == {1}
    assert session.document.extra["last_link_id"] == 2

    session.undo()
    session.undo()
    assert session.document == small_doc()
    session.redo()
    session.redo()
    assert [lk.id for lk in session.document.graph.links] == [2]
    assert session.undo_title == "Connect IMAGE"


def test_remove_nodes_clears_both_ends_and_undo_restores_exactly() -> None:
    doc = small_doc()
    session = EditSession(doc)
    session.push(RemoveNodes(None, (2,)))
    consistent(session.document)
    assert session.document.graph.links == ()
    loader = session.document.graph.node(1)
    assert loader is not None
    assert loader.outputs[0].links == ()
    assert session.modified
    session.undo()
    assert session.document == doc
    assert dump_document(session.document) == dump_document(doc)
    assert not session.modified


def test_one_drag_is_one_undo_step_and_events_name_moved_nodes() -> None:
    session = EditSession(small_doc())
    events: list[GraphEdited] = []
    session.subscribe(events.append)
    session.push(MoveNodes(None, ((1, (50.0, 60.0)), (2, (450.0, 60.0)))))
    assert events[-1].nodes_changed == {"1", "2"}
    assert not events[-1].links_added
    assert session.depth == 1
    session.undo()
    assert events[-1].reason == "undo"
    assert events[-1].nodes_changed == {"1", "2"}
    node = session.document.graph.node(1)
    assert node is not None
    assert node.pos == (0, 0)


def test_widget_edits_merge_until_merge_is_closed() -> None:
    session = EditSession(small_doc())
    session.push(SetWidgetValue(None, 3, 0, "hel"))
    session.push(SetWidgetValue(None, 3, 0, "hello world"))
    assert session.depth == 1
    session.close_merge()
    session.push(SetWidgetValue(None, 3, 0, "bye"))
    assert session.depth == 2
    session.undo()
    note = session.document.graph.node(3)
    assert note is not None
    assert note.widgets_values == ["hello world"]
    session.undo()
    note = session.document.graph.node(3)
    assert note is not None
    assert note.widgets_values == ["hello"]


def test_widget_slots_skip_control_and_upload_values() -> None:
    slots = widget_slots(SAMPLER, [42, "fixed", 30, 6.5])
    assert [(s.spec.name, s.index, s.value) for s in slots] == [("seed", 0, 42), ("steps", 2, 30), ("cfg", 3, 6.5)]
    slots = widget_slots(LOADER, ["b.png", "image"])
    assert [(s.index, s.value) for s in slots] == [(0, "b.png")]


def test_mode_title_collapse_and_groups() -> None:
    doc = small_doc()
    session = EditSession(doc)
    session.push(SetNodeMode(None, (1, 2), 4))
    session.push(SetTitle(None, 1, "Start image"))
    session.push(Collapse(None, (1,), True))
    session.push(group_around(session.document.graph, [1, 2], "Both"))
    session.push(RemoveGroups(None, (0,)))
    saved = dump_document(session.document)
    assert saved["nodes"][0]["mode"] == 4
    assert saved["nodes"][0]["title"] == "Start image"
    assert saved["nodes"][0]["flags"] == {"collapsed": True}
    assert [g["title"] for g in saved["groups"]] == ["Both"]
    again = load_document(saved)
    assert dump_document(again) == saved
    for _ in range(5):
        session.undo()
    assert session.document == doc


def test_reroute_splits_a_wire_into_two() -> None:
    session = EditSession(small_doc())
    session.push(insert_reroute(session.document, None, 1, (200.0, 0.0)))
    consistent(session.document)
    graph = session.document.graph
    reroute = graph.nodes[-1]
    assert reroute.type == "Reroute"
    assert [(lk.origin_id, lk.target_id) for lk in graph.links] == [(1, reroute.id), (reroute.id, 2)]
    session.undo()
    assert session.document == small_doc()


def test_copy_paste_gives_fresh_ids_and_keeps_inner_links() -> None:
    session = EditSession(small_doc())
    clip = copy_nodes(session.document.graph, [1, 2, 3])
    session.push(paste(session.document, None, clip, (1000.0, 1000.0)))
    consistent(session.document)
    graph = session.document.graph
    assert [n.id for n in graph.nodes] == [1, 2, 3, 4, 5, 6]
    assert (graph.links[-1].origin_id, graph.links[-1].target_id) == (4, 5)
    pasted = graph.node(4)
    assert pasted is not None
    assert pasted.pos == (1000.0, 1030.0)


def test_align_left_and_distribute() -> None:
    doc = small_doc()
    session = EditSession(doc)
    session.push(align(doc.graph, [1, 2, 3], Align.LEFT))
    assert {n.pos[0] for n in session.document.graph.nodes if n.pos} == {0.0}
    with pytest.raises(EditRefused):
        align(doc.graph, [1], Align.TOP)


def test_subgraph_ports_follow_links_inside() -> None:
    raw: dict[str, Any] = {
        "nodes": [{"id": 9, "type": "sub-1", "pos": [0, 0], "mode": 0, "inputs": [], "outputs": []}],
        "links": [],
        "definitions": {
            "subgraphs": [
                {
                    "id": "sub-1",
                    "name": "Inner",
                    "inputs": [{"name": "image", "type": "IMAGE", "linkIds": []}],
                    "outputs": [],
                    "nodes": [
                        {
                            "id": 1,
                            "type": "PreviewImage",
                            "pos": [0, 0],
                            "mode": 0,
                            "inputs": [{"name": "images", "type": "IMAGE", "link": None}],
                        }
                    ],
                    "links": [],
                }
            ]
        },
        "version": 0.4,
    }
    doc = load_document(raw)
    session = EditSession(doc)
    session.push(connect(doc, "sub-1", -10, 0, 1, 0))
    sub = session.document.subgraphs["sub-1"]
    assert sub.inputs[0].link_ids == (1,)
    assert graph_of(session.document, "sub-1").nodes[0].inputs[0].link == 1
    session.push(Disconnect("sub-1", (1,)))
    assert session.document.subgraphs["sub-1"].inputs[0].link_ids == ()
    session.undo()
    session.undo()
    assert session.document == doc


def test_edits_on_missing_things_are_refused_with_a_sentence() -> None:
    session = EditSession(small_doc())
    with pytest.raises(EditRefused, match="Node 77 is not in this graph"):
        session.push(MoveNodes(None, ((77, (0.0, 0.0)),)))
    assert session.depth == 0
    assert not session.undo()
    assert not session.redo()
    empty = EditSession(WorkflowDocument(graph=Graph()))
    empty.push(add_node(empty.document, None, PREVIEW, (0, 0)))
    assert isinstance(empty.document.graph.nodes[0], Node)
    assert empty.document.graph.nodes[0].id == 1
