"""Garbage is collected on the GUI thread only: automatic collection off, a GUI-thread timer instead."""

from __future__ import annotations

import gc
import threading

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from x121_desktop.ui.gc_guard import MainThreadGarbageCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _collected.append(threading.current_thread().name)


_collected: list[str] = []


def test_cycles_made_on_a_worker_thread_are_collected_on_the_gui_thread(qtbot: QtBot, qapp: QApplication) -> None:
    collector = MainThreadGarbageCollector(qapp, interval_ms=20)
    try:
        assert not gc.isenabled()
        _collected.clear()

        def churn() -> None:
            for _ in range(5000):
                _Cycle()  # cycles only the collector can free; allocation would trigger gc here if enabled

        worker = threading.Thread(target=churn, name="worker")
        worker.start()
        worker.join()
        assert _collected == [], "nothing may be collected on the worker thread"
        qtbot.waitUntil(lambda: len(_collected) > 0, timeout=5000)
        assert set(_collected) == {threading.main_thread().name}
    finally:
        collector.stop()
        gc.collect()
    assert gc.isenabled()
