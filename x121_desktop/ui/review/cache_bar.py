"""The cache bar: which frames are decoded and ready (green runs over the clip's length)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from x121_desktop.ui.review.colors import color


def runs(frames: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted frame numbers as [start, stop) runs: [1, 2, 3, 7] → [(1, 4), (7, 8)]."""
    out: list[tuple[int, int]] = []
    for f in sorted(set(frames)):
        if out and out[-1][1] == f:
            out[-1] = (out[-1][0], f + 1)
        else:
            out.append((f, f + 1))
    return out


class CacheBar(QWidget):
    """A thin strip under the timeline; `set_cached` takes the frames ready in every cell."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame_count = 1
        self.cached_runs: list[tuple[int, int]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(400, 5)

    def set_cached(self, frame_count: int, frames: Iterable[int]) -> None:
        new = runs(frames)
        if new != self.cached_runs or frame_count != self.frame_count:
            self.cached_runs, self.frame_count = new, max(1, frame_count)
            self.update()

    @property
    def cached_count(self) -> int:
        return sum(b - a for a, b in self.cached_runs)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), color("timeline.bg"))
        scale = self.width() / self.frame_count
        good = color("seam.good")
        for a, b in self.cached_runs:
            p.fillRect(QRectF(a * scale, 0, max(1.0, (b - a) * scale), self.height()), good)
        p.end()
