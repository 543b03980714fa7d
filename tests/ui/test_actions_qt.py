"""QActions built from the registry and a keymap: shortcuts fire, presets rebind live, scopes isolate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit, QMainWindow, QSplitter, QWidget
from pytestqt.qtbot import QtBot

from x121_desktop.actions import build_registry, choose_keymap, load_keymap
from x121_desktop.actions.keymap import available_keymaps, bundled_keymaps_dir
from x121_desktop.ui.actions_qt import attach_scope, bind, build_menus, connect, rebind, update_enabled

REGISTRY = build_registry()


def _window(qtbot: QtBot) -> tuple[QMainWindow, QWidget, QWidget]:
    window = QMainWindow()
    qtbot.addWidget(window)
    split = QSplitter(window)
    timeline, graph = QWidget(split), QWidget(split)
    for view in (timeline, graph):
        view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    window.setCentralWidget(split)
    window.resize(800, 500)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)  # shortcuts need it
    return window, timeline, graph


@pytest.mark.parametrize("name", sorted(available_keymaps()))
def test_every_preset_key_is_read_by_qt_unchanged(name: str) -> None:
    keymap = load_keymap(name, REGISTRY)
    for action_id, keys in keymap.bindings.items():
        for text in keys:
            seq = QKeySequence(text, QKeySequence.SequenceFormat.PortableText)
            assert seq.toString(QKeySequence.SequenceFormat.PortableText) == text, (name, action_id)


def test_bind_makes_one_action_per_id_with_the_keymap_shortcuts(qtbot: QtBot) -> None:
    window, _timeline, _graph = _window(qtbot)
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    assert set(actions) == set(REGISTRY.ids())
    assert actions["playback.play_pause"].shortcut().toString() == "Space"
    assert actions["app.command_palette"].shortcut().toString() == "Ctrl+K"
    assert actions["view.focus_mode"].isCheckable()
    assert actions["app.quit"].shortcutContext() == Qt.ShortcutContext.WindowShortcut
    assert "Ctrl+Z" in actions["edit.undo"].toolTip()
    assert actions["app.quit"] in window.actions()


def test_shortcut_press_triggers_the_action(qtbot: QtBot) -> None:
    window, timeline, _graph = _window(qtbot)
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    fired: list[str] = []
    connect(
        actions,
        {
            "app.command_palette": lambda: fired.append("palette"),
            "review.verdict.approve": lambda: fired.append("approve"),
        },
    )
    timeline.setFocus()
    qtbot.keyClick(timeline, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(timeline, Qt.Key.Key_1)
    assert fired == ["palette", "approve"]


def test_typing_in_a_text_field_is_not_stolen_by_single_key_shortcuts(qtbot: QtBot) -> None:
    window, _timeline, _graph = _window(qtbot)
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    fired: list[str] = []
    connect(actions, {"playback.shuttle_forward": lambda: fired.append("L")})
    field = QLineEdit(window)
    window.statusBar().addWidget(field)
    field.setFocus()
    qtbot.keyClicks(field, "JKL 123")
    assert field.text() == "JKL 123"
    assert fired == []


def test_switching_preset_rebinds_without_rebuilding(qtbot: QtBot) -> None:
    window, timeline, _graph = _window(qtbot)
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    approve = actions["review.verdict.approve"]
    rebind(actions, REGISTRY, load_keymap("avid", REGISTRY))
    assert actions["review.verdict.approve"] is approve
    assert approve.shortcut().toString(QKeySequence.SequenceFormat.PortableText) == "Alt+1"
    assert [s.toString() for s in actions["playback.mark_in"].shortcuts()] == ["I", "E"]
    fired: list[str] = []
    connect(
        actions, {"playback.step_back_10": lambda: fired.append("back10"), "edit.redo": lambda: fired.append("redo")}
    )
    timeline.setFocus()
    qtbot.keyClick(timeline, Qt.Key.Key_1)
    qtbot.keyClick(timeline, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert fired == ["back10", "redo"]


def test_scopes_keep_one_key_for_two_views(qtbot: QtBot) -> None:
    window, timeline, graph = _window(qtbot)
    actions = bind(REGISTRY, load_keymap("avid", REGISTRY), window)  # F: clear out (timeline) and fit (graph)
    attach_scope(actions, REGISTRY, "timeline", timeline)
    attach_scope(actions, REGISTRY, "graph", graph)
    assert actions["graph.fit"] not in window.actions()
    assert actions["graph.fit"] in graph.actions()
    fired: list[str] = []
    connect(actions, {"graph.fit": lambda: fired.append("fit"), "playback.clear_out": lambda: fired.append("clear")})
    graph.setFocus()
    qtbot.keyClick(graph, Qt.Key.Key_F)
    timeline.setFocus()
    qtbot.keyClick(timeline, Qt.Key.Key_F)
    assert fired == ["fit", "clear"]


def test_enabled_state_follows_predicates(qtbot: QtBot) -> None:
    window, _timeline, _graph = _window(qtbot)
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    update_enabled(actions, REGISTRY, lambda name: name == "can_undo")
    assert actions["edit.undo"].isEnabled()
    assert not actions["edit.redo"].isEnabled()
    assert actions["app.quit"].isEnabled()  # `always`


def test_menus_are_views_of_the_registry(qtbot: QtBot) -> None:
    window, _timeline, _graph = _window(qtbot)
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    menus = build_menus(window.menuBar(), REGISTRY, actions)
    assert list(menus) == list(REGISTRY.categories())
    assert actions["playback.mark_in"] in menus["Playback"].actions()
    assert [a.text() for a in window.menuBar().actions()][:3] == ["Application", "View", "Playback"]


def test_corrupt_keymap_falls_back_with_a_visible_warning(qtbot: QtBot, tmp_path: Path) -> None:
    folder = tmp_path / "keymaps"
    shutil.copytree(bundled_keymaps_dir(), folder)
    data = json.loads((folder / "premiere.json").read_text(encoding="utf-8"))
    data["bindings"]["review.verdict.approve"] = ["M"]  # M is Premiere's Add Marker
    (folder / "premiere.json").write_text(json.dumps(data), encoding="utf-8")
    window, _timeline, _graph = _window(qtbot)
    choice = choose_keymap("premiere", REGISTRY, [folder])
    actions = bind(REGISTRY, choice.keymap, window)
    window.statusBar().showMessage(" ".join(choice.warnings))
    shown = window.statusBar().currentMessage()
    assert "premiere.json: M is bound to both 'review.verdict.approve' and 'review.add_marker'" in shown
    assert actions["review.verdict.approve"].shortcut().toString() == "1"  # the default keymap is in force
