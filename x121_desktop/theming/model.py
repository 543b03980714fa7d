"""Theme values: the token catalogue every theme file must fill, and the frozen Theme read from one.

Tokens are named by role, never by widget (`bg.panel`, `status.approved.fg`, `canvas.grid`), so the
node editor, review suite and status bar can ask for a role without knowing the palette.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

THEME_SCHEMA = "x121.theme"
THEME_VERSION = 1
DEFAULT_THEME = "obsidian-dark"

#: Every colour token a theme must define (and may not add to: an unknown token is a typo).
COLOR_TOKENS: tuple[str, ...] = (
    # surfaces, from the window down to inputs
    "bg.window",
    "bg.panel",
    "bg.raised",
    "bg.input",
    "bg.hover",
    "bg.selected",
    "bg.header",
    # text
    "fg.primary",
    "fg.secondary",
    "fg.muted",
    "fg.disabled",
    "fg.on_accent",
    "fg.link",
    # lines
    "border.subtle",
    "border.strong",
    "border.focus",
    # accent (buttons, focus, selection)
    "accent.primary",
    "accent.hover",
    "accent.pressed",
    "accent.muted",
    # review / pipeline status (ui/qmodels maps status codes to these)
    "status.approved.fg",
    "status.rejected.fg",
    "status.flagged.fg",
    "status.pending.fg",
    "status.running.fg",
    "status.failed.fg",
    # seam quality traffic light
    "seam.good",
    "seam.warn",
    "seam.bad",
    # node editor canvas
    "canvas.bg",
    "canvas.grid",
    "canvas.grid_major",
    "node.bg",
    "node.header",
    "node.border",
    "node.selected",
    "wire.default",
    "wire.active",
    # player / timeline
    "timeline.bg",
    "timeline.playhead",
    "timeline.in_out",
    "timeline.marker",
    # chrome
    "scrollbar.handle",
    "scrollbar.handle_hover",
    "tooltip.bg",
    "tooltip.fg",
    "shadow",
)

#: Spacing steps in pixels (a 4-px grid, with a 2-px half step for dense tables).
SPACING_TOKENS: tuple[str, ...] = ("space.xxs", "space.xs", "space.sm", "space.md", "space.lg", "space.xl")
#: Corner radii in pixels.
RADIUS_TOKENS: tuple[str, ...] = ("radius.sm", "radius.md", "radius.lg")
#: Font roles: each names a family list (first installed wins), a pixel size and a weight.
FONT_TOKENS: tuple[str, ...] = ("font.ui", "font.ui_small", "font.heading", "font.mono", "font.mono_small")

MODES: tuple[str, ...] = ("dark", "light")


@dataclass(frozen=True, slots=True)
class Rgba:
    """A colour as 8-bit channels; alpha 255 is opaque."""

    r: int
    g: int
    b: int
    a: int = 255

    @property
    def hex_rgb(self) -> str:
        return f"#{self.r:02x}{self.g:02x}{self.b:02x}"

    def css(self) -> str:
        """How a Qt stylesheet spells it: `#rrggbb`, or `rgba(r, g, b, a)` when translucent."""
        if self.a == 255:
            return self.hex_rgb
        return f"rgba({self.r}, {self.g}, {self.b}, {self.a})"


@dataclass(frozen=True, slots=True)
class FontRole:
    """A font role: families in order of preference (generic last), size in pixels, CSS weight."""

    families: tuple[str, ...]
    size_px: int
    weight: int

    def css_families(self) -> str:
        generic = {"sans-serif", "serif", "monospace"}
        return ", ".join(name if name in generic else f'"{name}"' for name in self.families)


@dataclass(frozen=True, slots=True, eq=False)
class Theme:
    """One validated theme file. Mappings are read-only views; look-ups by unknown names raise KeyError."""

    name: str
    title: str
    family: str
    mode: str
    colors: Mapping[str, Rgba]
    spacing: Mapping[str, int]
    radii: Mapping[str, int]
    fonts: Mapping[str, FontRole]
    source: Path | None = None

    @property
    def is_dark(self) -> bool:
        return self.mode == "dark"

    def color(self, token: str) -> Rgba:
        return self.colors[token]

    def space(self, token: str) -> int:
        return self.spacing[token]

    def radius(self, token: str) -> int:
        return self.radii[token]

    def font(self, token: str) -> FontRole:
        return self.fonts[token]


@dataclass(frozen=True, slots=True)
class ThemeChoice:
    """What loading a named theme produced: the theme to use, and a sentence to show if we fell back."""

    theme: Theme
    warning: str | None = None
