"""Region-of-interest zoom on the sync grid: drag a zoom window on any cell and every cell shows
that region (normalised image coordinates, so clips of any resolution line up), mirrored live
while the window is dragged. While a region is set, playback loops the in/out range (the whole
clip where none is marked); resetting gives the loop setting back.

Mouse: left-drag on a cell's picture. The dragged cell keeps what it showed at the press, with
the window drawn over it (a picture zooming under the cursor would move the window's origin);
every other cell follows the window live; the release zooms them all. A drag on a zoomed cell
picks a region inside the current one. A click (under MIN_DRAG_PX either way) changes nothing; a
double click resets. Keys (review.roi.*, from the keymap): zoom 2x in/out about the centre, move
the window a quarter of its size, reset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent

from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.roi_math import FULL, Roi, band_between

MIN_DRAG_PX = 6
PAN_STEP = 0.25


@dataclass(slots=True)
class _Drag:
    view: FrameView
    start: QPointF
    base: Roi
    target: Roi | None = None


class RoiController(QObject):
    """The grid's zoom window. Emits `roi_changed` after each `set_roi`."""

    roi_changed = Signal()

    def __init__(self, panel: ReviewPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.roi: Roi | None = None
        self.preview: Roi | None = None
        """The window being dragged (what the other cells show live), None when not dragging."""
        self._loop_before: bool | None = None
        self._drag: _Drag | None = None
        panel.loaded.connect(self._attach)
        panel.layout_changed.connect(self._attach)
        self._attach()

    # ------------------------------------------------------------------ state
    def set_roi(self, roi: Roi | None) -> None:
        """Show `roi` in every cell (None or the whole picture: reset) and loop in/out while it is set."""
        if roi is not None and roi.is_full:
            roi = None
        self._drag, self.preview = None, None
        had = self.roi is not None
        self.roi = roi
        for view in self.panel.grid.cells:
            view.set_band(None)
            view.set_roi(roi)
        player = self.panel.controller
        if roi is not None and not had:
            self._loop_before = player.clock.loop
            player.set_loop(True)
        elif roi is None and had and self._loop_before is not None:
            player.set_loop(self._loop_before)
            self._loop_before = None
        player.tick()  # full-size frames for the crop (or cell-size ones again)
        self.roi_changed.emit()

    def handlers(self) -> dict[str, Callable[[], object]]:
        return {
            "review.roi.zoom_in": lambda: self.set_roi((self.roi or FULL).scaled(2.0)),
            "review.roi.zoom_out": lambda: self.set_roi(self.roi.scaled(0.5) if self.roi else None),
            "review.roi.pan_left": lambda: self.move(-PAN_STEP, 0.0),
            "review.roi.pan_right": lambda: self.move(PAN_STEP, 0.0),
            "review.roi.pan_up": lambda: self.move(0.0, -PAN_STEP),
            "review.roi.pan_down": lambda: self.move(0.0, PAN_STEP),
            "review.roi.reset": lambda: self.set_roi(None),
        }

    def move(self, dx: float, dy: float) -> None:
        if self.roi is not None:
            self.set_roi(self.roi.moved(dx, dy))

    def _attach(self) -> None:
        """New cells (a load or a layout switch) show the region and report drags; a new player loops."""
        for view in self.panel.grid.cells:
            view.installEventFilter(self)  # installing twice only moves it to the front
            view.set_roi(self.roi)
        if self.roi is not None:
            self.panel.controller.set_loop(True)
            self.panel.controller.tick()

    # ------------------------------------------------------------------ mouse
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, FrameView) or not isinstance(event, QMouseEvent):
            return False
        kind, pos = event.type(), event.position()
        left = event.button() == Qt.MouseButton.LeftButton
        if kind == QEvent.Type.MouseButtonDblClick and left:
            self.set_roi(None)
            return True
        if kind == QEvent.Type.MouseButtonPress and left:
            if watched.state.frame is None or not watched.picture_rect().contains(pos.toPoint()):
                return False
            self._drag = _Drag(watched, pos, self.roi or FULL)
            return True
        drag = self._drag
        if drag is None or drag.view is not watched:
            return False
        if kind == QEvent.Type.MouseMove:
            self._dragged(drag, pos)
            return True
        if kind == QEvent.Type.MouseButtonRelease and left:
            self._dragged(drag, pos)
            drag.view.set_band(None)
            if drag.target is not None:
                self.set_roi(drag.target)
            else:
                self._show_others(self.roi)
            self._drag = None
            return True
        return False

    def _dragged(self, drag: _Drag, pos: QPointF) -> None:
        pic = drag.view.picture_rect()
        w, h = max(1, pic.width()), max(1, pic.height())
        a, b = drag.start, pos
        band = band_between(
            (a.x() - pic.left()) / w, (a.y() - pic.top()) / h, (b.x() - pic.left()) / w, (b.y() - pic.top()) / h
        )
        big = abs(b.x() - a.x()) >= MIN_DRAG_PX and abs(b.y() - a.y()) >= MIN_DRAG_PX
        drag.target = drag.base.inner(band) if band is not None and big else None
        drag.view.set_band(band if drag.target is not None else None)
        self.preview = drag.target
        self._show_others(drag.target or self.roi, but=drag.view)

    def _show_others(self, roi: Roi | None, but: FrameView | None = None) -> None:
        for view in self.panel.grid.cells:
            if view is not but:
                view.set_roi(roi)
        if but is None:
            self.preview = None
