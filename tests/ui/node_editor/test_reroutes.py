"""Native reroutes on the canvas (pytest-qt, offscreen), on a real template rerouted in the frontend's
shape: drawn where saved with the wires passing through them, dragged (one undo step, wires follow
live), deleted (the wire stays connected), saved so the file loads back identical, and converted to
the same API prompt as the bridge's converter makes (reroutes are only drawn, never executed)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from tests.comfy.test_convert_support import OBJECT_INFO_PATH, recorded_info
from tests.core.graph.reroute_docs import rerouted_04, rerouted_subgraph, rerouted_v1, template
from tests.ui.node_editor.conftest import drag, editor_on_screen
from x121_desktop.comfy.convert import load_workflow, to_api, ui_to_api
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.edits import MoveNodes
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.node_editor.editor import NodeEditor
from x121_desktop.ui.node_editor.items.link import LinkItem


@pytest.fixture
def rerouted(qtbot: QtBot) -> Iterator[NodeEditor]:
    widget = editor_on_screen(qtbot, rerouted_04(), QPointF(600, 400))
    yield widget
    widget.close()


def stretch_ends(link: LinkItem) -> list[QPointF]:
    """Where each drawn stretch of the wire ends (every third path element after the start)."""
    path = link._path
    return [QPointF(path.elementAt(i).x, path.elementAt(i).y) for i in range(3, path.elementCount(), 3)]


def test_reroutes_are_drawn_where_saved_and_wires_pass_through_them(rerouted: NodeEditor) -> None:
    scene = rerouted.scene
    assert sorted(scene.reroutes) == [1, 2, 3, 4, 5, 6]
    assert scene.reroutes[1].pos() == QPointF(397.5, 240.0)
    clip_a, clip_b, vae = scene.links[74], scene.links[75], scene.links[87]
    assert [d.reroute_id for d in clip_a.via] == [1, 2]
    assert [d.reroute_id for d in clip_b.via] == [1, 3]
    assert [d.reroute_id for d in vae.via] == [4, 5]
    assert stretch_ends(clip_a) == [QPointF(397.5, 240.0), QPointF(380.0, 150.25), clip_a.ends()[1]]
    assert scene.links[166].via == []
    assert scene.reroutes[6].links == []  # the floating one carries no live wire: drawn hollow
    image = rerouted.view.grab().toImage()
    at = rerouted.view.mapFromScene(QPointF(397.5, 240.0))
    shade = QColor(image.pixel(at.x(), at.y()))
    assert shade.rgb() != rerouted.look.bg.rgb()  # a dot is painted there


def test_dragging_a_reroute_moves_its_wires_live_and_is_one_undo_step(rerouted: NodeEditor) -> None:
    dot, wire = rerouted.scene.reroutes[5], rerouted.scene.links[87]
    drag(rerouted, QPointF(900.0, 700.0), QPointF(980.0, 640.0), steps=6)
    assert (dot.x(), dot.y()) == (980.0, 640.0)
    assert QPointF(980.0, 640.0) in stretch_ends(wire)  # the wire followed
    assert rerouted.session.depth == 1
    assert rerouted.session.undo_title == "Move nodes"
    moved = rerouted.document.graph.reroute(5)
    assert moved is not None
    assert moved.pos == (980.0, 640.0)
    assert dump_document(rerouted.document)["extra"]["reroutes"][4]["pos"] == [980.0, 640.0]
    rerouted.undo()
    assert (dot.x(), dot.y()) == (900.0, 700.0)
    assert QPointF(900.0, 700.0) in stretch_ends(wire)
    assert not rerouted.modified


def test_deleting_a_reroute_keeps_the_wire_connected(rerouted: NodeEditor) -> None:
    scene = rerouted.scene
    scene.reroutes[4].setSelected(True)
    rerouted.delete_selection()
    assert 4 not in scene.reroutes
    vae, other = scene.links[87], scene.links[189]
    assert [d.reroute_id for d in vae.via] == [5]  # the wire now starts at the remaining dot
    assert other.via == []
    link = rerouted.document.graph.link(87)
    assert link is not None
    assert (link.origin_id, link.target_id) == (44, 8)
    assert rerouted.session.undo_title == "Delete 1 reroute"
    rerouted.undo()
    assert [d.reroute_id for d in scene.links[87].via] == [4, 5]
    assert dump_document(rerouted.document) == rerouted_04()


def test_save_writes_a_file_that_loads_back_identical(rerouted: NodeEditor, tmp_path: Path) -> None:
    drag(rerouted, QPointF(397.5, 240.0), QPointF(400.0, 300.0))
    path = tmp_path / "rerouted.json"
    assert rerouted.save_as(path)
    raw = json.loads(path.read_text("utf-8"))
    dot = rerouted.scene.reroutes[1]
    assert dot.y() == 300.0  # (x lands on the nearest view pixel)
    assert raw["extra"]["reroutes"][0] == {"id": 1, "pos": [dot.x(), dot.y()], "linkIds": [74, 75]}
    assert raw["extra"]["linkExtensions"] == rerouted_04()["extra"]["linkExtensions"]
    assert load_document(copy.deepcopy(raw)) == rerouted.document
    assert rerouted.open_path(path)
    assert [d.reroute_id for d in rerouted.scene.links[74].via] == [1, 2]


def test_reroutes_convert_to_the_bridges_api_prompt(rerouted: NodeEditor, tmp_path: Path) -> None:
    info = recorded_info()
    runtime = Runtime()
    service = NodeEditorService(runtime, None, tmp_path)
    asyncio.run(service.catalog_from_file(OBJECT_INFO_PATH))
    path = tmp_path / "rerouted.json"
    for raw in (rerouted_04(), rerouted_v1(), rerouted_subgraph()):
        path.write_text(json.dumps(raw))
        assert rerouted.open_path(path)
        bridge = to_api(load_workflow(path), info).prompt
        assert service.api_prompt(rerouted.document) == bridge
    plain = ui_to_api(load_document(template()), info).prompt
    assert service.api_prompt(load_document(rerouted_04())) == plain  # the dots change nothing that runs
    runtime.shutdown()


def test_a_subgraphs_reroutes_show_on_its_nested_canvas(rerouted: NodeEditor) -> None:
    rerouted.open_document(load_document(rerouted_subgraph()))
    sub_id = next(iter(rerouted.document.subgraphs))
    rerouted.enter_subgraph(sub_id)
    assert sorted(rerouted.scene.reroutes) == [1, 2]
    assert [d.reroute_id for d in rerouted.scene.links[196].via] == [1, 2]


def test_dragging_a_group_carries_the_reroutes_inside_it(rerouted: NodeEditor) -> None:
    rerouted.push(MoveNodes(None, (), reroutes=((5, (700.0, 760.0)),)))  # into the "Video size" frame
    dot, node = rerouted.scene.reroutes[5], rerouted.scene.nodes["77"]
    node_at = (node.x(), node.y())
    depth = rerouted.session.depth
    drag(rerouted, QPointF(700.0, 615.0), QPointF(740.0, 655.0))  # by the frame's title
    assert (dot.x(), dot.y()) == (740.0, 800.0)
    assert (node.x(), node.y()) == (node_at[0] + 40.0, node_at[1] + 40.0)
    assert rerouted.session.depth == depth + 1  # frame, nodes and reroute: one step
    moved = rerouted.document.graph.reroute(5)
    assert moved is not None
    assert moved.pos == (740.0, 800.0)
