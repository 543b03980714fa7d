"""Editing shortcut overrides with undo, and reading them back from the roaming settings row (no Qt)."""

from __future__ import annotations

import pytest

from x121_desktop.actions import build_registry, load_keymap
from x121_desktop.actions.overrides import overrides_document, overrides_from_setting
from x121_desktop.actions.shortcut_edits import ShortcutEdits
from x121_desktop.core.errors import InvalidInput

REGISTRY = build_registry()


def test_a_key_taken_from_another_action_is_said_and_undo_gives_it_back() -> None:
    default = load_keymap("default", REGISTRY)
    assert default.keys_for("app.command_palette") == ("Ctrl+K",)
    edits = ShortcutEdits(REGISTRY, default, {})

    assert edits.add_key("take.approve", "ctrl+k") == "Ctrl+K"

    assert edits.keys_for("take.approve") == ("Ctrl+Shift+Return", "Ctrl+K")
    assert edits.keys_for("app.command_palette") == ()
    assert edits.owners_of("Ctrl+K") == ("take.approve",)
    assert edits.overrides == {"take.approve": ("Ctrl+Shift+Return", "Ctrl+K")}
    assert edits.notices == ("Ctrl+K: your override for 'take.approve' takes it from 'app.command_palette'.",)

    edits.undo()
    assert edits.keys_for("app.command_palette") == ("Ctrl+K",)
    assert edits.overrides == {}
    assert edits.can_redo
    assert not edits.can_undo
    edits.redo()
    assert edits.keys_for("take.approve") == ("Ctrl+Shift+Return", "Ctrl+K")


def test_clear_reset_and_reset_all_only_keep_what_differs_from_the_preset() -> None:
    edits = ShortcutEdits(REGISTRY, load_keymap("default", REGISTRY), {})
    edits.clear("edit.undo")
    edits.add_key("take.use", "F9")
    assert edits.overrides == {"edit.undo": (), "take.use": ("F9",)}
    edits.reset("edit.undo")
    assert edits.overrides == {"take.use": ("F9",)}
    assert edits.keys_for("edit.undo") == ("Ctrl+Z",)
    edits.add_key("edit.undo", "Ctrl+Z")  # already its key: no edit, nothing saved
    assert edits.overrides == {"take.use": ("F9",)}
    edits.reset_all()
    assert edits.overrides == {}
    edits.undo()
    assert edits.overrides == {"take.use": ("F9",)}


def test_switching_preset_keeps_your_keys_and_undo_restores_the_preset() -> None:
    default = load_keymap("default", REGISTRY)
    premiere = load_keymap("premiere", REGISTRY)
    edits = ShortcutEdits(REGISTRY, default, {"take.use": ("F9",)})
    edits.switch_preset(premiere)
    assert edits.preset.name == "premiere"
    assert edits.keys_for("take.use") == ("F9",)
    edits.undo()
    assert edits.preset.name == "default"


def test_a_bad_key_is_refused_with_a_sentence_and_changes_nothing() -> None:
    edits = ShortcutEdits(REGISTRY, load_keymap("default", REGISTRY), {})
    with pytest.raises(InvalidInput, match="'Ctrl\\+Ctrl\\+K' is not a usable shortcut"):
        edits.add_key("take.use", "Ctrl+Ctrl+K")
    assert edits.overrides == {}
    assert not edits.can_undo


def test_overrides_round_trip_through_the_settings_value_and_unknown_actions_are_named() -> None:
    saved = overrides_document({"take.use": ("F9",), "edit.undo": ()})
    assert overrides_from_setting(saved, REGISTRY) == ({"take.use": ("F9",), "edit.undo": ()}, ())
    assert overrides_from_setting(None, REGISTRY) == ({}, ())

    newer = {**saved, "bindings": {"take.use": ["F9"], "future.thing": ["F10"]}}
    loaded, notices = overrides_from_setting(newer, REGISTRY)
    assert loaded == {"take.use": ("F9",)}
    assert notices == (
        "Your saved shortcuts name actions this version does not have (future.thing); those are skipped.",
    )

    broken, notices = overrides_from_setting({**saved, "version": 9}, REGISTRY)
    assert broken == {}
    assert "key 'version' is 9; this build reads 1" in notices[0]
    assert "Keyboard shortcuts" in notices[0]
