"""Dock assembly: a main window's docks built from the panel registry (ui/docks.py), in their default layout.

Each panel becomes a closable, movable, floatable dock named `dock.<id>` (a saved layout finds it again) in
its spec's area, tabbed with its `tab_with` panel, which stays the raised tab; then the default sizes: the
bottom panels (library, node editor, review, jobs) take about 40% of the height and each side about a fifth
of the width, so the central view (the scene workspace) keeps room.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from x121_desktop.ui.docks import PanelContext, PanelRegistry

BOTTOM_SHARE = 0.4
SIDE_SHARE = 0.2


def build_docks(window: QMainWindow, panels: PanelRegistry, context: PanelContext) -> dict[str, QDockWidget]:
    """A dock per registered panel, by panel id, each holding the widget its spec's factory makes."""
    docks: dict[str, QDockWidget] = {}
    for spec in panels:
        dock = QDockWidget(spec.title, window)
        dock.setObjectName(f"dock.{spec.id}")
        dock.setWidget(spec.factory(context))
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        window.addDockWidget(spec.area, dock)
        if spec.tab_with is not None and spec.tab_with in docks:
            window.tabifyDockWidget(docks[spec.tab_with], dock)
        dock.setVisible(spec.visible)
        docks[spec.id] = dock
    for spec in panels:
        if spec.tab_with is not None and spec.tab_with in docks:
            docks[spec.tab_with].raise_()
    return docks


def size_default_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Give the bottom docks `BOTTOM_SHARE` of the window's height and each side `SIDE_SHARE` of its width."""

    def first_in(area: Qt.DockWidgetArea) -> list[QDockWidget]:
        shown = [d for d in docks.values() if window.dockWidgetArea(d) == area and not d.isHidden()]
        return shown[:1]

    area = Qt.DockWidgetArea
    for first, share, orientation in (
        (first_in(area.BottomDockWidgetArea), BOTTOM_SHARE * window.height(), Qt.Orientation.Vertical),
        (first_in(area.LeftDockWidgetArea), SIDE_SHARE * window.width(), Qt.Orientation.Horizontal),
        (first_in(area.RightDockWidgetArea), SIDE_SHARE * window.width(), Qt.Orientation.Horizontal),
    ):
        if first:
            window.resizeDocks(first, [int(share)], orientation)
