"""The command palette: keyboard only, finds actions and entities, recent items first."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMainWindow
from pytestqt.qtbot import QtBot

from x121_desktop.actions import PaletteEntity, build_registry, load_keymap
from x121_desktop.ui.actions_qt import bind, connect
from x121_desktop.ui.palette import CommandPalette

REGISTRY = build_registry()
KEYMAP = load_keymap("default", REGISTRY)
ENTITIES = (
    PaletteEntity("character", "c1", "Mara Quill", "3 seeds"),
    PaletteEntity("scene", "s7", "Rooftop chase", "Mara Quill · 12 segments"),
    PaletteEntity("segment", "g42", "Rooftop chase #4", "seam 4→5 needs review"),
    PaletteEntity("workflow", "w1", "Wan 2.2 i2v", "14B"),
)


def provider(query: str) -> Sequence[PaletteEntity]:
    return ENTITIES


def _setup(qtbot: QtBot) -> tuple[QMainWindow, dict[str, object], CommandPalette, list[str]]:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.resize(900, 600)
    actions = bind(REGISTRY, KEYMAP, window)
    palette = CommandPalette(REGISTRY, KEYMAP.keys_for, actions=actions, entities=provider, parent=window)
    fired: list[str] = []
    connect(
        actions, {"segment.regenerate": lambda: fired.append("regenerate"), "edit.redo": lambda: fired.append("redo")}
    )
    actions["app.command_palette"].triggered.connect(palette.open_palette)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return window, dict(actions), palette, fired


def test_ctrl_k_opens_and_typing_finds_an_action_enter_runs_it(qtbot: QtBot) -> None:
    window, _actions, palette, fired = _setup(qtbot)
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(palette.isVisible, timeout=2000)
    qtbot.waitUntil(palette.query.hasFocus, timeout=2000)  # keyboard goes straight to the query
    qtbot.keyClicks(palette.query, "regen")
    item = palette.current_item()
    assert item is not None
    assert item.ref == "segment.regenerate"
    with qtbot.waitSignal(palette.action_chosen, timeout=1000) as chosen:
        qtbot.keyClick(palette.query, Qt.Key.Key_Return)
    assert chosen.args == ["segment.regenerate"]
    assert fired == ["regenerate"]
    assert not palette.isVisible()


def test_entities_are_found_and_arrows_move(qtbot: QtBot) -> None:
    _window, _actions, palette, _fired = _setup(qtbot)
    palette.open_palette()
    qtbot.keyClicks(palette.query, "rooftop")
    titles = [palette.model.item(r).title for r in range(palette.model.rowCount())]  # type: ignore[union-attr]
    assert titles[:2] == ["Rooftop chase", "Rooftop chase #4"]
    qtbot.keyClick(palette.query, Qt.Key.Key_Down)
    item = palette.current_item()
    assert item is not None
    assert item.key == "segment:g42"
    qtbot.keyClick(palette.query, Qt.Key.Key_Up)
    qtbot.keyClick(palette.query, Qt.Key.Key_Up)  # stays on the first row
    assert palette.list.currentIndex().row() == 0
    with qtbot.waitSignal(palette.entity_chosen, timeout=1000) as chosen:
        qtbot.keyClick(palette.query, Qt.Key.Key_Enter)
    assert chosen.args == ["scene", "s7"]


def test_recent_items_come_first_next_time(qtbot: QtBot) -> None:
    _window, _actions, palette, _fired = _setup(qtbot)
    palette.open_palette()
    qtbot.keyClicks(palette.query, "mara")
    qtbot.keyClick(palette.query, Qt.Key.Key_Return)
    palette.open_palette()
    assert palette.query.text() == ""
    first = palette.current_item()
    assert first is not None
    assert first.key == "character:c1"
    assert palette.recent.keys == ("character:c1",)


def test_escape_closes_without_running_anything(qtbot: QtBot) -> None:
    _window, _actions, palette, fired = _setup(qtbot)
    palette.open_palette()
    qtbot.keyClicks(palette.query, "regen")
    qtbot.keyClick(palette.query, Qt.Key.Key_Escape)
    assert not palette.isVisible()
    assert fired == []


def test_disabled_actions_are_listed_but_not_run(qtbot: QtBot) -> None:
    _window, actions, palette, fired = _setup(qtbot)
    redo = actions["edit.redo"]
    redo.setEnabled(False)  # type: ignore[attr-defined]
    palette.open_palette()
    qtbot.keyClicks(palette.query, ">redo")
    item = palette.current_item()
    assert item is not None
    assert (item.ref, item.enabled) == ("edit.redo", False)
    qtbot.keyClick(palette.query, Qt.Key.Key_Return)
    assert palette.isVisible()
    assert fired == []
    image = palette.grab().toImage()  # the delegate paints title, category and shortcut
    assert not image.isNull()
    assert image.width() == palette.width()
