"""The scene and segment actions' default keys resolve to exactly that action in every shipped preset."""

from __future__ import annotations

import pytest

from x121_desktop.actions import build_registry, find_conflicts, load_keymap

REGISTRY = build_registry()
PRESETS = ("default", "premiere", "resolve", "avid")
SCENE_KEYS = {
    "scene.new": "Ctrl+N",
    "scene.cancel_generation": "Ctrl+Alt+.",
    "scene.assemble": "Ctrl+Shift+E",
    "segment.analyze": "Ctrl+Shift+C",
    "segment.lock": "Ctrl+Shift+K",
}


@pytest.mark.parametrize("name", PRESETS)
def test_each_scene_key_belongs_to_its_action_alone(name: str) -> None:
    keymap = load_keymap(name, REGISTRY)
    assert find_conflicts(keymap.bindings, REGISTRY) == []
    for action_id, key in SCENE_KEYS.items():
        assert keymap.keys_for(action_id) == (key,), (name, action_id)
        assert keymap.actions_for(key) == (action_id,), (name, key)
    assert keymap.keys_for("job.cancel") == ("Ctrl+.",)  # one job; Ctrl+Alt+. widens it to the scene


def test_the_scene_keys_are_the_catalogue_hints() -> None:
    for action_id, key in SCENE_KEYS.items():
        assert REGISTRY.get(action_id).default_keys == (key,)
