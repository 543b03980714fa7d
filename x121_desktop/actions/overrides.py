"""A person's own shortcuts, merged on top of a keymap preset.

Overrides replace an action's key list. Where an override takes a key that the preset gave to
another action, the override wins and a notice names both ids, so nothing is silently ambiguous.
The file is `{"schema": "x121.keymap-overrides", "version": 1, "bindings": {...}}`; where it lives
(a file under the user's home, or the per-user settings row) is the caller's choice.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from x121_desktop.actions.keymap import Keymap, config_error, parse_bindings, read_json
from x121_desktop.actions.keys import is_prefix
from x121_desktop.actions.registry import ActionRegistry, scopes_overlap
from x121_desktop.core.errors import ConfigError

OVERRIDES_SCHEMA = "x121.keymap-overrides"
OVERRIDES_VERSION = 1

Overrides = Mapping[str, tuple[str, ...]]


def parse_overrides(path: Path, data: object, registry: ActionRegistry) -> dict[str, tuple[str, ...]]:
    if not isinstance(data, dict):
        raise config_error(path, "the top level must be a JSON object")
    if data.get("schema") != OVERRIDES_SCHEMA:
        raise config_error(path, f"key 'schema' must be '{OVERRIDES_SCHEMA}'")
    if data.get("version") != OVERRIDES_VERSION:
        raise config_error(path, f"key 'version' is {data.get('version')!r}; this build reads {OVERRIDES_VERSION}")
    return parse_bindings(path, data.get("bindings", {}), registry)


def load_overrides(path: Path, registry: ActionRegistry) -> tuple[dict[str, tuple[str, ...]], str | None]:
    """The saved overrides (none when the file does not exist), or none plus a warning naming the file."""
    if not path.exists():
        return {}, None
    try:
        return parse_overrides(path, read_json(path), registry), None
    except ConfigError as exc:
        return {}, f"{exc.problem}. Your shortcut overrides are ignored until the file is fixed."


def overrides_document(overrides: Overrides) -> dict[str, object]:
    """The overrides as plain JSON data (the file's body, and the per-user setting's value)."""
    return {
        "schema": OVERRIDES_SCHEMA,
        "version": OVERRIDES_VERSION,
        "bindings": {k: list(v) for k, v in overrides.items()},
    }


def overrides_json(overrides: Overrides) -> str:
    return json.dumps(overrides_document(overrides), indent=2, ensure_ascii=False) + "\n"


#: How a problem in the per-user setting is named in a sentence (it has no file).
SETTING_SOURCE = Path("your saved shortcuts")


def overrides_from_setting(
    data: object, registry: ActionRegistry
) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """The overrides stored in the user's settings row (none when absent), and sentences about problems.

    Settings roam between workstations, so a build may meet shortcuts saved by a newer one: actions it
    does not know are skipped and named; anything else malformed refuses the whole set with a sentence.
    """
    if data is None:
        return {}, ()
    notices: list[str] = []
    bindings = data.get("bindings") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(bindings, dict):
        unknown = sorted(k for k in bindings if k not in registry)
        if unknown:
            data = {**data, "bindings": {k: v for k, v in bindings.items() if k in registry}}
            notices.append(
                f"Your saved shortcuts name actions this version does not have ({', '.join(unknown)}); "
                "those are skipped."
            )
    try:
        return parse_overrides(SETTING_SOURCE, data, registry), tuple(notices)
    except ConfigError as exc:
        notices.append(f"{exc.problem}. They are ignored until you set your shortcuts again (Keyboard shortcuts…).")
        return {}, tuple(notices)


def save_overrides(path: Path, overrides: Overrides) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(overrides_json(overrides))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def overrides_between(preset: Keymap, edited: Overrides) -> dict[str, tuple[str, ...]]:
    """Only the actions whose keys differ from the preset (what is worth saving)."""
    return {action_id: keys for action_id, keys in edited.items() if tuple(keys) != preset.keys_for(action_id)}


def _clashes(seq: str, other: str) -> bool:
    return seq == other or is_prefix(seq, other) or is_prefix(other, seq)


def apply_overrides(keymap: Keymap, overrides: Overrides, registry: ActionRegistry) -> tuple[Keymap, tuple[str, ...]]:
    """The keymap with overrides on top, and one notice per key taken from (or refused to) another action."""
    bindings: dict[str, list[str]] = {k: list(v) for k, v in keymap.bindings.items()}
    notices: list[str] = []
    applied: list[str] = []
    for action_id, keys in overrides.items():
        if action_id not in registry:
            notices.append(f"Your shortcut override names unknown action '{action_id}'; it is ignored.")
            continue
        scope = registry.get(action_id).scope
        kept: list[str] = []
        for seq in keys:
            refused = False
            for other_id, other_keys in bindings.items():
                if other_id == action_id or not scopes_overlap(scope, registry.get(other_id).scope):
                    continue
                for other in [k for k in other_keys if _clashes(seq, k)]:
                    if other_id in applied:
                        notices.append(f"{seq} stays with '{other_id}' (your earlier override), not '{action_id}'.")
                        refused = True
                    else:
                        other_keys.remove(other)
                        notices.append(f"{seq}: your override for '{action_id}' takes it from '{other_id}'.")
            if not refused:
                kept.append(seq)
        bindings[action_id] = kept
        applied.append(action_id)
    merged = {k: tuple(v) for k, v in bindings.items() if v}
    return replace(keymap, bindings=MappingProxyType(merged)), tuple(notices)
