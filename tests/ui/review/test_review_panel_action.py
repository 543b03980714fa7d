"""`view.panel.review` (Ctrl+7) in the main window on a real database: it raises the Review dock from
under the library tab, like the other view.panel.* actions; the player's keys wake up with clips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, window_for
from x121_desktop.ui.docks import PanelSpec, WindowServices, default_panels
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.review.panel import ReviewPanel, review_panel_spec

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]


def test_view_panel_review_raises_the_review_panel(
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: Callable[..., MainWindow],
    clips: dict[str, Path],
) -> None:
    panels = default_panels()
    bottom = Qt.DockWidgetArea.BottomDockWidgetArea
    panels.register(
        PanelSpec("library", "Library", bottom, lambda c: QLabel("library"), action_id="view.panel.library")
    )
    panels.register(review_panel_spec())
    window = window_for(services_as("reviewer"), panels=panels)
    window.resize(1200, 800)
    window.show()
    run(qloop, window.start())
    review = window.panel("review", ReviewPanel)
    library = window.panel("library", QLabel)
    assert review is not None
    assert library is not None

    def on_top(widget: QWidget) -> bool:
        """Showing (a dock tabbed under another stays 'visible' in Qt, but nothing of it is on screen)."""
        QApplication.processEvents()
        return widget.isVisible() and not widget.visibleRegion().isEmpty()

    try:
        assert on_top(library)
        assert not on_top(review)  # tabbed under the library, which the default layout raises
        action = window.qactions["view.panel.review"]
        assert action.isEnabled()
        assert action.shortcut() == QKeySequence("Ctrl+7")
        assert window.panels.by_action("view.panel.review") is window.panels.get("review")

        action.trigger()
        assert on_top(review)
        assert not on_top(library)
        window.qactions["view.panel.library"].trigger()
        assert on_top(library)
        assert not on_top(review)

        window.activateWindow()
        library.setFocus()
        QTest.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)  # the key, as typed
        assert on_top(review)
        assert not on_top(library)

        # the player's keys (has_media: J/K/L, region zoom, …) are live once the panel has clips
        play, zoom = window.qactions["playback.play_pause"], window.qactions["review.roi.zoom_in"]
        assert not play.isEnabled()
        assert not zoom.isEnabled()
        review.load([clips["a"]])
        assert play.isEnabled()
        assert zoom.isEnabled()
        assert play in review.actions()
        assert zoom in review.actions()
        review.load([])
        assert not play.isEnabled()
    finally:
        review.close_player()
