"""Themes apply to a live QApplication and switch without restart; a corrupt file falls back visibly."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QFontInfo, QPalette
from PySide6.QtWidgets import QApplication, QMainWindow, QPushButton, QTableWidget
from pytestqt.qtbot import QtBot

from x121_desktop.theming import available_themes, bundled_themes_dir, load_theme
from x121_desktop.ui.theme_qt import (
    ThemeSwitcher,
    apply_theme,
    apply_theme_named,
    build_palette,
    current_theme,
    installed_family,
    qfont,
)


@pytest.fixture(autouse=True)
def _restore_app_look() -> Iterator[None]:
    """Tests leave no stylesheet, palette or font behind for the next one."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    palette, font = app.palette(), app.font()
    yield
    app.setStyleSheet("")
    app.setPalette(palette)
    app.setFont(font)
    app.setProperty("x121_theme", None)


def _window(qtbot: QtBot) -> tuple[QMainWindow, QPushButton, QTableWidget]:
    window = QMainWindow()
    qtbot.addWidget(window)
    table = QTableWidget(4, 3, window)
    window.setCentralWidget(table)
    button = QPushButton("Generate", window)
    window.statusBar().addPermanentWidget(button)
    window.resize(640, 400)
    window.show()
    return window, button, table


def _app() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app


def test_switching_theme_changes_widget_palettes_live(qtbot: QtBot) -> None:
    window, button, table = _window(qtbot)
    app = _app()
    dark = load_theme(available_themes()["obsidian-dark"])
    light = load_theme(available_themes()["neon-light"])
    apply_theme(app, dark)
    qtbot.wait(1)
    assert window.palette().color(QPalette.ColorRole.Window).name() == dark.color("bg.window").hex_rgb
    assert button.palette().color(QPalette.ColorRole.Button).name() == dark.color("bg.raised").hex_rgb
    before = button.grab().toImage().pixelColor(button.width() // 2, 3).name()

    apply_theme(app, light)  # same widgets, no restart
    qtbot.wait(1)
    assert window.palette().color(QPalette.ColorRole.Window).name() == light.color("bg.window").hex_rgb
    assert table.palette().color(QPalette.ColorRole.Base).name() != dark.color("bg.input").hex_rgb
    after = button.grab().toImage().pixelColor(button.width() // 2, 3).name()
    assert before != after
    assert current_theme(app) is light


def test_palette_roles_come_from_tokens() -> None:
    theme = load_theme(available_themes()["neon-dark"])
    pal = build_palette(theme)
    assert pal.color(QPalette.ColorRole.Highlight).name() == theme.color("accent.primary").hex_rgb
    assert pal.color(QPalette.ColorRole.Text).name() == theme.color("fg.primary").hex_rgb
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text).name()
    assert disabled == theme.color("fg.disabled").hex_rgb
    shadow = pal.color(QPalette.ColorRole.Shadow)
    assert shadow.alpha() == theme.color("shadow").a


def test_corrupt_theme_falls_back_with_a_visible_warning(qtbot: QtBot, tmp_path: Path) -> None:
    window, _button, _table = _window(qtbot)
    folder = tmp_path / "themes"
    shutil.copytree(bundled_themes_dir(), folder)
    data = json.loads((folder / "neon-dark.json").read_text(encoding="utf-8"))
    del data["colors"]["canvas.grid"]
    (folder / "neon-dark.json").write_text(json.dumps(data), encoding="utf-8")

    choice = apply_theme_named(_app(), "neon-dark", [folder])
    assert choice.theme.name == "obsidian-dark"
    assert choice.warning is not None
    window.statusBar().showMessage(choice.warning)  # how the shell shows it
    shown = window.statusBar().currentMessage()
    assert "neon-dark.json: missing token 'canvas.grid'" in shown
    assert window.palette().color(QPalette.ColorRole.Window).name() == choice.theme.color("bg.window").hex_rgb


def test_switcher_cycles_themes_and_reports(qtbot: QtBot) -> None:
    _window(qtbot)
    switcher = ThemeSwitcher(_app(), "obsidian-dark")
    seen: list[str] = []
    switcher.theme_changed.connect(seen.append)
    with qtbot.waitSignal(switcher.theme_changed, timeout=1000):
        switcher.next()
    assert switcher.current == "obsidian-light"
    for _ in range(3):
        switcher.next()
    assert seen == ["obsidian-light", "neon-dark", "neon-light", "obsidian-dark"]
    switcher.deleteLater()


def test_font_roles_fall_back_to_installed_families(qtbot: QtBot) -> None:
    theme = load_theme(available_themes()["obsidian-dark"])
    ui, mono = theme.font("font.ui"), theme.font("font.mono")
    font = qfont(mono)
    assert font.families()[0] == "JetBrains Mono"
    assert font.pixelSize() == mono.size_px
    resolved = QFontInfo(font).family()
    assert resolved  # Qt found something even when JetBrains Mono is absent
    chosen = installed_family(ui)
    assert chosen is None or chosen in ui.families
    app = _app()
    apply_theme(app, theme)
    assert app.font().pixelSize() == ui.size_px
