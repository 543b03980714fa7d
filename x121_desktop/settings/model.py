"""The machine-local settings file (`settings.toml` in the X121 home), versioned and validated on load.

Per-user preferences live in the database (user_settings); this file holds only what a
workstation needs before it can reach the database.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from x121_desktop.core.errors import ConfigError
from x121_desktop.settings.atomic import write_text_atomic
from x121_desktop.settings.paths import StudioPaths

SETTINGS_VERSION = 1


@dataclass(frozen=True, slots=True)
class Settings:
    version: int = SETTINGS_VERSION
    database_url: str | None = None  # None: the embedded single-user database
    theme: str = "obsidian-dark"
    keymap: str = "default"

    def with_database_url(self, url: str | None) -> Settings:
        return replace(self, database_url=url)


_KEYS: dict[str, type] = {"version": int, "database_url": str, "theme": str, "keymap": str}


def load_settings(paths: StudioPaths) -> Settings:
    """Read settings.toml; a missing file means defaults, a broken one is an error naming file and key."""
    file = paths.settings_file
    if not file.exists():
        return Settings()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})", "Fix the file or delete it to use the defaults") from exc
    values = dict(raw.get("studio", {}))
    for key, value in values.items():
        if key not in _KEYS:
            raise ConfigError(f"{file}: unknown key 'studio.{key}'", f"Remove it; known keys: {', '.join(_KEYS)}")
        if not isinstance(value, _KEYS[key]):
            raise ConfigError(
                f"{file}: 'studio.{key}' must be a {_KEYS[key].__name__}, not {type(value).__name__}",
                "Correct the value",
            )
    version = values.get("version", SETTINGS_VERSION)
    if version > SETTINGS_VERSION:
        raise ConfigError(
            f"{file}: settings version {version} is newer than this X121 understands ({SETTINGS_VERSION})",
            "Update X121, or remove the file",
        )
    return Settings(**{k: v for k, v in values.items() if k != "version"})


def save_settings(paths: StudioPaths, settings: Settings) -> Path:
    lines = ["[studio]", f"version = {SETTINGS_VERSION}"]
    for key in ("database_url", "theme", "keymap"):
        value = getattr(settings, key)
        if value is not None:
            lines.append(f"{key} = {_toml_str(value)}")
    write_text_atomic(paths.settings_file, "\n".join(lines) + "\n", mode=0o600)
    return paths.settings_file


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
