"""OpenCV's worker pool switched off while a frame-by-frame analysis runs.

The analyses call OpenCV a few dozen times per frame on small images (¼-⅛ size). OpenCV splits
some of those calls over its worker threads, and after each split the workers spin
(``sched_yield``) before they sleep. Measured with ``perf`` on the 2-core dev machine, seam QA of
a 512² segment: the worker did 0.8 % of the samples' real work and spent 6 % spinning, CPU taken
from the decoder's own threads; the whole QA used ~10 % less CPU with the pool off (1080p: the
same or less). So a scan runs OpenCV serially and leaves the cores to the decoder.

``cv2.setNumThreads`` is process-wide: ``opencv_serial()`` counts nested and concurrent users and
restores the previous setting when the last one leaves. Other OpenCV work in the process runs
serially meanwhile (slower at worst, never wrong).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import cv2


class _Users:
    """How many blocks are inside ``opencv_serial`` and the thread count to restore after them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.saved = 0


_users = _Users()


@contextlib.contextmanager
def opencv_serial() -> Iterator[None]:
    """OpenCV without its worker threads for the duration of the block (re-entrant)."""
    with _users.lock:
        if _users.count == 0:
            _users.saved = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _users.count += 1
    try:
        yield
    finally:
        with _users.lock:
            _users.count -= 1
            if _users.count == 0:
                cv2.setNumThreads(_users.saved)
