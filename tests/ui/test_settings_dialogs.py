"""Preferences and Keyboard shortcuts through the real window: keys recorded in the dialog apply live,
are saved in the user's settings row and come back in the next window; Cancel changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.services.preferences import KEYMAP_KEY, KEYMAP_OVERRIDES_KEY
from x121_desktop.ui.docks import WindowServices
from x121_desktop.ui.main_window import MainWindow

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]

WindowFactory = Callable[..., MainWindow]


def _started(loop: qasync.QEventLoop, window: MainWindow) -> MainWindow:
    window.show()
    run(loop, window.start())
    return window


def _saved(loop: qasync.QEventLoop, services: WindowServices, key: str, value: object) -> dict[str, object]:
    """The user's settings once `key` holds `value` (the window saves in the background)."""

    async def poll() -> dict[str, object]:
        while True:
            saved = await services.preferences.get_many("ui.")
            if saved.get(key) == value:
                return saved
            await asyncio.sleep(0.05)

    return run(loop, poll(), timeout=15.0)


def _shortcut(window: MainWindow, action_id: str) -> list[str]:
    return [s.toString(QKeySequence.SequenceFormat.PortableText) for s in window.qactions[action_id].shortcuts()]


def test_a_recorded_key_applies_live_is_saved_and_returns_in_the_next_window(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: WindowFactory,
) -> None:
    services = services_as("creator")
    window = _started(qloop, window_for(services))
    assert window.qactions["app.keyboard_shortcuts"].isEnabled()
    dialog = window.settings.open_shortcuts()

    qtbot.keyClicks(dialog.filter, "use this take")
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Down)
    assert dialog.selected_action() == "take.use"
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Return)  # Enter starts recording
    assert dialog.focusWidget() is dialog.recorder
    assert dialog.message.text().startswith("Press the new key combination")
    qtbot.keyClick(dialog.recorder, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    run(qloop, until(lambda: dialog.edits.keys_for("take.use") == ("Ctrl+K",), what="the recorded key"))
    assert "taken from “Command palette…”" in dialog.message.text()
    assert _shortcut(window, "take.use") == []  # nothing changes before OK

    dialog.accept()
    assert any("takes it from 'app.command_palette'" in n.text for n in window.notifier.items())
    assert _shortcut(window, "take.use") == ["Ctrl+K"]
    assert _shortcut(window, "app.command_palette") == []
    assert window.keymap.keys_for("take.use") == ("Ctrl+K",)
    saved = _saved(qloop, services, KEYMAP_KEY, "default")
    assert saved[KEYMAP_OVERRIDES_KEY] == {
        "schema": "x121.keymap-overrides",
        "version": 1,
        "bindings": {"take.use": ["Ctrl+K"]},  # the palette loses Ctrl+K by the merge, not by a saved row
    }

    later = _started(qloop, window_for(services))
    assert _shortcut(later, "take.use") == ["Ctrl+K"]
    assert not any("takes it from" in n.text for n in later.notifier.items())  # said when made, not every start
    assert _shortcut(later, "app.command_palette") == []


def test_cancel_changes_nothing_and_preferences_switch_the_preset(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: WindowFactory,
) -> None:
    services = services_as("creator")
    window = _started(qloop, window_for(services))
    dialog = window.settings.open_shortcuts()
    dialog.table.selectRow(0)
    action_id = dialog.selected_action()
    assert action_id is not None
    dialog.record("F9")
    dialog.reject()
    assert window.keymaps.overrides == {}
    assert "F9" not in _shortcut(window, action_id)

    prefs = window.settings.open_preferences()
    assert prefs.preset == "default"
    prefs.keymap_box.setCurrentIndex(prefs.keymap_box.findData("premiere"))
    prefs.accept()
    assert window.keymap.name == "premiere"
    assert _saved(qloop, services, KEYMAP_KEY, "premiere")[KEYMAP_KEY] == "premiere"
