"""The window's keymap: a preset with the person's own overrides on top, switched live.

The preset and the overrides are per-user settings that roam between workstations; applying them
rebinds the existing QActions in place, so menus, tooltips and the palette follow at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtGui import QAction

from x121_desktop.actions.keymap import Keymap, choose_keymap
from x121_desktop.actions.overrides import Overrides, apply_overrides, overrides_document, overrides_from_setting
from x121_desktop.actions.registry import ActionRegistry
from x121_desktop.services.preferences import KEYMAP_KEY, KEYMAP_OVERRIDES_KEY
from x121_desktop.ui.actions_qt import rebind


class WindowKeymap:
    def __init__(self, registry: ActionRegistry, preset_name: str) -> None:
        self._registry = registry
        choice = choose_keymap(preset_name, registry)
        self.preset: Keymap = choice.keymap
        self.overrides: dict[str, tuple[str, ...]] = {}
        self.effective: Keymap = choice.keymap
        #: sentences from building the first keymap (a broken preset file, say), for the window to post
        self.warnings: tuple[str, ...] = choice.warnings
        self._actions: Mapping[str, QAction] = {}

    def attach(self, actions: Mapping[str, QAction]) -> None:
        self._actions = actions

    def apply(self, preset_name: str, overrides: Overrides) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Switch to the preset with these overrides.

        Returns (problems, notices): problems are a broken preset file and the like; notices say which keys
        the person's own shortcuts took from other commands (worth saying when they change, not every start).
        """
        choice = choose_keymap(preset_name, self._registry)
        effective, notices = apply_overrides(choice.keymap, overrides, self._registry)
        self.preset, self.overrides, self.effective = choice.keymap, dict(overrides), effective
        if self._actions:
            rebind(self._actions, self._registry, effective)
        return choice.warnings, notices

    def restore(self, saved: Mapping[str, Any]) -> tuple[str, ...]:
        """Apply what the user saved (settings rows under `ui.`); the problems found, in sentences."""
        preset = saved.get(KEYMAP_KEY)
        raw = saved.get(KEYMAP_OVERRIDES_KEY)
        if not isinstance(preset, str) and raw is None:
            return ()
        overrides, problems = overrides_from_setting(raw, self._registry)
        warnings, _taken = self.apply(preset if isinstance(preset, str) else self.preset.name, overrides)
        return (*problems, *warnings)

    def settings(self) -> dict[str, object]:
        """What to save so that `restore` gives back this keymap."""
        return {KEYMAP_KEY: self.preset.name, KEYMAP_OVERRIDES_KEY: overrides_document(self.overrides)}
