"""Render a sample studio window in every theme and save PNGs (for checking themes by eye).

Usage (needs an X server; screenshots are artefacts, never committed):
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/dev/theme_screenshots.py [OUT_DIR]

Writes, per theme, OUT_DIR/x121-theme-<name>.png (default /tmp): menu bar, toolbar, docks, a table
with status colours, buttons and inputs, the status bar with a warning; and
OUT_DIR/x121-theme-<name>-palette.png: the same window with the command palette open.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "xcb"

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.actions import PaletteEntity, build_registry, load_keymap
from x121_desktop.theming import Theme, available_themes, load_theme
from x121_desktop.ui.actions_qt import bind, build_menus
from x121_desktop.ui.palette import CommandPalette
from x121_desktop.ui.theme_qt import apply_theme, qcolor

ENTITIES = (
    PaletteEntity("character", "c1", "Mara Quill", "3 seeds"),
    PaletteEntity("scene", "s7", "Rooftop chase", "Mara Quill · 12 segments"),
    PaletteEntity("segment", "g42", "Rooftop chase #4", "seam 4→5 needs review"),
    PaletteEntity("workflow", "w1", "Wan 2.2 i2v", "14B"),
)
ROWS = (
    ("#1", "Rooftop chase", "approved", "0.94", "00:00:00:00", "97"),
    ("#2", "Rooftop chase", "approved", "0.91", "00:00:04:01", "97"),
    ("#3", "Rooftop chase", "flagged", "0.78", "00:00:08:02", "97"),
    ("#4", "Rooftop chase", "rejected", "0.52", "00:00:12:03", "81"),
    ("#5", "Rooftop chase", "running", "—", "00:00:15:12", "97"),
    ("#6", "Rooftop chase", "pending", "—", "00:00:19:13", "97"),
)


def _table(theme: Theme) -> QTableWidget:
    table = QTableWidget(len(ROWS), 6)
    table.setHorizontalHeaderLabels(["Segment", "Scene", "Status", "Seam SSIM", "Start", "Frames"])
    table.setAlternatingRowColors(True)
    table.verticalHeader().setVisible(False)
    for r, row in enumerate(ROWS):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c == 2:
                item.setForeground(qcolor(theme.color(f"status.{text}.fg")))
            table.setItem(r, c, item)
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    table.selectRow(2)
    return table


def _controls() -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    generate = QPushButton("Generate scene")
    generate.setProperty("role", "primary")
    row.addWidget(generate)
    row.addWidget(QPushButton("Heal seam"))
    disabled = QPushButton("Assemble")
    disabled.setEnabled(False)
    row.addWidget(disabled)
    danger = QPushButton("Reject take")
    danger.setProperty("role", "danger")
    row.addWidget(danger)
    field = QLineEdit()
    field.setPlaceholderText("Filter segments…")
    row.addWidget(field, 1)
    combo = QComboBox()
    combo.addItems(["Wan 2.2 i2v 14B", "Model-free i2v"])
    row.addWidget(combo)
    return box


def build_window(theme: Theme) -> tuple[QMainWindow, CommandPalette]:
    registry = build_registry()
    keymap = load_keymap("default", registry)
    window = QMainWindow()
    window.setWindowTitle(f"X121 Studio — {theme.title}")
    window.resize(1400, 860)
    actions = bind(registry, keymap, window)
    build_menus(window.menuBar(), registry, actions, ("Application", "View", "Playback", "Review", "Segment", "Edit"))
    toolbar = QToolBar("Transport", window)
    for action_id in ("playback.go_to_start", "playback.step_back", "playback.play_pause", "playback.step_forward",
                      "playback.mark_in", "playback.mark_out", "review.verdict.approve", "segment.heal"):  # fmt: skip
        toolbar.addAction(actions[action_id])
    actions["review.loop_seam"].setChecked(True)
    toolbar.addAction(actions["review.loop_seam"])
    window.addToolBar(toolbar)

    central = QWidget()
    layout = QVBoxLayout(central)
    heading = QLabel("Rooftop chase — 6 segments, 5 seams")
    heading.setProperty("role", "heading")
    layout.addWidget(heading)
    muted = QLabel("Seam QA: SSIM, pHash, ΔE, motion and likeness per boundary")
    muted.setProperty("role", "muted")
    layout.addWidget(muted)
    tabs = QTabWidget()
    tabs.addTab(_table(theme), "Segments")
    tabs.addTab(QWidget(), "Takes")
    tabs.addTab(QWidget(), "Notes")
    layout.addWidget(tabs, 1)
    layout.addWidget(_controls())
    mono = QLabel("job 7f3a · server gpu-02 · 14.2 / 24.0 GiB VRAM · 00:00:08:02")
    mono.setProperty("role", "mono")
    layout.addWidget(mono)
    window.setCentralWidget(central)

    dock = QDockWidget("Library", window)
    library = QListWidget()
    library.addItems(
        ["Mara Quill", "Rooftop chase", "Harbour at dawn", "Wan 2.2 i2v", "Seed A — portrait", "Seed B — style"]
    )
    library.setCurrentRow(1)
    dock.setWidget(library)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    jobs = QDockWidget("Jobs", window)
    jobs.setWidget(QListWidget())
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, jobs)
    warning = QLabel("themes/neon-dark.json: missing token 'canvas.grid'. Using the default theme.")
    warning.setProperty("role", "warning")
    window.statusBar().addWidget(warning)
    window.statusBar().addPermanentWidget(QLabel("db ● embedded · 2 servers online"))

    palette = CommandPalette(registry, keymap.keys_for, actions=actions, entities=lambda _q: ENTITIES, parent=window)
    return window, palette


def _settle(app: QApplication) -> None:
    for _ in range(20):
        app.processEvents()


def _shot(app: QApplication, target: Path) -> None:
    screen = app.primaryScreen()
    assert screen is not None
    shot = screen.grabWindow(0, 30, 30, 1420, 900)
    shot.save(str(target), "PNG")
    print(f"{target}: {QColor(shot.toImage().pixelColor(10, 10)).name()} background")


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp")
    app = QApplication(sys.argv[:1])
    for name, path in available_themes().items():
        theme = load_theme(path)
        apply_theme(app, theme)
        window, palette = build_window(theme)
        window.move(40, 40)
        window.show()
        _settle(app)
        _shot(app, out / f"x121-theme-{name}.png")
        palette.open_palette()
        palette.query.setText("seam")
        _settle(app)
        _shot(app, out / f"x121-theme-{name}-palette.png")
        palette.close()
        window.close()
        window.deleteLater()
        app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
