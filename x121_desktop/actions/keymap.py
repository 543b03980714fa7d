"""keymaps/*.json → validated Keymaps; conflict detection; fall back to `default` with a sentence.

A keymap file maps action ids to lists of key sequences. It may name a `base` keymap: it then
starts from the base and replaces the key list of each action it mentions (`[]` unbinds one).
A sequence bound to two actions whose scopes overlap is a conflict, and the message names both
ids: `keymaps/avid.json: 1 is bound to both 'playback.step_back_10' and 'review.verdict.approve'`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from x121_desktop.actions.keys import KeySyntaxError, is_prefix, normalize_sequence
from x121_desktop.actions.registry import ActionRegistry, scopes_overlap
from x121_desktop.core.bundled import DataTree, display_path, locate
from x121_desktop.core.errors import ConfigError

KEYMAP_SCHEMA = "x121.keymap"
KEYMAP_VERSION = 1
DEFAULT_KEYMAP = "default"
_FIX = "Fix the file, or choose another keymap preset"


def bundled_keymaps_dir() -> Path:
    """The installed package's `keymaps/`, else the checkout's (missing: no presets, and loading says so)."""
    return locate(DataTree.KEYMAPS).path


def config_error(path: Path, what: str, fix: str = _FIX) -> ConfigError:
    return ConfigError(f"{display_path(path)}: {what}", fix)


def read_json(path: Path) -> Any:
    """Decoded JSON, or ConfigError naming the file (unreadable, or not JSON with line and column)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise config_error(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise config_error(path, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two actions that one key press could both trigger."""

    sequence: str
    first: str
    second: str
    second_sequence: str

    @property
    def text(self) -> str:
        if self.sequence == self.second_sequence:
            return f"{self.sequence} is bound to both '{self.first}' and '{self.second}'"
        return (
            f"{self.sequence} ('{self.first}') is the start of {self.second_sequence} ('{self.second}'), "
            "so the longer one can never be typed"
        )


@dataclass(frozen=True, slots=True, eq=False)
class Keymap:
    """Resolved bindings: action id → canonical key sequences. Actions not listed have no shortcut."""

    name: str
    title: str
    source: str
    bindings: Mapping[str, tuple[str, ...]]
    path: Path | None = None

    def keys_for(self, action_id: str) -> tuple[str, ...]:
        return self.bindings.get(action_id, ())

    def actions_for(self, sequence: str) -> tuple[str, ...]:
        seq = normalize_sequence(sequence)
        return tuple(action_id for action_id, keys in self.bindings.items() if seq in keys)


@dataclass(frozen=True, slots=True)
class KeymapChoice:
    keymap: Keymap
    warnings: tuple[str, ...] = ()


def parse_bindings(
    path: Path, raw: object, registry: ActionRegistry, key: str = "bindings"
) -> dict[str, tuple[str, ...]]:
    """Validate a `bindings` object: registered ids, lists of readable, distinct key sequences."""
    if not isinstance(raw, dict):
        raise config_error(path, f"key '{key}' must be an object of action id → list of keys")
    out: dict[str, tuple[str, ...]] = {}
    for action_id, keys in raw.items():
        where = f"{key}.{action_id}"
        if action_id not in registry:
            raise config_error(path, f"key '{where}' names unknown action '{action_id}'")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise config_error(path, f"key '{where}' must be a list of key sequences like [\"Ctrl+K\"]")
        seqs: list[str] = []
        for text in keys:
            try:
                seq = normalize_sequence(text)
            except KeySyntaxError as exc:
                raise config_error(path, f"key '{where}': {exc}") from exc
            if seq in seqs:
                raise config_error(path, f"key '{where}' lists {seq} twice")
            seqs.append(seq)
        out[action_id] = tuple(seqs)
    return out


def find_conflicts(bindings: Mapping[str, Iterable[str]], registry: ActionRegistry) -> list[Conflict]:
    """Every pair of actions a key press could both trigger (same sequence, or a chord prefix)."""
    entries = [(seq, action_id, registry.get(action_id).scope) for action_id, keys in bindings.items() for seq in keys]
    found: list[Conflict] = []
    for i, (seq_a, id_a, scope_a) in enumerate(entries):
        for seq_b, id_b, scope_b in entries[i + 1 :]:
            if id_a == id_b or not scopes_overlap(scope_a, scope_b):
                continue
            if seq_a == seq_b or is_prefix(seq_a, seq_b):
                found.append(Conflict(seq_a, id_a, id_b, seq_b))
            elif is_prefix(seq_b, seq_a):
                found.append(Conflict(seq_b, id_b, id_a, seq_a))
    return found


def conflict_error(path: Path, conflicts: list[Conflict]) -> ConfigError:
    more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
    return config_error(path, conflicts[0].text + more, "Give one of them another key, or unbind it with []")


@dataclass(frozen=True, slots=True)
class _KeymapFile:
    name: str
    title: str
    source: str
    base: str | None
    bindings: dict[str, tuple[str, ...]]


def _parse_file(path: Path, registry: ActionRegistry) -> _KeymapFile:
    data = read_json(path)
    if not isinstance(data, dict):
        raise config_error(path, "the top level must be a JSON object")
    if data.get("schema") != KEYMAP_SCHEMA:
        raise config_error(path, f"key 'schema' must be '{KEYMAP_SCHEMA}'")
    if data.get("version") != KEYMAP_VERSION:
        raise config_error(path, f"key 'version' is {data.get('version')!r}; this build reads version {KEYMAP_VERSION}")
    for key in data:
        if key not in {"schema", "version", "name", "title", "base", "source", "bindings"}:
            raise config_error(path, f"unknown key '{key}'")
    texts: dict[str, str] = {}
    for key in ("name", "title", "source"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise config_error(path, f"key '{key}' must be a non-empty string")
        texts[key] = value
    if texts["name"] != path.stem:
        raise config_error(path, f"key 'name' is '{texts['name']}' but the file is named '{path.name}'")
    base = data.get("base")
    if base is not None and (not isinstance(base, str) or not base.strip()):
        raise config_error(path, "key 'base' must name another keymap, e.g. \"default\"")
    bindings = parse_bindings(path, data.get("bindings"), registry)
    return _KeymapFile(texts["name"], texts["title"], texts["source"], base, bindings)


def available_keymaps(dirs: Iterable[Path] | None = None) -> dict[str, Path]:
    """Keymap name → file; a later folder (the user's) overrides a bundled preset of the same name."""
    found: dict[str, Path] = {}
    for folder in dirs if dirs is not None else (bundled_keymaps_dir(),):
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                found[path.stem] = path
    return dict(sorted(found.items()))


def load_keymap(name: str, registry: ActionRegistry, dirs: Iterable[Path] | None = None) -> Keymap:
    """Read a keymap and its bases; ConfigError naming the file and key, or both ids of a conflict."""
    found = available_keymaps(list(dirs) if dirs is not None else None)
    return _resolve(name, registry, found, ())


def _resolve(name: str, registry: ActionRegistry, found: Mapping[str, Path], chain: tuple[str, ...]) -> Keymap:
    path = found.get(name)
    if path is None:
        raise ConfigError(f"Keymap preset '{name}' was not found", f"Choose one of: {', '.join(found) or 'none'}")
    parsed = _parse_file(path, registry)
    bindings: dict[str, tuple[str, ...]] = {}
    if parsed.base is not None:
        if parsed.base in (*chain, name):
            raise config_error(path, f"key 'base' ('{parsed.base}') makes a cycle of keymaps")
        if parsed.base not in found:
            raise config_error(path, f"key 'base' names keymap '{parsed.base}', which does not exist")
        bindings.update(_resolve(parsed.base, registry, found, (*chain, name)).bindings)
    bindings.update(parsed.bindings)
    bindings = {action_id: keys for action_id, keys in bindings.items() if keys}
    conflicts = find_conflicts(bindings, registry)
    if conflicts:
        raise conflict_error(path, conflicts)
    return Keymap(parsed.name, parsed.title, parsed.source, MappingProxyType(bindings), path)


def choose_keymap(
    name: str, registry: ActionRegistry, dirs: Iterable[Path] | None = None, default: str = DEFAULT_KEYMAP
) -> KeymapChoice:
    """The named keymap, or the default plus a warning sentence naming the file when it is missing or wrong.

    Raises ConfigError only when the default itself cannot be loaded.
    """
    folders = list(dirs) if dirs is not None else None
    try:
        return KeymapChoice(load_keymap(name, registry, folders))
    except ConfigError as exc:
        if name == default:
            raise
        warning = f"{exc.problem}. Using the '{default}' keymap until it is fixed."
    return KeymapChoice(load_keymap(default, registry, folders), (warning,))
