"""Apply a Theme to a running QApplication: QPalette + font + rendered stylesheet, switchable live.

Integration (ui/app.py or the main window):

    choice = apply_theme_named(app, settings.theme)      # falls back to the default theme
    if choice.warning: window.statusBar().showMessage(choice.warning)   # names the bad file
    switcher = ThemeSwitcher(app, choice.theme.name)
    actions["view.theme.next"].triggered.connect(switcher.next)

Widgets that paint themselves (node editor, timeline) read tokens from `current_theme(app)` and
listen to `ThemeSwitcher.theme_changed`; they never hard-code colours.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from x121_desktop.theming import (
    FontRole,
    Rgba,
    Theme,
    ThemeChoice,
    available_themes,
    bundled_template,
    choose_theme,
    next_theme_name,
    render_qss,
)

_THEME_PROPERTY = "x121_theme"
_GENERIC_HINTS = {
    "sans-serif": QFont.StyleHint.SansSerif,
    "serif": QFont.StyleHint.Serif,
    "monospace": QFont.StyleHint.Monospace,
}


def qcolor(rgba: Rgba) -> QColor:
    return QColor(rgba.r, rgba.g, rgba.b, rgba.a)


def installed_family(role: FontRole) -> str | None:
    """The first family of the role that is installed here, or None (Qt then uses the generic hint)."""
    installed = {name.lower() for name in QFontDatabase.families()}
    return next((f for f in role.families if f.lower() in installed), None)


def qfont(role: FontRole) -> QFont:
    """A QFont for a role: every named family in order (Qt skips missing ones), pixel size, weight."""
    font = QFont()
    named = [f for f in role.families if f not in _GENERIC_HINTS]
    font.setFamilies(named)
    generic = next((f for f in role.families if f in _GENERIC_HINTS), "sans-serif")
    font.setStyleHint(_GENERIC_HINTS[generic])
    font.setPixelSize(role.size_px)
    font.setWeight(QFont.Weight(role.weight))
    return font


def build_palette(theme: Theme) -> QPalette:
    """A QPalette from the theme's tokens, including the Disabled group and link colours."""
    c = theme.colors
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: c["bg.window"],
        QPalette.ColorRole.WindowText: c["fg.primary"],
        QPalette.ColorRole.Base: c["bg.input"],
        QPalette.ColorRole.AlternateBase: c["bg.raised"],
        QPalette.ColorRole.ToolTipBase: c["tooltip.bg"],
        QPalette.ColorRole.ToolTipText: c["tooltip.fg"],
        QPalette.ColorRole.PlaceholderText: c["fg.muted"],
        QPalette.ColorRole.Text: c["fg.primary"],
        QPalette.ColorRole.Button: c["bg.raised"],
        QPalette.ColorRole.ButtonText: c["fg.primary"],
        QPalette.ColorRole.BrightText: c["status.rejected.fg"],
        QPalette.ColorRole.Highlight: c["accent.primary"],
        QPalette.ColorRole.HighlightedText: c["fg.on_accent"],
        QPalette.ColorRole.Link: c["fg.link"],
        QPalette.ColorRole.LinkVisited: c["fg.link"],
        QPalette.ColorRole.Light: c["bg.hover"],
        QPalette.ColorRole.Midlight: c["border.subtle"],
        QPalette.ColorRole.Mid: c["border.strong"],
        QPalette.ColorRole.Dark: c["bg.window"],
        QPalette.ColorRole.Shadow: c["shadow"],
    }
    for role, rgba in roles.items():
        pal.setColor(role, qcolor(rgba))
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(disabled, role, qcolor(c["fg.disabled"]))
    pal.setColor(disabled, QPalette.ColorRole.Highlight, qcolor(c["bg.selected"]))
    return pal


def apply_theme(app: QApplication, theme: Theme, template: str | None = None) -> str:
    """Apply palette, UI font and stylesheet to every widget now; returns the rendered stylesheet.

    `template` defaults to resources/qss/studio.qss.tmpl. Calling it again with another theme
    switches live: Qt re-polishes existing widgets, no restart.
    """
    text = template if template is not None else bundled_template().read_text(encoding="utf-8")
    qss = render_qss(text, theme, "resources/qss/studio.qss.tmpl" if template is None else "stylesheet template")
    app.setPalette(build_palette(theme))
    app.setFont(qfont(theme.font("font.ui")))
    app.setStyleSheet(qss)
    app.setProperty(_THEME_PROPERTY, theme)  # the frozen Theme itself; no module-level state
    return qss


def current_theme(app: QApplication) -> Theme | None:
    """The theme last applied to this application (for widgets that paint with tokens)."""
    value = app.property(_THEME_PROPERTY)
    return value if isinstance(value, Theme) else None


def apply_theme_named(app: QApplication, name: str, dirs: Iterable[Path] | None = None) -> ThemeChoice:
    """Choose (with fallback to the default) and apply; the choice's `warning` names a bad file."""
    choice = choose_theme(name, dirs)
    apply_theme(app, choice.theme)
    return choice


class ThemeSwitcher(QObject):
    """Switches themes live (`view.theme.next`, the theme chooser) and says so."""

    theme_changed = Signal(str)
    #: a sentence for the status bar when a chosen theme file is broken and the default was used
    warning_raised = Signal(str)

    def __init__(self, app: QApplication, current: str, dirs: Iterable[Path] | None = None) -> None:
        super().__init__(app)
        self._app = app
        self._dirs = list(dirs) if dirs is not None else None
        self.current = current

    def names(self) -> list[str]:
        return list(available_themes(self._dirs))

    def switch_to(self, name: str) -> ThemeChoice:
        choice = apply_theme_named(self._app, name, self._dirs)
        self.current = choice.theme.name
        if choice.warning:
            self.warning_raised.emit(choice.warning)
        self.theme_changed.emit(self.current)
        return choice

    def next(self) -> ThemeChoice:
        return self.switch_to(next_theme_name(self.current, self.names()))
