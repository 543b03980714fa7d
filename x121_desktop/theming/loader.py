"""Read and validate themes/*.json into frozen Themes; fall back to the default with a sentence.

Every problem names the file and the key: `themes/neon-dark.json: missing token 'canvas.grid'`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from x121_desktop.core.bundled import DataTree, display_path, locate
from x121_desktop.core.errors import ConfigError
from x121_desktop.theming.model import (
    COLOR_TOKENS,
    DEFAULT_THEME,
    FONT_TOKENS,
    MODES,
    RADIUS_TOKENS,
    SPACING_TOKENS,
    THEME_SCHEMA,
    THEME_VERSION,
    FontRole,
    Rgba,
    Theme,
    ThemeChoice,
)

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_FIX = "Fix the file, or choose another theme"


def bundled_themes_dir() -> Path:
    """The themes shipped with the studio: the installed package's `themes/`, else the checkout's."""
    return locate(DataTree.THEMES).path


def _fail(path: Path, what: str) -> ConfigError:
    return ConfigError(f"{display_path(path)}: {what}", _FIX)


def parse_color(text: object) -> Rgba | None:
    """`#rgb`, `#rrggbb` or `#rrggbbaa` (CSS order, alpha last); None when it is not one of those."""
    if not isinstance(text, str) or not _HEX.match(text):
        return None
    digits = text[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
    return Rgba(*channels)


def _section(path: Path, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _fail(path, f"key '{key}' must be an object of tokens")
    return value


def _check_names(path: Path, section: Mapping[str, Any], expected: tuple[str, ...]) -> None:
    for token in expected:
        if token not in section:
            raise _fail(path, f"missing token '{token}'")
    for token in section:
        if token not in expected:
            raise _fail(path, f"unknown token '{token}'")


def _colors(path: Path, section: Mapping[str, Any]) -> dict[str, Rgba]:
    _check_names(path, section, COLOR_TOKENS)
    out: dict[str, Rgba] = {}
    for token in COLOR_TOKENS:
        rgba = parse_color(section[token])
        if rgba is None:
            raise _fail(path, f"token '{token}' must be a colour like '#2a2d33', not {section[token]!r}")
        out[token] = rgba
    return out


def _lengths(path: Path, section: Mapping[str, Any], expected: tuple[str, ...]) -> dict[str, int]:
    _check_names(path, section, expected)
    out: dict[str, int] = {}
    for token in expected:
        value = section[token]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
            raise _fail(path, f"token '{token}' must be a whole number of pixels from 0 to 64, not {value!r}")
        out[token] = value
    return out


def _font(path: Path, token: str, value: object) -> FontRole:
    if not isinstance(value, dict):
        raise _fail(path, f"token '{token}' must be an object with 'families', 'size_px' and 'weight'")
    families = value.get("families")
    if not isinstance(families, list) or not families or not all(isinstance(f, str) and f.strip() for f in families):
        raise _fail(path, f"token '{token}' needs 'families': a non-empty list of font family names")
    size = value.get("size_px")
    if isinstance(size, bool) or not isinstance(size, int) or not 6 <= size <= 48:
        raise _fail(path, f"token '{token}' needs 'size_px' from 6 to 48, not {size!r}")
    weight = value.get("weight", 400)
    if isinstance(weight, bool) or not isinstance(weight, int) or weight not in range(100, 1000, 100):
        raise _fail(path, f"token '{token}' needs 'weight' as 100, 200, … 900, not {weight!r}")
    extra = set(value) - {"families", "size_px", "weight"}
    if extra:
        raise _fail(path, f"token '{token}' has unknown key '{sorted(extra)[0]}'")
    return FontRole(tuple(f.strip() for f in families), size, weight)


def _fonts(path: Path, section: Mapping[str, Any]) -> dict[str, FontRole]:
    _check_names(path, section, FONT_TOKENS)
    return {token: _font(path, token, section[token]) for token in FONT_TOKENS}


def _text(path: Path, data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, f"key '{key}' must be a non-empty string")
    return value


def parse_theme(path: Path, data: object) -> Theme:
    """Validate decoded JSON as the theme stored at `path` (used in messages and to check the name)."""
    if not isinstance(data, dict):
        raise _fail(path, "the top level must be a JSON object")
    if data.get("schema") != THEME_SCHEMA:
        raise _fail(path, f"key 'schema' must be '{THEME_SCHEMA}'")
    version = data.get("version")
    if version != THEME_VERSION:
        raise _fail(path, f"key 'version' is {version!r}; this build reads version {THEME_VERSION}")
    name = _text(path, data, "name")
    if name != path.stem:
        raise _fail(path, f"key 'name' is '{name}' but the file is named '{path.name}'")
    mode = _text(path, data, "mode")
    if mode not in MODES:
        raise _fail(path, f"key 'mode' must be one of {', '.join(MODES)}, not '{mode}'")
    known = {"schema", "version", "name", "title", "family", "mode", "description", "colors", "spacing"}
    known |= {"radii", "fonts"}
    for key in data:
        if key not in known:
            raise _fail(path, f"unknown key '{key}'")
    return Theme(
        name=name,
        title=_text(path, data, "title"),
        family=_text(path, data, "family"),
        mode=mode,
        colors=MappingProxyType(_colors(path, _section(path, data, "colors"))),
        spacing=MappingProxyType(_lengths(path, _section(path, data, "spacing"), SPACING_TOKENS)),
        radii=MappingProxyType(_lengths(path, _section(path, data, "radii"), RADIUS_TOKENS)),
        fonts=MappingProxyType(_fonts(path, _section(path, data, "fonts"))),
        source=path,
    )


def load_theme(path: Path) -> Theme:
    """Read one theme file; ConfigError (naming file and key) when it is unreadable or wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    return parse_theme(path, data)


def available_themes(dirs: Iterable[Path] | None = None) -> dict[str, Path]:
    """Theme name → file, bundled first; a later folder (e.g. the user's) overrides an earlier one."""
    found: dict[str, Path] = {}
    for folder in dirs if dirs is not None else (bundled_themes_dir(),):
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                found[path.stem] = path
    return dict(sorted(found.items()))


def choose_theme(name: str, dirs: Iterable[Path] | None = None, default: str = DEFAULT_THEME) -> ThemeChoice:
    """The named theme, or the default with a warning sentence naming the file when it is missing or corrupt.

    Raises ConfigError only when the default itself cannot be loaded (nothing is left to fall back to).
    """
    found = available_themes(list(dirs) if dirs is not None else None)
    warning: str | None = None
    path = found.get(name)
    if path is None:
        warning = f"Theme '{name}' was not found; using the default theme '{default}'."
    else:
        try:
            return ThemeChoice(load_theme(path))
        except ConfigError as exc:
            warning = f"{exc.problem}. Using the default theme '{default}' until the file is fixed."
    fallback = found.get(default)
    if fallback is None:
        raise ConfigError(f"The default theme '{default}' is missing", "Reinstall X121 Studio")
    return ThemeChoice(load_theme(fallback), warning)


def next_theme_name(current: str, names: Iterable[str]) -> str:
    """The theme after `current` in name order, wrapping (for `view.theme.next`)."""
    ordered = sorted(names)
    if not ordered:
        return current
    if current not in ordered:
        return ordered[0]
    return ordered[(ordered.index(current) + 1) % len(ordered)]
