"""Sync grid layouts, reference pinning and compare modes (A/B, wipe, difference, blend).

All cells play from the panel's one clock, so every layout is lockstep. `CompareController`
pins a reference take (`ReviewPanel.load` keeps it in the first cell whatever else is loaded, from
here, "Open clips…" or a scene's compare; `ReviewPanel.pinned` is the one record of it), switches the grid
between 1x1, 1x2, 2x2 and 3x3, and, for the modes other than side by side, lays a
`CompareCanvas` over the grid that composites the first two cells' frames on screen
(`core.review.compare.composite`); the wipe line follows the mouse while dragged. Switching the
layout keeps the frame, in/out, the pin and the mode (1x1 has no B, so it ends a compare mode).
The region-of-interest zoom (`RoiController`, ui/review/roi.py) is part of the grid's tools: the
canvas shows the same region of the composite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRect, Qt, Signal
from PySide6.QtGui import QFont, QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from x121_desktop.core.review.compare import CompareMode, Rgb, composite
from x121_desktop.services.review_media import DecodedFrame
from x121_desktop.ui.review.colors import color
from x121_desktop.ui.review.frame_view import FrameView, fit_size
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.roi import RoiController
from x121_desktop.ui.review.roi_math import FULL, Roi, zoom_rgb

LAYOUTS = ((1, 1), (1, 2), (2, 2), (3, 3))


def frame_rgb(frame: DecodedFrame | None) -> Rgb | None:
    if frame is None:
        return None
    if frame.rgb is not None:
        return frame.rgb
    return frame.yuv.to_rgb() if frame.yuv is not None else None


class CompareCanvas(QWidget):
    """Covers the grid and shows A and B (the first two cells) composited by `mode`."""

    wipe_moved = Signal(float)

    def __init__(self, grid: QWidget, a: FrameView, b: FrameView) -> None:
        super().__init__(grid)
        self.setObjectName("compareCanvas")
        self.a, self.b = a, b
        self.mode = CompareMode.WIPE
        self.wipe = 0.5
        self.last: Rgb | None = None
        self.last_indices: tuple[int | None, int | None] = (None, None)
        self.roi: Roi | None = None
        self.shown: Rgb | None = None
        """The pixels on screen: `last`, or its region of interest scaled to the canvas."""
        self._image: QImage | None = None
        grid.installEventFilter(self)
        self.setGeometry(grid.rect())
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.raise_()
        self.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        parent = self.parentWidget()
        if parent is not None and watched is parent and event.type() == QEvent.Type.Resize:
            self.setGeometry(parent.rect())
        return False

    def refresh(self) -> None:
        """Composite the frames the two cells show now (called when the player puts up frames)."""
        a, b = frame_rgb(self.a.state.frame), frame_rgb(self.b.state.frame)
        if a is None or b is None:
            return
        out = np.ascontiguousarray(composite(a, b, self.mode, wipe=self.wipe))
        self.last = out
        self.last_indices = (self.a.shown_index, self.b.shown_index)
        self._show()

    def set_roi(self, roi: Roi | None) -> None:
        self.roi = roi
        self._show()

    def _show(self) -> None:
        out = self.last
        if out is None:
            return
        if self.roi is not None:
            out = zoom_rgb(out, self.roi, (self.width(), self.height()))
        self.shown = out
        h, w = out.shape[:2]
        self._image = QImage(out.data, w, h, out.strides[0], QImage.Format.Format_RGB888)
        self.update()

    def picture_rect(self) -> QRect:
        rect = self.rect()
        if self._image is None:
            return rect
        w, h = fit_size((self._image.width(), self._image.height()), rect.size())
        return QRect(rect.left() + (rect.width() - w) // 2, rect.top() + (rect.height() - h) // 2, w, h)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._drag_wipe(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._drag_wipe(event)

    def _drag_wipe(self, event: QMouseEvent) -> None:
        if self.mode is not CompareMode.WIPE:
            return
        r, roi = self.picture_rect(), self.roi or FULL
        at = roi.x + roi.w * (event.position().x() - r.left()) / max(1, r.width())
        self.wipe = min(max(at, 0.0), 1.0)
        self.wipe_moved.emit(self.wipe)
        self.refresh()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), color("canvas.bg"))
        r = self.picture_rect()
        if self._image is not None:
            p.drawImage(r, self._image)  # `shown` keeps the image's buffer alive
            roi = self.roi or FULL
            if self.mode is CompareMode.WIPE and roi.x <= self.wipe <= roi.x + roi.w:
                x = r.left() + round((self.wipe - roi.x) / roi.w * r.width())
                p.setPen(color("timeline.playhead"))
                p.drawLine(x, r.top(), x, r.bottom())
        p.setFont(QFont(p.font().family(), 9))
        p.setPen(color("fg.primary"))
        ia, ib = self.last_indices
        mode = self.mode.value.replace("_", " ")
        text = f"{mode}  ·  A {self.a.state.label} frame {ia}  ·  B {self.b.state.label} frame {ib}"
        p.drawText(
            self.rect().adjusted(8, 4, -8, -4), int(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft), text
        )
        p.end()


class CompareController(QObject):
    """Layouts, pinning and compare modes for a ReviewPanel. Emits `mode_changed(mode value)`."""

    mode_changed = Signal(str)

    def __init__(self, panel: ReviewPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.mode = CompareMode.SIDE_BY_SIDE
        self.wipe = 0.5
        self.canvas: CompareCanvas | None = None
        self.roi = RoiController(panel)
        self.roi.roi_changed.connect(self._roi_changed)
        panel.loaded.connect(self._reinstall)
        panel.layout_changed.connect(self._layout_changed)

    # ------------------------------------------------------------------ content
    @property
    def pinned(self) -> Path | None:
        """The pinned reference: the panel's (`ReviewPanel.pinned`), so the two can never disagree."""
        return self.panel.pinned

    def show(self, paths: Sequence[Path | str]) -> None:
        """Load `paths`, keeping the pinned reference in the first cell (`ReviewPanel.load`)."""
        self.panel.load(paths)

    def pin(self, path: Path | str | None) -> None:
        """Pin a reference take (None unpins: it stays in its cell as any clip); the grid reloads with it
        first and the clips shown so far after it."""
        self.panel.pinned = None if path is None else Path(path)
        self.panel.load(self.panel.paths)

    def set_layout(self, rows: int, columns: int) -> None:
        if (rows, columns) not in LAYOUTS:
            raise ValueError(f"layouts are {', '.join(f'{r}x{c}' for r, c in LAYOUTS)}, not {rows}x{columns}")
        self.panel.set_grid(rows, columns)

    # ------------------------------------------------------------------ modes
    def set_mode(self, mode: CompareMode) -> None:
        self.mode = mode
        if mode is not CompareMode.SIDE_BY_SIDE and self.panel.grid_shape == (1, 1):
            self.panel.set_grid(1, 2)  # compare needs A and B decoding
        else:
            self._reinstall()
        self.mode_changed.emit(mode.value)

    def toggle(self, mode: CompareMode) -> None:
        self.set_mode(CompareMode.SIDE_BY_SIDE if self.mode is mode else mode)

    def toggle_ab(self) -> None:
        """A/B: show A; pressed again, B; again, A … (frame-aligned, the clock never stops)."""
        self.set_mode(CompareMode.B if self.mode is CompareMode.A else CompareMode.A)

    def handlers(self) -> dict[str, Callable[[], object]]:
        return {
            "review.compare.ab": self.toggle_ab,
            "review.compare.wipe": lambda: self.toggle(CompareMode.WIPE),
            "review.compare.difference": lambda: self.toggle(CompareMode.DIFFERENCE),
            "review.grid": lambda: self.set_layout(*((1, 1) if self.panel.grid_shape == (2, 2) else (2, 2))),
            **self.roi.handlers(),
        }

    def _layout_changed(self) -> None:
        if self.mode is not CompareMode.SIDE_BY_SIDE and len(self.panel.grid.cells) < 2:
            self.mode = CompareMode.SIDE_BY_SIDE  # one cell: nothing to compare A with
            self.mode_changed.emit(self.mode.value)
        self._reinstall()

    def _roi_changed(self) -> None:
        if self.canvas is not None:
            self.canvas.set_roi(self.roi.roi)

    def _reinstall(self) -> None:
        if self.canvas is not None:
            self.canvas.hide()
            self.canvas.deleteLater()
            self.canvas = None
        cells = self.panel.grid.cells
        if self.mode is CompareMode.SIDE_BY_SIDE or len(cells) < 2:
            return
        self.canvas = CompareCanvas(self.panel.grid, cells[0], cells[1])
        self.canvas.mode, self.canvas.wipe, self.canvas.roi = self.mode, self.wipe, self.roi.roi
        self.canvas.wipe_moved.connect(self._wipe_moved)
        self.panel.controller.frames_shown.connect(self.canvas.refresh)
        self.canvas.refresh()

    def _wipe_moved(self, wipe: float) -> None:
        self.wipe = wipe
