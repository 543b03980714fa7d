"""Editing on the canvas with undo (pytest-qt, offscreen): every gesture is one edit, undo replays it."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.ui.node_editor.conftest import chain_document, click, drag
from x121_desktop.actions.catalog import build_registry
from x121_desktop.actions.keymap import choose_keymap
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.model import Link
from x121_desktop.core.graph.ops import Align
from x121_desktop.ui.actions_qt import bind
from x121_desktop.ui.node_editor.editor import NodeEditor
from x121_desktop.ui.node_editor.items.link import LinkItem
from x121_desktop.ui.node_editor.items.reroute import RerouteItem
from x121_desktop.ui.node_editor.search import NodeSearch


def test_drag_moves_live_and_commits_one_move_on_release(editor: NodeEditor) -> None:
    item = editor.scene.nodes["2"]
    link = editor.scene.links[1]
    before_end = link.ends()[1]
    drag(editor, QPointF(450, -15), QPointF(550, 85), steps=8)
    assert editor.session.depth == 1
    assert editor.session.undo_title == "Move nodes"
    node = editor.document.graph.node(2)
    assert node is not None
    assert node.pos == (500.0, 100.0)
    assert (item.x(), item.y()) == (500.0, 100.0)
    assert link.ends()[1] == before_end + QPointF(100, 100)  # the wire followed
    editor.undo()
    assert (item.x(), item.y()) == (400.0, 0.0)
    assert link.ends()[1] == before_end
    assert not editor.modified


def test_connect_by_dragging_a_wire_is_type_checked(editor: NodeEditor) -> None:
    messages: list[str] = []
    editor.message_posted.connect(messages.append)
    load, sampler = editor.scene.nodes["1"], editor.scene.nodes["3"]
    mask_out = load.output_pos(1)
    model_in = sampler.input_pos(0)
    drag(editor, mask_out, model_in)
    assert messages == ["A MASK output cannot feed a MODEL input. Connect it to a MASK input."]
    assert editor.session.depth == 0
    image_out = load.output_pos(0)
    preview_in = editor.scene.nodes["2"].input_pos(0)
    drag(editor, preview_in, preview_in + QPointF(0, 200))  # pull the wire off the preview → disconnect
    assert editor.document.graph.links == ()
    assert not editor.scene.links
    drag(editor, image_out, preview_in)
    assert [(k.origin_id, k.target_id, k.type) for k in links_of(editor)] == [(1, 2, "IMAGE")]
    assert len(editor.scene.links) == 1
    editor.undo()
    editor.undo()
    assert dump_document(editor.document) == chain_document()


def test_tab_search_adds_a_node_and_undo_removes_it(editor: NodeEditor, qtbot: QtBot) -> None:
    registry = build_registry()
    actions = bind(registry, choose_keymap("default", registry).keymap, editor)
    editor.bind_actions(actions, registry)
    editor.view.setFocus()
    actions["graph.add_node"].trigger()
    search = editor.findChild(NodeSearch)
    assert search is not None
    assert search.isVisible()
    QTest.keyClicks(search.field, "empty latent")
    assert search.results.count() >= 1
    QTest.keyClick(search.field, Qt.Key.Key_Return)
    added = editor.document.graph.nodes[-1]
    assert added.type == "EmptyLatentImage"
    assert str(added.id) in editor.scene.nodes
    assert added.widgets_values == [512, 512, 1]
    editor.view.setFocus()
    actions["edit.undo"].trigger()
    assert str(added.id) not in editor.scene.nodes
    actions["edit.redo"].trigger()
    assert str(added.id) in editor.scene.nodes


def test_widget_arrows_and_toggles_edit_values_as_merged_steps(editor: NodeEditor) -> None:
    sampler = editor.scene.nodes["3"]
    steps_row = next(r for r in sampler.rows if r.label == "steps")
    right = sampler.mapToScene(QPointF(steps_row.rect.right() - 6, steps_row.rect.center().y()))
    for _ in range(3):
        click(editor, right)
    node = editor.document.graph.node(3)
    assert node is not None
    assert node.widgets_values[2] == 23
    assert editor.session.depth == 1  # three clicks on one widget are one undo step
    editor.undo()
    node = editor.document.graph.node(3)
    assert node is not None
    assert node.widgets_values[2] == 20


def test_reroute_group_collapse_align_copy_paste_all_undo_to_the_opened_document(editor: NodeEditor) -> None:
    opened = editor.document
    link = editor.scene.links[1]
    middle = link._path.pointAtPercent(0.5)
    click(editor, middle, double=True)
    reroutes = [i for i in editor.scene.nodes.values() if isinstance(i, RerouteItem)]
    assert len(reroutes) == 1
    assert len([i for i in editor.scene.items() if isinstance(i, LinkItem)]) == 2
    for item in editor.scene.nodes.values():
        item.setSelected(item.node_id in ("1", "2"))
    editor.group_selection()
    assert len(editor.scene.groups) == 1
    editor.collapse_selection()
    assert editor.scene.nodes["1"].collapsed
    editor.align_selection(Align.TOP)
    editor.copy_selection()
    editor.paste(QPointF(0, 900))
    assert len(editor.document.graph.nodes) == 6
    editor.scene.groups[0].setSelected(True)
    for item in editor.scene.nodes.values():
        item.setSelected(False)
    editor.ungroup_selection()
    assert editor.scene.groups == []
    depth = editor.session.depth
    assert depth == 6
    for _ in range(depth):
        editor.undo()
    assert editor.document == opened
    assert len(editor.scene.nodes) == 3
    assert set(editor.scene.links) == {1}
    assert not editor.modified


def test_subgraphs_open_as_nested_canvases_and_edits_inside_undo(editor: NodeEditor, qtbot: QtBot) -> None:
    raw = chain_document()
    raw["nodes"].append(
        {"id": 9, "type": "sub-1", "pos": [800, 0], "size": [200, 80], "mode": 0, "inputs": [], "outputs": []}
    )
    raw["definitions"] = {
        "subgraphs": [
            {
                "id": "sub-1",
                "name": "Inner part",
                "inputNode": {"id": -10, "bounding": [-300, 0, 120, 60]},
                "outputNode": {"id": -20, "bounding": [600, 0, 120, 60]},
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
    }
    editor.open_document(load_document(raw))
    instance = editor.scene.nodes["9"]
    assert instance.title == "Inner part"
    editor.view.set_zoom(1.0)
    editor.view.centerOn(instance)
    click(editor, instance.mapToScene(QPointF(40, -15)), double=True)
    assert editor.scope == "sub-1"
    assert editor.crumbs.text() == "Workflow  /  Inner part"
    ports = editor.scene.nodes["-10"]
    drag(editor, ports.output_pos(0), editor.scene.nodes["1"].input_pos(0))
    assert port_links(editor) == (2,)  # link ids are unique document-wide
    editor.undo()
    assert port_links(editor) == ()
    editor.leave_subgraph()
    assert editor.scope is None


def test_damaged_file_opens_marked_and_nothing_is_saved_without_asking(editor: NodeEditor, tmp_path: Path) -> None:
    raw = chain_document()
    raw["links"].append([5, 77, 0, 3, 0, "MODEL"])
    raw["nodes"][2]["inputs"][0]["link"] = 5
    raw["nodes"].append(
        {"id": 4, "type": "NoSuchNodeAnywhere", "pos": [800, 400], "mode": 0, "widgets_values": [1, "x"]}
    )
    raw["surprise"] = {"from": "the future"}
    path = tmp_path / "damaged.json"
    text = json.dumps(raw)
    path.write_text(text)
    assert editor.open_path(path)
    assert [m.text for m in editor.scene.nodes["3"].markers] == [
        "Link 5 comes from node 77, which is not in the workflow; it was left out."
    ]
    assert "'NoSuchNodeAnywhere' is not installed" in editor.scene.nodes["4"].markers[0].text
    assert editor.scene.nodes["4"].toolTip()
    editor.scene.nodes["4"].setSelected(True)
    editor.delete_selection()
    assert editor.modified
    assert path.read_text() == text  # edited, not saved
    assert editor.save()
    saved = json.loads(path.read_text())
    assert saved["surprise"] == {"from": "the future"}
    assert [n["id"] for n in saved["nodes"]] == [1, 2, 3]
    assert not editor.session.modified
    assert not list(tmp_path.glob(".*.tmp"))


def test_api_files_open_laid_out_and_plain_save_does_not_overwrite_them(editor: NodeEditor, tmp_path: Path) -> None:
    api = tmp_path / "prompt.json"
    api.write_text(
        json.dumps(
            {
                "1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
                "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
            }
        )
    )
    messages: list[str] = []
    editor.message_posted.connect(messages.append)
    assert editor.open_path(api)
    assert set(editor.scene.nodes) == {"1", "2"}
    assert not editor.save()
    assert "Use Save As" in messages[-1]
    out = tmp_path / "as_ui.json"
    assert editor.save_as(out)
    again = load_document(json.loads(out.read_text()))
    assert [n.type for n in again.graph.nodes] == ["LoadImage", "PreviewImage"]
    assert editor.open_path(tmp_path / "missing.json") is False
    assert messages[-1].startswith("Cannot read")


def port_links(ed: NodeEditor) -> tuple[int, ...]:
    return ed.document.subgraphs["sub-1"].inputs[0].link_ids


def links_of(ed: NodeEditor) -> tuple[Link, ...]:
    return ed.document.graph.links
