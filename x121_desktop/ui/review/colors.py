"""Theme tokens the review widgets paint with (defaults when no theme is applied, e.g. in tests)."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from x121_desktop.ui.theme_qt import current_theme, qcolor

_DEFAULTS = {
    "canvas.bg": "#101114",
    "timeline.bg": "#1b1d22",
    "timeline.playhead": "#f0c419",
    "timeline.in_out": "#4c8dff",
    "timeline.marker": "#8a8f98",
    "seam.good": "#3fb950",
    "seam.bad": "#e5534b",
    "fg.primary": "#e6e6e6",
    "fg.muted": "#8a8f98",
    "status.failed.fg": "#e5534b",
}


def color(token: str) -> QColor:
    app = QApplication.instance()
    theme = current_theme(app) if isinstance(app, QApplication) else None
    if theme is not None and token in theme.colors:
        return qcolor(theme.color(token))
    return QColor(_DEFAULTS.get(token, "#ff00ff"))
