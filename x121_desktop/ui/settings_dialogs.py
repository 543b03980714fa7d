"""Preferences (Ctrl+,), Keyboard shortcuts (Ctrl+Alt+K) and the theme/keymap choosers, wired to a window.

Choices apply live and are remembered in the user's settings rows (they roam between workstations),
in one transaction per choice. A dialog cancelled changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QPushButton, QWidget

from x121_desktop.actions.keymap import Keymap, available_keymaps, load_keymap
from x121_desktop.actions.overrides import Overrides
from x121_desktop.core.errors import ConfigError
from x121_desktop.services.preferences import THEME_KEY
from x121_desktop.ui.panels.notifications import Level
from x121_desktop.ui.shortcuts_dialog import ShortcutsDialog

if TYPE_CHECKING:
    from x121_desktop.ui.main_window import MainWindow


class PreferencesDialog(QDialog):
    def __init__(
        self,
        themes: list[str],
        theme: str | None,
        presets: Mapping[str, str],
        preset: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("PreferencesDialog")
        self.setWindowTitle("Preferences")
        self.theme_box = QComboBox(self)
        for name in themes:
            self.theme_box.addItem(name.replace("-", " ").title(), name)
        self.theme_box.setEnabled(bool(themes))
        if theme is not None:
            self.theme_box.setCurrentIndex(max(0, self.theme_box.findData(theme)))
        self.keymap_box = QComboBox(self)
        for name, title in presets.items():
            self.keymap_box.addItem(title, name)
        self.keymap_box.setCurrentIndex(max(0, self.keymap_box.findData(preset)))
        self.shortcuts_button = QPushButton("Keyboard shortcuts…", self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("&Theme", self.theme_box)
        form.addRow("&Keymap preset", self.keymap_box)
        form.addRow("", self.shortcuts_button)
        form.addRow(buttons)

    @property
    def theme(self) -> str | None:
        data = self.theme_box.currentData()
        return str(data) if data is not None else None

    @property
    def preset(self) -> str:
        return str(self.keymap_box.currentData())


class WindowSettings:
    """The window's side of the settings dialogs: open them, apply what was chosen, remember it."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window

    def presets(self) -> dict[str, str]:
        """Preset name → title; a preset whose file is broken is listed by name (choosing it says why)."""
        out: dict[str, str] = {}
        for name in available_keymaps():
            try:
                out[name] = load_keymap(name, self._window.registry).title or name
            except ConfigError:
                out[name] = name
        return out

    def open_preferences(self) -> PreferencesDialog:
        w = self._window
        themes = w.themes
        dialog = PreferencesDialog(
            themes.names() if themes is not None else [],
            themes.current if themes is not None else None,
            self.presets(),
            w.keymaps.preset.name,
            w,
        )

        def shortcuts_instead() -> None:
            dialog.reject()
            self.open_shortcuts()

        dialog.shortcuts_button.clicked.connect(shortcuts_instead)
        dialog.accepted.connect(lambda: self._preferences_chosen(dialog))
        dialog.open()
        return dialog

    def open_shortcuts(self) -> ShortcutsDialog:
        w = self._window
        dialog = ShortcutsDialog(
            w.registry, self.presets(), self._load, w.keymaps.preset, w.keymaps.overrides, parent=w
        )
        dialog.accepted.connect(lambda: self.set_keymap(dialog.preset_name, dialog.overrides))
        dialog.open()
        return dialog

    def set_keymap(self, preset: str, overrides: Overrides) -> None:
        w = self._window
        problems, notices = w.keymaps.apply(preset, overrides)
        for problem in problems:
            w.notifier.post(Level.WARNING, problem)
        for notice in notices:
            w.notifier.post(Level.INFO, notice)
        w.tasks.spawn(w.services.preferences.set_many(w.keymaps.settings()), what="remember your shortcuts")

    def set_theme(self, name: str) -> None:
        w = self._window
        if w.themes is None or name == w.themes.current:
            return
        choice = w.themes.switch_to(name)
        w.tasks.spawn(w.services.preferences.set(THEME_KEY, choice.theme.name), what="remember your theme")

    def _preferences_chosen(self, dialog: PreferencesDialog) -> None:
        if dialog.theme is not None:
            self.set_theme(dialog.theme)
        if dialog.preset != self._window.keymaps.preset.name:
            self.set_keymap(dialog.preset, self._window.keymaps.overrides)

    def _load(self, name: str) -> Keymap:
        return load_keymap(name, self._window.registry)
