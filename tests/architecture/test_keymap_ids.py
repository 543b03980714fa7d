"""Every keymap preset binds only registered actions, has no conflicts, and documents its source."""

from __future__ import annotations

import json

import pytest

from x121_desktop.actions import build_registry, find_conflicts, load_keymap
from x121_desktop.actions.keymap import available_keymaps, bundled_keymaps_dir

REGISTRY = build_registry()
PRESETS = ("default", "premiere", "resolve", "avid")


def test_the_four_presets_are_shipped() -> None:
    assert set(PRESETS) <= set(available_keymaps())


@pytest.mark.parametrize("name", PRESETS)
def test_preset_binds_only_registered_actions_without_conflicts(name: str) -> None:
    raw = json.loads((bundled_keymaps_dir() / f"{name}.json").read_text(encoding="utf-8"))
    assert set(raw["bindings"]) <= set(REGISTRY.ids()), set(raw["bindings"]) - set(REGISTRY.ids())
    keymap = load_keymap(name, REGISTRY)  # raises on unknown ids, bad keys or conflicts
    assert find_conflicts(keymap.bindings, REGISTRY) == []
    assert set(keymap.bindings) <= set(REGISTRY.ids())


@pytest.mark.parametrize("name", PRESETS)
def test_preset_keeps_the_editing_conventions(name: str) -> None:
    keymap = load_keymap(name, REGISTRY)
    expected = {
        "playback.shuttle_reverse": "J",
        "playback.stop": "K",
        "playback.shuttle_forward": "L",
        "playback.mark_in": "I",
        "playback.mark_out": "O",
        "playback.play_pause": "Space",
        "playback.step_back": "Left",
        "playback.step_forward": "Right",
        "playback.go_to_start": "Home",
        "playback.go_to_end": "End",
        "playback.prev_seam": "Up",
        "playback.next_seam": "Down",
        "review.add_marker": "M",
        "app.command_palette": "Ctrl+K",
        "edit.undo": "Ctrl+Z",
    }
    for action_id, key in expected.items():
        assert key in keymap.keys_for(action_id), (name, action_id)
    shift_right = keymap.actions_for("Shift+Right")
    if name != "avid":  # Avid steps ten frames with 1/2 and leaves Shift+arrows alone
        assert len(shift_right) == 1
        assert shift_right[0].startswith("playback.step_forward_")


@pytest.mark.parametrize("name", PRESETS)
def test_preset_documents_what_it_mirrors_and_where_it_differs(name: str) -> None:
    source = load_keymap(name, REGISTRY).source
    assert len(source) > 300
    if name != "default":
        assert "Differences:" in source


def test_default_keymap_agrees_with_the_registry_hints() -> None:
    """Each action is declared once: default.json must say exactly what catalog.py hints."""
    assert dict(load_keymap("default", REGISTRY).bindings) == REGISTRY.default_bindings()


def test_every_action_has_a_category_and_known_scope() -> None:
    ids = REGISTRY.ids()
    assert len(ids) == len(set(ids))
    assert len(ids) >= 80
