"""Every theme defines the whole token catalogue, the stylesheet uses only tokens, and text stays readable."""

from __future__ import annotations

import re

import pytest

from x121_desktop.theming import available_themes, bundled_template, load_theme
from x121_desktop.theming.model import Rgba
from x121_desktop.theming.qss import placeholders, token_value

THEMES = sorted(available_themes())


def test_at_least_obsidian_and_neon_in_dark_and_light() -> None:
    assert {"obsidian-dark", "obsidian-light", "neon-dark", "neon-light"} <= set(THEMES)


@pytest.mark.parametrize("name", THEMES)
def test_every_template_placeholder_is_a_token_of_every_theme(name: str) -> None:
    theme = load_theme(available_themes()[name])
    template = bundled_template().read_text(encoding="utf-8")
    missing = [p for p in placeholders(template) if token_value(theme, p) is None]
    assert missing == []


def test_template_hard_codes_no_colours() -> None:
    template = re.sub(r"/\*.*?\*/", "", bundled_template().read_text(encoding="utf-8"), flags=re.S)
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b", template) == []
    assert "rgb(" not in template
    assert "rgba(" not in template


def _luminance(c: Rgba) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def _contrast(a: Rgba, b: Rgba) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("name", THEMES)
def test_text_contrast_meets_wcag(name: str) -> None:
    """Body text ≥ 4.5:1 on every surface it sits on; muted text and accent labels ≥ 3:1."""
    theme = load_theme(available_themes()[name])
    for surface in ("bg.window", "bg.panel", "bg.raised", "bg.input", "bg.selected", "bg.header"):
        assert _contrast(theme.color("fg.primary"), theme.color(surface)) >= 4.5, surface
        assert _contrast(theme.color("fg.secondary"), theme.color(surface)) >= 4.5, surface
    assert _contrast(theme.color("fg.muted"), theme.color("bg.panel")) >= 3.0
    assert _contrast(theme.color("fg.on_accent"), theme.color("accent.primary")) >= 3.0
    assert _contrast(theme.color("tooltip.fg"), theme.color("tooltip.bg")) >= 4.5
