"""Node editor fixtures: the recorded server's node catalogue and an editor on screen (offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.comfy.test_convert_support import recorded_info
from x121_desktop.core.graph.catalog import NodeCatalog
from x121_desktop.core.graph.document import load_document
from x121_desktop.services.node_editor import catalog_from_object_info
from x121_desktop.ui.node_editor.editor import NodeEditor


@lru_cache(maxsize=1)
def recorded_catalog() -> NodeCatalog:
    return catalog_from_object_info(recorded_info())


def chain_document() -> dict[str, Any]:
    """LoadImage(1) → PreviewImage(2), plus an unconnected KSampler(3)."""
    return {
        "last_node_id": 3,
        "last_link_id": 1,
        "nodes": [
            {
                "id": 1,
                "type": "LoadImage",
                "pos": [0, 0],
                "size": [240, 200],
                "mode": 0,
                "inputs": [],
                "outputs": [
                    {"name": "IMAGE", "type": "IMAGE", "links": [1]},
                    {"name": "MASK", "type": "MASK", "links": None},
                ],
                "widgets_values": ["example.png", "image"],
            },
            {
                "id": 2,
                "type": "PreviewImage",
                "pos": [400, 0],
                "size": [200, 120],
                "mode": 0,
                "inputs": [{"name": "images", "type": "IMAGE", "link": 1}],
                "outputs": [],
            },
            {
                "id": 3,
                "type": "KSampler",
                "pos": [0, 400],
                "size": [300, 260],
                "mode": 0,
                "inputs": [{"name": "model", "type": "MODEL", "link": None}],
                "outputs": [{"name": "LATENT", "type": "LATENT", "links": None}],
                "widgets_values": [7, "fixed", 20, 8.0, "euler", "normal", 1.0],
            },
        ],
        "links": [[1, 1, 0, 2, 0, "IMAGE"]],
        "groups": [],
        "version": 0.4,
    }


def editor_on_screen(qtbot: QtBot, raw: dict[str, Any], centre: QPointF) -> NodeEditor:
    """An editor shown at 1200x800 with `raw` open at 100 % zoom, centred on `centre` (scene)."""
    widget = NodeEditor(recorded_catalog())
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.open_document(load_document(raw))
    widget.view.set_zoom(1.0)
    widget.view.ensure_room()
    widget.view.centerOn(centre)
    return widget


@pytest.fixture
def editor(qtbot: QtBot) -> Iterator[NodeEditor]:
    widget = editor_on_screen(qtbot, chain_document(), QPointF(300, 200))
    yield widget
    widget.close()


def view_point(ed: NodeEditor, scene_pos: QPointF) -> QPoint:
    return ed.view.mapFromScene(scene_pos)


def mouse(target: QWidget, kind: QMouseEvent.Type, at: QPoint, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
    event = QMouseEvent(
        kind, QPointF(at), QPointF(target.mapToGlobal(at)), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, event)


def drag(ed: NodeEditor, start: QPointF, end: QPointF, steps: int = 5) -> None:
    """Press at `start`, move in steps, release at `end` (scene coordinates), left button."""
    vp = ed.view.viewport()
    a, b = view_point(ed, start), view_point(ed, end)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mouse(vp, QMouseEvent.Type.MouseButtonPress, a, left, left)
    for i in range(1, steps + 1):
        p = QPoint(a.x() + (b.x() - a.x()) * i // steps, a.y() + (b.y() - a.y()) * i // steps)
        mouse(vp, QMouseEvent.Type.MouseMove, p, none, left)
    mouse(vp, QMouseEvent.Type.MouseButtonRelease, b, left, none)


def click(ed: NodeEditor, at: QPointF, *, double: bool = False) -> None:
    vp = ed.view.viewport()
    p = view_point(ed, at)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mouse(vp, QMouseEvent.Type.MouseButtonPress, p, left, left)
    mouse(vp, QMouseEvent.Type.MouseButtonRelease, p, left, none)
    if double:
        mouse(vp, QMouseEvent.Type.MouseButtonDblClick, p, left, left)
        mouse(vp, QMouseEvent.Type.MouseButtonRelease, p, left, none)
