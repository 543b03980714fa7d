"""The scrub timeline: frame ruler, in/out range, playhead; press or drag to scrub."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from x121_desktop.ui.review.colors import color


class TimelineBar(QWidget):
    """Emits `scrub_requested(frame)` while the mouse is pressed or dragged over it."""

    scrub_requested = Signal(int)
    scrub_started = Signal()
    scrub_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame_count = 1
        self.playhead = 0
        self.in_point: int | None = None
        self.out_point: int | None = None
        self.marks: list[tuple[int, QColor]] = []
        """Seam marks: (frame, colour) drawn as traffic-light dots with a line down the ruler."""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(False)

    def sizeHint(self) -> QSize:
        return QSize(400, 28)

    def set_state(self, frame_count: int, playhead: int, in_point: int | None, out_point: int | None) -> None:
        state = (max(1, frame_count), playhead, in_point, out_point)
        if state != (self.frame_count, self.playhead, self.in_point, self.out_point):
            self.frame_count, self.playhead, self.in_point, self.out_point = state
            self.update()

    def set_marks(self, marks: list[tuple[int, QColor]]) -> None:
        self.marks = list(marks)
        self.update()

    def frame_at(self, x: float) -> int:
        return min(max(int(x * self.frame_count / max(1, self.width())), 0), self.frame_count - 1)

    def x_of(self, frame: int) -> float:
        return frame * self.width() / self.frame_count

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.scrub_started.emit()
            self.scrub_requested.emit(self.frame_at(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.scrub_requested.emit(self.frame_at(event.position().x()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.scrub_finished.emit()

    # ------------------------------------------------------------------ paint
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), color("timeline.bg"))
        if self.in_point is not None or self.out_point is not None:
            a = self.x_of(self.in_point or 0)
            b = self.x_of((self.out_point if self.out_point is not None else self.frame_count - 1) + 1)
            band = color("timeline.in_out")
            band.setAlpha(70)
            p.fillRect(QRectF(a, 0, b - a, h), band)
        p.setPen(color("timeline.marker"))
        step = _tick_step(self.frame_count, w)
        p.setFont(QFont(p.font().family(), 8))
        for f in range(0, self.frame_count, step):
            x = self.x_of(f)
            p.drawLine(QPointF(x, h - 6), QPointF(x, h))
            if f % (step * 5) == 0:
                p.drawText(QPointF(x + 2, 11), str(f))
        half = self.width() / self.frame_count / 2
        for frame, mark in self.marks:
            mx = self.x_of(frame) + half
            p.setPen(QPen(mark, 2))
            p.drawLine(QPointF(mx, 0), QPointF(mx, h))
            p.setBrush(mark)
            p.drawEllipse(QPointF(min(max(mx, 5.0), w - 5.0), h / 2), 5.0, 5.0)
        p.setBrush(Qt.BrushStyle.NoBrush)
        x = self.x_of(self.playhead) + half
        p.setPen(color("timeline.playhead"))
        p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.end()


def _tick_step(count: int, width: int) -> int:
    """A 1-2-5 frame step that keeps ticks at least 6 px apart."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if width * step / max(1, count) >= 6:
            return step
    return 10000
