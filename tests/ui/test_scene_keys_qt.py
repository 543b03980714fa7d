"""In a real window, each scene and segment key fires its action and no other, in every shipped preset."""

from __future__ import annotations

from functools import partial

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget
from pytestqt.qtbot import QtBot

from tests.architecture.test_scene_keys import PRESETS, SCENE_KEYS
from x121_desktop.actions import build_registry, load_keymap
from x121_desktop.ui.actions_qt import bind, connect

REGISTRY = build_registry()
M = Qt.KeyboardModifier
PRESSES = {
    "scene.new": (Qt.Key.Key_N, M.ControlModifier),
    "scene.cancel_generation": (Qt.Key.Key_Period, M.ControlModifier | M.AltModifier),
    "scene.assemble": (Qt.Key.Key_E, M.ControlModifier | M.ShiftModifier),
    "segment.analyze": (Qt.Key.Key_C, M.ControlModifier | M.ShiftModifier),
    "segment.lock": (Qt.Key.Key_K, M.ControlModifier | M.ShiftModifier),
}


@pytest.mark.parametrize("name", PRESETS)
def test_each_scene_key_fires_its_action(qtbot: QtBot, name: str) -> None:
    assert set(PRESSES) == set(SCENE_KEYS)
    window = QMainWindow()
    qtbot.addWidget(window)
    view = QWidget(window)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    window.setCentralWidget(view)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    actions = bind(REGISTRY, load_keymap(name, REGISTRY), window)
    fired: list[str] = []
    connect(actions, {a: partial(fired.append, a) for a in REGISTRY.ids()})
    view.setFocus()
    for action_id, (key, modifiers) in PRESSES.items():
        qtbot.keyClick(view, key, modifiers)
        assert fired == [action_id], (name, action_id)
        fired.clear()
