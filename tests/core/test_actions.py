"""Action registry, key sequences, keymap presets, conflicts, overrides and the palette's ranking (no Qt)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from x121_desktop.actions import (
    Action,
    ActionRegistry,
    PaletteEntity,
    RecentItems,
    build_registry,
    choose_keymap,
    find_conflicts,
    load_keymap,
    rank,
)
from x121_desktop.actions.fuzzy import fuzzy_score
from x121_desktop.actions.keymap import bundled_keymaps_dir
from x121_desktop.actions.keys import KeySyntaxError, is_prefix, normalize_sequence
from x121_desktop.actions.overrides import (
    apply_overrides,
    load_overrides,
    overrides_between,
    overrides_json,
    save_overrides,
)
from x121_desktop.actions.palette_model import action_items, entity_items
from x121_desktop.core.errors import ConfigError

REGISTRY = build_registry()


@pytest.fixture
def keymap_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "keymaps"
    shutil.copytree(bundled_keymaps_dir(), folder)
    return folder


def _edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


# ---------------------------------------------------------------- registry


def test_catalogue_has_the_ids_later_issues_rely_on() -> None:
    for action_id in (
        "app.quit", "app.command_palette", "view.focus_mode", "view.theme.next", "playback.play_pause",
        "playback.shuttle_forward", "playback.shuttle_reverse", "playback.stop", "playback.step_forward",
        "playback.step_back", "playback.mark_in", "playback.mark_out", "playback.next_seam", "playback.prev_seam",
        "review.verdict.approve", "review.verdict.reject", "review.verdict.flag", "take.approve",
        "segment.regenerate", "segment.heal", "scene.generate", "job.cancel", "edit.undo", "edit.redo",
        "graph.add_node", "graph.fit",
    ):  # fmt: skip
        assert action_id in REGISTRY, action_id
    assert REGISTRY.get("graph.add_node").scope == "graph"
    assert REGISTRY.get("playback.shuttle_reverse").default_keys == ("J",)
    menus = REGISTRY.categories()
    assert next(iter(menus)) == "Application"
    assert "Playback" in menus
    assert "Graph" in menus


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Action("Play", "Play", "Playback"), "dotted lower_snake"),
        (Action("play.x", "Play", "Playback", scope="sidebar"), "unknown scope"),
        (Action("play.x", "Play", "Playback", enabled_when="is_friday"), "unknown predicate"),
        (Action("play.x", "Play", "Playback", default_keys=("ctrl+p",)), "write 'ctrl.p' as 'Ctrl.P'"),
        (Action("play.x", " ", "Playback"), "needs a title"),
    ],
)
def test_registry_refuses_bad_declarations(action: Action, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ActionRegistry([action])


def test_registry_refuses_duplicates_and_evaluates_predicates() -> None:
    registry = ActionRegistry([Action("a.b", "A", "X", enabled_when="can_undo")])
    with pytest.raises(ValueError, match="declared twice"):
        registry.register(Action("a.b", "A again", "X"))
    assert registry.is_enabled("a.b", lambda name: name == "can_undo")
    assert not registry.is_enabled("a.b", lambda name: False)
    with pytest.raises(KeyError, match=r"no action 'z\.z'"):
        registry.get("z.z")


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("shift+ctrl+z", "Ctrl+Shift+Z"),
        ("Cmd+K", "Ctrl+K"),
        ("option+1", "Alt+1"),
        ("Ctrl+K, ctrl+s", "Ctrl+K, Ctrl+S"),
        ("Ctrl+,", "Ctrl+,"),
        (",", ","),
        ("Escape", "Esc"),
        ("PageDown", "PgDown"),
        ("←", "Left"),
        ("f12", "F12"),
        ("meta+ctrl+alt+shift+x", "Meta+Ctrl+Alt+Shift+X"),
    ],
)
def test_key_sequences_normalise_to_qt_portable_text(text: str, canonical: str) -> None:
    assert normalize_sequence(text) == canonical


@pytest.mark.parametrize("text", ["", "Ctrl+", "Hyper+K", "Ctrl+Ctrl+K", "Ctrl+Blah", "A, B, C, D, E"])
def test_unreadable_key_sequences_say_why(text: str) -> None:
    with pytest.raises(KeySyntaxError):
        normalize_sequence(text)


_MODS = st.lists(st.sampled_from(["ctrl", "Shift", "ALT", "meta", "cmd", "option"]), unique=True, max_size=3)
_KEY = st.sampled_from(["a", "Z", "7", "F5", "space", "left", "pgup", "/", "[", "`", "Escape", "Del"])


@given(st.lists(st.tuples(_MODS, _KEY), min_size=1, max_size=4))
def test_normalisation_is_idempotent(chords: list[tuple[list[str], str]]) -> None:
    mods_unique = [(sorted({m.lower().replace("cmd", "ctrl").replace("option", "alt") for m in mods}), key)
                   for mods, key in chords]  # fmt: skip
    text = ", ".join("+".join([*mods, key]) for mods, key in mods_unique)
    once = normalize_sequence(text)
    assert normalize_sequence(once) == once
    assert is_prefix(once.split(", ")[0], once) == (len(chords) > 1)


# ---------------------------------------------------------------- keymaps and conflicts


def test_conflict_reports_both_action_ids() -> None:
    conflicts = find_conflicts({"edit.undo": ["Ctrl+S"], "app.quit": ["Ctrl+S"]}, REGISTRY)
    assert len(conflicts) == 1
    assert conflicts[0].text == "Ctrl+S is bound to both 'edit.undo' and 'app.quit'"


def test_chord_prefix_is_a_conflict() -> None:
    conflicts = find_conflicts({"app.preferences": ["Ctrl+K, Ctrl+S"], "app.command_palette": ["Ctrl+K"]}, REGISTRY)
    assert len(conflicts) == 1
    assert "'app.command_palette'" in conflicts[0].text
    assert "'app.preferences'" in conflicts[0].text


def test_scopes_decide_what_can_clash() -> None:
    # F fits the graph in the node editor and clears the out point on the timeline: never both live.
    assert find_conflicts({"graph.fit": ["F"], "playback.clear_out": ["F"]}, REGISTRY) == []
    # A window-wide action clashes with every scope.
    assert len(find_conflicts({"app.quit": ["F"], "graph.fit": ["F"]}, REGISTRY)) == 1


def test_preset_with_a_conflict_falls_back_with_both_ids_and_the_file(keymap_dir: Path) -> None:
    _edit(keymap_dir / "avid.json", lambda d: d["bindings"].__setitem__("review.verdict.approve", ["1"]))
    with pytest.raises(ConfigError) as err:
        load_keymap("avid", REGISTRY, [keymap_dir])
    assert "avid.json: 1 is bound to both 'playback.step_back_10' and 'review.verdict.approve'" in err.value.sentence
    choice = choose_keymap("avid", REGISTRY, [keymap_dir])
    assert choice.keymap.name == "default"
    assert len(choice.warnings) == 1
    assert "avid.json" in choice.warnings[0]
    assert "'default'" in choice.warnings[0]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["bindings"].__setitem__("playback.warp", ["W"]), "key 'bindings.playback.warp' names unknown"),
        (lambda d: d["bindings"].__setitem__("playback.stop", "K"), "key 'bindings.playback.stop' must be a list"),
        (lambda d: d["bindings"].__setitem__("playback.stop", ["Ctrl+Blah"]), "'Blah' is not a key name"),
        (lambda d: d["bindings"].__setitem__("playback.stop", ["k", "K"]), "lists K twice"),
        (lambda d: d.__setitem__("base", "fcp"), "key 'base' names keymap 'fcp'"),
        (lambda d: d.__setitem__("schema", "x"), "key 'schema' must be 'x121.keymap'"),
        (lambda d: d.pop("source"), "key 'source' must be a non-empty string"),
    ],
)
def test_bad_keymap_files_name_file_and_key(keymap_dir: Path, change: Any, expected: str) -> None:
    path = keymap_dir / "premiere.json"
    _edit(path, change)
    with pytest.raises(ConfigError) as err:
        load_keymap(path.stem, REGISTRY, [keymap_dir])
    assert f"{path.name}: " in err.value.sentence
    assert expected in err.value.sentence


def test_a_cycle_of_bases_is_refused(keymap_dir: Path) -> None:
    _edit(keymap_dir / "default.json", lambda d: d.__setitem__("base", "premiere"))
    with pytest.raises(ConfigError) as err:
        load_keymap("default", REGISTRY, [keymap_dir])
    assert "premiere.json: key 'base' ('default') makes a cycle of keymaps" in err.value.sentence


def test_corrupt_json_keymap_falls_back(keymap_dir: Path) -> None:
    (keymap_dir / "resolve.json").write_text("{ not json", encoding="utf-8")
    choice = choose_keymap("resolve", REGISTRY, [keymap_dir])
    assert choice.keymap.name == "default"
    assert "resolve.json: is not valid JSON" in choice.warnings[0]


def test_switching_presets_rebinds_without_code() -> None:
    default, avid = load_keymap("default", REGISTRY), load_keymap("avid", REGISTRY)
    assert default.keys_for("review.verdict.approve") == ("1",)
    assert avid.keys_for("review.verdict.approve") == ("Alt+1",)
    assert avid.actions_for("1") == ("playback.step_back_10",)
    assert avid.keys_for("edit.redo") == ("Ctrl+R",)
    assert load_keymap("premiere", REGISTRY).keys_for("playback.step_forward_5") == ("Shift+Right",)
    assert load_keymap("resolve", REGISTRY).keys_for("playback.step_forward_second") == ("Shift+Right",)
    assert "playback.loop" not in avid.bindings  # unbound with []


# ---------------------------------------------------------------- user overrides


def test_override_takes_a_key_and_names_both_ids() -> None:
    keymap = load_keymap("default", REGISTRY)
    merged, notices = apply_overrides(keymap, {"take.approve": ("Ctrl+Q",)}, REGISTRY)
    assert merged.keys_for("take.approve") == ("Ctrl+Q",)
    assert merged.keys_for("app.quit") == ()
    assert notices == ("Ctrl+Q: your override for 'take.approve' takes it from 'app.quit'.",)
    assert find_conflicts(merged.bindings, REGISTRY) == []
    assert keymap.keys_for("app.quit") == ("Ctrl+Q",)  # the preset itself is unchanged


def test_two_overrides_on_one_key_keep_the_first() -> None:
    keymap = load_keymap("default", REGISTRY)
    merged, notices = apply_overrides(keymap, {"take.approve": ("F9",), "segment.heal": ("F9",)}, REGISTRY)
    assert merged.keys_for("take.approve") == ("F9",)
    assert merged.keys_for("segment.heal") == ()
    assert "F9 stays with 'take.approve'" in notices[0]


def test_overrides_save_load_and_diff(tmp_path: Path) -> None:
    keymap = load_keymap("default", REGISTRY)
    edited = {"take.approve": ("F9",), "edit.undo": ("Ctrl+Z",)}
    changed = overrides_between(keymap, edited)
    assert changed == {"take.approve": ("F9",)}
    path = tmp_path / "deep" / "overrides.json"
    save_overrides(path, changed)
    loaded, warning = load_overrides(path, REGISTRY)
    assert warning is None
    assert loaded == changed
    assert json.loads(overrides_json(changed))["schema"] == "x121.keymap-overrides"
    assert load_overrides(tmp_path / "none.json", REGISTRY) == ({}, None)
    path.write_text('{"schema": "x121.keymap-overrides", "version": 1, "bindings": {"nope.x": []}}')
    ignored, warning = load_overrides(path, REGISTRY)
    assert ignored == {}
    assert warning is not None
    assert "overrides.json" in warning
    assert "unknown action 'nope.x'" in warning


# ---------------------------------------------------------------- fuzzy matching and the palette


def test_fuzzy_prefers_word_starts_and_rejects_non_matches() -> None:
    assert fuzzy_score("xyz", "Play / pause") is None
    assert fuzzy_score("", "anything") == 0.0
    play = fuzzy_score("play", "Play / pause")
    assert play is not None
    scattered = fuzzy_score("play", "Replay all layers")
    assert scattered is not None
    assert play > scattered
    approve = fuzzy_score("ap", "Approve take (final)")
    verdict = fuzzy_score("ap", "Verdict: approve")
    assert approve is not None
    assert verdict is not None
    assert approve > verdict


ENTITIES = [
    PaletteEntity("character", "c1", "Mara Quill", "3 seeds"),
    PaletteEntity("scene", "s7", "Rooftop chase", "Mara Quill · 12 segments"),
    PaletteEntity("segment", "g42", "Rooftop chase #4", "seam 4→5 needs review"),
    PaletteEntity("workflow", "w1", "Wan 2.2 i2v", "14B"),
]


def _items() -> list[Any]:
    keymap = load_keymap("default", REGISTRY)
    return action_items(REGISTRY, keymap.keys_for) + entity_items(ENTITIES)


def test_palette_finds_actions_and_entities() -> None:
    items = _items()
    assert rank("regen", items, ())[0].ref == "segment.regenerate"
    assert rank("play pause", items, ())[0].ref == "playback.play_pause"
    assert rank("rooftop", items, ())[0].kind in {"scene", "segment"}
    top = rank("mara", items, ())[0]
    assert (top.kind, top.ref, top.title) == ("character", "c1", "Mara Quill")
    assert rank("wan", items, ())[0].key == "workflow:w1"
    undo = next(i for i in items if i.ref == "edit.undo")
    assert undo.shortcut == "Ctrl+Z"
    assert undo.subtitle == "Edit"
    assert all(i.ref != "app.command_palette" for i in items)


def test_recent_items_come_first_and_get_a_boost() -> None:
    items = _items()
    recent = RecentItems().touched("scene:s7").touched("action:segment.heal")
    assert recent.keys == ("action:segment.heal", "scene:s7")
    empty = rank("", items, recent.keys)
    assert [i.key for i in empty[:2]] == ["action:segment.heal", "scene:s7"]
    plain = [i.key for i in rank("s", items, ())]
    boosted = [i.key for i in rank("s", items, recent.keys)]
    assert boosted.index("scene:s7") < plain.index("scene:s7")
    assert RecentItems(capacity=2).touched("a").touched("b").touched("c").keys == ("c", "b")


def test_prefixes_filter_kinds_and_disabled_rank_lower() -> None:
    items = _items()
    assert all(i.kind == "action" for i in rank(">r", items, ()))
    assert all(i.kind != "action" for i in rank("@r", items, ()))
    enabled = action_items(REGISTRY, lambda _a: (), lambda action_id: action_id != "segment.heal")
    assert not next(i for i in enabled if i.ref == "segment.heal").enabled
    assert rank("heal", enabled, ())[0].ref == "segment.heal"  # still found, just ranked lower
    with pytest.raises(ValueError, match="kind 'shot'"):
        PaletteEntity("shot", "1", "x")
