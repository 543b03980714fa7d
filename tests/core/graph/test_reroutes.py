"""Native reroutes in the graph model, without Qt: reading and saving them where the frontend keeps
them (schema 0.4, schema 1, subgraphs), their chains, moving and deleting them as undoable edits,
and damaged reroute data opening without a crash and saving back as it was."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.core.graph.reroute_docs import (
    LINK_PARENTS,
    rerouted_04,
    rerouted_subgraph,
    rerouted_v1,
    template,
    without_reroutes,
)
from x121_desktop.core.graph.catalog import NodeCatalog
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.edits import MoveNodes, RemoveNodes, RemoveReroutes
from x121_desktop.core.graph.model import Graph, WorkflowDocument
from x121_desktop.core.graph.ops import copy_nodes, paste
from x121_desktop.core.graph.repair import UNREAD_REROUTES, open_workflow_json
from x121_desktop.core.graph.reroute_chains import chain, members
from x121_desktop.core.graph.undo import EditSession


def saved(doc: WorkflowDocument) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(dump_document(doc)))
    return out


def chain_ids(graph: Graph, link_id: int) -> list[int]:
    link = graph.link(link_id)
    assert link is not None
    return [r.id for r in chain(graph, link)]


def test_frontend_documents_with_native_reroutes_save_back_unchanged() -> None:
    for raw in (rerouted_04(), rerouted_v1(), rerouted_subgraph()):
        doc = load_document(copy.deepcopy(raw), "rerouted.json")
        assert saved(doc) == raw
        assert load_document(saved(doc)) == doc  # load -> save -> load: identical in structure


def test_reroutes_and_link_parents_are_read_from_either_schema() -> None:
    old, new = load_document(rerouted_04()), load_document(rerouted_v1())
    for doc in (old, new):
        graph = doc.graph
        assert [r.id for r in graph.reroutes] == [1, 2, 3, 4, 5, 6]
        assert {lk.id: lk.parent_id for lk in graph.links if lk.parent_id is not None} == LINK_PARENTS
        assert chain_ids(graph, 74) == [1, 2]  # origin side first
        assert chain_ids(graph, 87) == [4, 5]
        assert chain_ids(graph, 166) == []
        assert members(graph)[4] == [87, 189]
        assert [lk.id for lk in graph.floating_links] == [193]
    assert old.graph.reroutes == new.graph.reroutes
    assert "reroutes" not in old.extra["extra"]  # held by the model, written back on save
    sub = next(iter(load_document(rerouted_subgraph()).subgraphs.values()))
    assert chain_ids(sub.graph, 196) == [1, 2]
    assert "reroutes" not in sub.extra


def test_moving_reroutes_with_nodes_is_one_undo_step() -> None:
    session = EditSession(load_document(rerouted_04()))
    before = session.document
    events = session.push(MoveNodes(None, ((38, (0.0, 0.0)),), reroutes=((1, (100.0, 50.0)), (5, (950.0, 720.0)))))
    assert events[0].reroutes_changed
    graph = session.document.graph
    assert [r.pos for r in graph.reroutes if r.id in (1, 5)] == [(100.0, 50.0), (950.0, 720.0)]
    out = saved(session.document)
    assert out["extra"]["reroutes"][0]["pos"] == [100.0, 50.0]
    assert session.depth == 1
    session.undo()
    assert session.document is before


def test_deleting_a_reroute_keeps_its_links_connected_through_its_parent() -> None:
    session = EditSession(load_document(rerouted_04()))
    original = saved(session.document)
    session.push(RemoveReroutes(None, (5,)))  # the VAE wire's second dot
    graph = session.document.graph
    assert chain_ids(graph, 87) == [4]
    link = graph.link(87)
    assert link is not None
    assert (link.origin_id, link.target_id, link.parent_id) == (44, 8, 4)
    out = saved(session.document)
    assert {"id": 87, "parentId": 4} in out["extra"]["linkExtensions"]
    assert [r["id"] for r in out["extra"]["reroutes"]] == [1, 2, 3, 4, 6]
    assert out["links"] == original["links"]  # the same connections

    session.push(RemoveReroutes(None, (1,)))  # the shared CLIP dot: both its children now start the chain
    graph = session.document.graph
    assert (chain_ids(graph, 74), chain_ids(graph, 75)) == ([2], [3])
    assert graph.reroute(2) is not None
    assert graph.reroute(2).parent_id is None  # type: ignore[union-attr]  # checked on the line above
    session.undo()
    session.undo()
    assert saved(session.document) == original


def test_deleting_the_only_dot_of_a_wire_makes_it_run_straight() -> None:
    raw = rerouted_subgraph()
    session = EditSession(load_document(raw))
    scope = next(iter(session.document.subgraphs))
    session.push(RemoveReroutes(scope, (2, 1)))
    sub = session.document.subgraphs[scope]
    link = sub.graph.link(196)
    assert link is not None
    assert link.parent_id is None
    assert sub.graph.reroutes == ()
    assert saved(session.document) == without_reroutes(raw)


def test_deleting_a_floating_reroute_drops_its_loose_wire() -> None:
    session = EditSession(load_document(rerouted_04()))
    session.push(RemoveReroutes(None, (6,)))
    graph = session.document.graph
    assert graph.floating_links == ()
    assert "floatingLinks" not in saved(session.document)


def test_deleting_a_node_drops_the_reroutes_only_its_wires_used() -> None:
    session = EditSession(load_document(rerouted_04()))
    session.push(RemoveNodes(None, (8,)))  # VAEDecode: wire 87 goes, 189 still uses dot 4
    graph = session.document.graph
    assert graph.reroute(5) is None
    assert graph.reroute(4) is not None
    assert members(graph)[4] == [189]
    session.push(RemoveNodes(None, (6,)))  # one CLIP encoder: wire 74 and its own dot 2 go, dot 1 stays
    graph = session.document.graph
    assert (graph.reroute(2), graph.reroute(1) is not None) == (None, True)
    assert saved(session.document)["extra"]["reroutes"][0] == {"id": 1, "pos": [397.5, 240.0], "linkIds": [75]}


def test_pasted_copies_of_rerouted_wires_run_straight() -> None:
    doc = load_document(rerouted_04())
    clip = copy_nodes(doc.graph, (38, 6, 7))
    edit = paste(doc, None, clip, (0.0, 2000.0))
    assert [lk.parent_id for lk in edit.links] == [None, None]
    after = edit.apply(doc)
    assert len(after.graph.reroutes) == len(doc.graph.reroutes)


def test_damaged_reroute_data_opens_marked_and_saves_back_as_it_was() -> None:
    raw = rerouted_v1()
    raw["links"][0]["parentId"] = 99  # link 74: a reroute that is not there
    raw["reroutes"][1]["parentId"] = 3
    raw["reroutes"][2]["parentId"] = 2  # 2 -> 3 -> 2: a loop on link 75's path
    opened = open_workflow_json(copy.deepcopy(raw), "damaged.json", NodeCatalog())
    doc = opened.document
    assert chain_ids(doc.graph, 74) == []  # the chain stops where it breaks
    assert chain_ids(doc.graph, 75) == [2, 3]
    assert [(p.node_id, p.message) for p in opened.problems] == [
        ("6", "The path of link 74 names reroute 99, which is not in the workflow; it is drawn without the rest "
         "(re-route it to repair it)."),
        ("7", "The path of link 75 loops back at reroute 3; it is drawn without the rest (re-route it to repair it)."),
    ]  # fmt: skip
    out = saved(doc)
    assert out["links"] == raw["links"]  # nothing repaired behind the artist's back ...
    assert [{k: r[k] for k in r if k != "linkIds"} for r in out["reroutes"]] == [
        {k: r[k] for k in r if k != "linkIds"} for r in raw["reroutes"]
    ]
    assert out["reroutes"][0]["linkIds"] == []  # ... but linkIds are derived from the paths, as the frontend does

    unreadable = rerouted_04()
    unreadable["extra"]["reroutes"].append({"id": "seven", "pos": [0, 0]})
    opened = open_workflow_json(copy.deepcopy(unreadable), "unreadable.json", NodeCatalog())
    assert opened.document.graph.reroutes == ()  # not drawn ...
    assert saved(opened.document) == unreadable  # ... and not lost
    assert [p.message for p in opened.problems] == [UNREAD_REROUTES]


def test_the_template_without_reroutes_is_the_same_graph() -> None:
    with_dots, plain = load_document(rerouted_04()), load_document(template())
    assert [n.id for n in with_dots.graph.nodes] == [n.id for n in plain.graph.nodes]
    assert [(lk.id, lk.origin_id, lk.target_id) for lk in with_dots.graph.links] == [
        (lk.id, lk.origin_id, lk.target_id) for lk in plain.graph.links
    ]
    assert saved(load_document(without_reroutes(rerouted_04()))) == template()
