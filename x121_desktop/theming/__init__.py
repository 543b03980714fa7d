"""theming layer (see ARCHITECTURE.md): themes/*.json → frozen Theme tokens; QSS template rendering. No Qt."""

from __future__ import annotations

from x121_desktop.theming.loader import (
    available_themes,
    bundled_themes_dir,
    choose_theme,
    load_theme,
    next_theme_name,
    parse_color,
)
from x121_desktop.theming.model import DEFAULT_THEME, FontRole, Rgba, Theme, ThemeChoice
from x121_desktop.theming.qss import bundled_template, render_qss, render_template_file

__all__ = [
    "DEFAULT_THEME",
    "FontRole",
    "Rgba",
    "Theme",
    "ThemeChoice",
    "available_themes",
    "bundled_template",
    "bundled_themes_dir",
    "choose_theme",
    "load_theme",
    "next_theme_name",
    "parse_color",
    "render_qss",
    "render_template_file",
]
