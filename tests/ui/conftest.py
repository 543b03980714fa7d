"""Qt tests collect Python garbage on the GUI thread only, as the studio does (ui/gc_guard.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from x121_desktop.ui.gc_guard import MainThreadGarbageCollector


@pytest.fixture(autouse=True)
def _gc_on_the_gui_thread(qapp: QApplication) -> Iterator[None]:
    collector = MainThreadGarbageCollector(qapp)
    yield
    collector.stop()
    gc.collect()  # between tests, on this (the GUI) thread
    collector.deleteLater()
