"""Python garbage collection only on the GUI thread.

CPython collects on whichever thread happens to allocate. With decode threads, executors and
listener threads allocating all the time, a collection can run on one of them and finalise Qt
wrappers there, destroying QObjects off the GUI thread; Qt then crashes later, somewhere else.
So automatic collection is switched off and a timer on the GUI thread collects with the same
generation thresholds (the approach pyqtgraph's GarbageCollector takes).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class MainThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 250) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        """Give collection back to the interpreter (tests, shutdown)."""
        self._timer.stop()
        gc.enable()
