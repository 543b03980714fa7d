"""The real studio window, built exactly as `x121` builds it, on the embedded database.

Panel tests build their own small windows; this one catches wiring between them (a panel factory
that needs the window's actions, a registration that names a missing panel) before a person does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import qasync
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.studio_fixtures import qloop, run
from x121_desktop.services.bootstrap import LaunchOptions, open_studio
from x121_desktop.ui.app import _build_window
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.tools import ReviewTools

__all__ = ["qloop"]


def test_the_real_window_builds_with_every_panel_and_binds_panel_shortcuts(
    qtbot: QtBot, qloop: qasync.QEventLoop, pg_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X121_HOME", str(pg_tmp))
    studio = open_studio(LaunchOptions())
    try:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        window = _build_window(app, studio)
        for panel_id in ("navigator", "notifications", "library", "node_editor", "review", "pulse"):
            assert window.panel(panel_id, QWidget) is not None, panel_id
        review = window.panel("review", ReviewPanel)
        assert review is not None
        assert isinstance(review.tools, ReviewTools), "the Review panel runs on the studio database"
        # The timeline scope's keys (J/K/L, 1/2/3) reach the Review panel in the real window.
        assert window.qactions["playback.play_pause"] in review.actions()
        run(qloop, window.shutdown())
        window.close()
        window.deleteLater()
        run(qloop, asyncio.sleep(0.01))
    finally:
        studio.close()
