"""Render a Qt stylesheet template from a Theme by plain string substitution.

Placeholders are `{{token}}`: a colour token gives `#rrggbb` (or `rgba(…)`), `space.*` and `radius.*`
give `Npx`, and a font role gives `{{font.ui.family}}`, `{{font.ui.size}}` or `{{font.ui.weight}}`.
No expressions, no logic: a template is CSS with holes, so it can be read and diffed as such.
"""

from __future__ import annotations

import re
from pathlib import Path

from x121_desktop.core.bundled import DataTree, display_path, locate
from x121_desktop.core.errors import ConfigError
from x121_desktop.theming.model import Theme

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
_FONT_PARTS = ("family", "size", "weight")


def bundled_template() -> Path:
    return locate(DataTree.RESOURCES).path / "qss" / "studio.qss.tmpl"


def placeholders(template: str) -> list[str]:
    """Every placeholder name in the template, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(template):
        seen.setdefault(match.group(1), None)
    return list(seen)


def token_value(theme: Theme, name: str) -> str | None:
    """The stylesheet text for one placeholder, or None when the theme has no such token."""
    if name in theme.colors:
        return theme.colors[name].css()
    if name in theme.spacing:
        return f"{theme.spacing[name]}px"
    if name in theme.radii:
        return f"{theme.radii[name]}px"
    role, _, part = name.rpartition(".")
    if role in theme.fonts and part in _FONT_PARTS:
        font = theme.fonts[role]
        if part == "family":
            return font.css_families()
        if part == "size":
            return f"{font.size_px}px"
        return str(font.weight)
    return None


def render_qss(template: str, theme: Theme, template_name: str = "stylesheet template") -> str:
    """Substitute every placeholder; ConfigError naming the template, line and token for an unknown one."""

    def substitute(match: re.Match[str]) -> str:
        value = token_value(theme, match.group(1))
        if value is None:
            line = template.count("\n", 0, match.start()) + 1
            raise ConfigError(
                f"{template_name}: line {line} uses unknown token '{match.group(1)}' (theme '{theme.name}')",
                "Use a token the theme files define",
            )
        return value

    return _PLACEHOLDER.sub(substitute, template)


def render_template_file(path: Path, theme: Theme) -> str:
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{display_path(path)}: cannot be read ({exc.strerror or exc})", "Reinstall X121 Studio"
        ) from exc
    return render_qss(template, theme, display_path(path))
