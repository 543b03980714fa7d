"""Colours, fonts and metrics of the canvas, from the theme tokens (`canvas.*`, `node.*`, `wire.*`).

Socket/wire colours by data type follow ComfyUI's default palette so artists recognise them; types
it does not name get a stable hue from their name.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication

from x121_desktop.theming import Theme
from x121_desktop.theming.loader import choose_theme
from x121_desktop.ui.theme_qt import current_theme, qcolor, qfont

TITLE_H = 30.0
ROW_H = 20.0
WIDGET_H = 22.0
SOCKET_R = 5.0
REROUTE_R = 9.0
NATIVE_REROUTE_R = 10.0  # the frontend's Reroute.radius
LOD_DETAIL = 0.4  # below this zoom, nodes are drawn as boxes with their title only
LOD_BOXES = 0.18  # below this zoom, nodes are plain boxes
LOD_WIRES = 0.3  # below this zoom, wires are straight lines

TYPE_COLOURS = {
    "CLIP": "#FFD500",
    "CLIP_VISION": "#A8DADC",
    "CLIP_VISION_OUTPUT": "#ad7452",
    "CONDITIONING": "#FFA931",
    "CONTROL_NET": "#6EE7B7",
    "IMAGE": "#64B5F6",
    "LATENT": "#FF9CF9",
    "MASK": "#81C784",
    "MODEL": "#B39DDB",
    "STYLE_MODEL": "#C2FFAE",
    "VAE": "#FF6E6E",
    "NOISE": "#B0B0B0",
    "GUIDER": "#66FFFF",
    "SAMPLER": "#ECB4B4",
    "SIGMAS": "#CDFFCD",
    "TAESD": "#DCC274",
    "AUDIO": "#e8a87c",
    "VIDEO": "#5dbb63",
    "INT": "#7bd3a6",
    "FLOAT": "#9ec7e0",
    "STRING": "#c0c0c0",
    "BOOLEAN": "#d08c8c",
    "COMBO": "#a0a0a0",
}


@dataclass
class CanvasStyle:
    theme: Theme
    _type_cache: dict[str, QColor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = self.theme.color
        self.bg = qcolor(c("canvas.bg"))
        self.grid = qcolor(c("canvas.grid"))
        self.grid_major = qcolor(c("canvas.grid_major"))
        self.node_bg = qcolor(c("node.bg"))
        self.node_header = qcolor(c("node.header"))
        self.node_border = qcolor(c("node.border"))
        self.selected = qcolor(c("node.selected"))
        self.wire = qcolor(c("wire.default"))
        self.wire_active = qcolor(c("wire.active"))
        self.text = qcolor(c("fg.primary"))
        self.text_dim = qcolor(c("fg.secondary"))
        self.text_muted = qcolor(c("fg.muted"))
        self.input_bg = qcolor(c("bg.input"))
        self.warn = qcolor(c("status.flagged.fg"))
        self.error = qcolor(c("status.failed.fg"))
        self.running = qcolor(c("status.running.fg"))
        self.ok = qcolor(c("status.approved.fg"))
        self.shadow = qcolor(c("shadow"))
        self.font = qfont(self.theme.font("font.ui_small"))
        self.title_font = QFont(qfont(self.theme.font("font.ui")))
        self.title_font.setBold(True)
        self.group_font = QFont(qfont(self.theme.font("font.heading")))

    def type_colour(self, type_name: str) -> QColor:
        colour = self._type_cache.get(type_name)
        if colour is None:
            first = type_name.split(",", maxsplit=1)[0].strip().upper()
            if first in TYPE_COLOURS:
                colour = QColor(TYPE_COLOURS[first])
            elif first in ("*", ""):
                colour = QColor(self.wire)
            else:
                colour = QColor.fromHsv(zlib.crc32(first.encode()) % 360, 110, 230)
            self._type_cache[type_name] = colour
        return colour


def canvas_style(app: QApplication | None = None) -> CanvasStyle:
    """The style of the application's current theme (the default theme when none was applied)."""
    instance = app or QApplication.instance()
    theme = current_theme(instance) if isinstance(instance, QApplication) else None
    return CanvasStyle(theme or choose_theme("obsidian-dark").theme)
