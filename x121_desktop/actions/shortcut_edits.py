"""Editing a person's shortcut overrides, with undo, before they are applied (the Keyboard shortcuts dialog).

Every edit replaces the whole overrides mapping, so undo and redo are snapshots, and what is shown is
always `apply_overrides(preset, overrides)`: the same merge the window will run, notices included.
"""

from __future__ import annotations

from x121_desktop.actions.keymap import Keymap
from x121_desktop.actions.keys import KeySyntaxError, normalize_sequence
from x121_desktop.actions.overrides import Overrides, apply_overrides, overrides_between
from x121_desktop.actions.registry import ActionRegistry
from x121_desktop.core.errors import InvalidInput

Bindings = dict[str, tuple[str, ...]]
_State = tuple[Keymap, Bindings]


class ShortcutEdits:
    def __init__(self, registry: ActionRegistry, preset: Keymap, overrides: Overrides) -> None:
        self._registry = registry
        self._preset = preset
        self._overrides: Bindings = dict(overrides)
        self._undo: list[_State] = []
        self._redo: list[_State] = []
        self._refresh()

    # ------------------------------------------------------------ what is shown

    @property
    def preset(self) -> Keymap:
        return self._preset

    @property
    def overrides(self) -> Bindings:
        """Only the actions whose keys differ from the preset: what is worth saving."""
        return overrides_between(self._preset, self._overrides)

    @property
    def effective(self) -> Keymap:
        return self._effective

    @property
    def notices(self) -> tuple[str, ...]:
        """What the overrides take from other actions (or cannot take), in sentences."""
        return self._notices

    def keys_for(self, action_id: str) -> tuple[str, ...]:
        return self._effective.keys_for(action_id)

    def is_overridden(self, action_id: str) -> bool:
        return action_id in self.overrides

    def owners_of(self, sequence: str) -> tuple[str, ...]:
        """Actions that press of `sequence` would trigger now (for 'already used by …' before assigning)."""
        return self._effective.actions_for(sequence)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # ------------------------------------------------------------ edits

    def switch_preset(self, preset: Keymap) -> None:
        """Your own shortcuts stay on top of whichever preset is chosen."""
        self._edit(self._overrides, preset)

    def add_key(self, action_id: str, sequence: str) -> str:
        """Give the action one more key; returns the canonical spelling. Raises InvalidInput for a bad key."""
        self._registry.get(action_id)
        seq = _canonical(sequence)
        keys = self.keys_for(action_id)
        if seq not in keys:
            self._edit({**self._overrides, action_id: (*keys, seq)})
        return seq

    def remove_key(self, action_id: str, sequence: str) -> None:
        keys = tuple(k for k in self.keys_for(action_id) if k != sequence)
        self._edit({**self._overrides, self._registry.get(action_id).id: keys})

    def clear(self, action_id: str) -> None:
        self._edit({**self._overrides, self._registry.get(action_id).id: ()})

    def reset(self, action_id: str) -> None:
        """Back to the preset's keys for this action."""
        self._edit({k: v for k, v in self._overrides.items() if k != action_id})

    def reset_all(self) -> None:
        self._edit({})

    def undo(self) -> None:
        if self._undo:
            self._redo.append((self._preset, self._overrides))
            self._preset, self._overrides = self._undo.pop()
            self._refresh()

    def redo(self) -> None:
        if self._redo:
            self._undo.append((self._preset, self._overrides))
            self._preset, self._overrides = self._redo.pop()
            self._refresh()

    # ------------------------------------------------------------ internals

    def _edit(self, overrides: Bindings, preset: Keymap | None = None) -> None:
        self._undo.append((self._preset, self._overrides))
        self._redo.clear()
        self._preset = preset if preset is not None else self._preset
        self._overrides = overrides
        self._refresh()

    def _refresh(self) -> None:
        self._effective, self._notices = apply_overrides(self._preset, self.overrides, self._registry)


def _canonical(sequence: str) -> str:
    try:
        return normalize_sequence(sequence)
    except KeySyntaxError as exc:
        raise InvalidInput(f"'{sequence}' is not a usable shortcut: {exc}", "Press another key combination") from None
