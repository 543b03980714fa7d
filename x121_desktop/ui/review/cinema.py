"""Cinema mode: the current clip full screen on black, with an Ambilight glow around the picture.

The glow comes from the colours along the frame's borders (`core.review.ambilight`), computed
from each frame the player puts up (rgb on the QPainter path, Y'CbCr planes on the GL path, so
no full conversion), smoothed over time, and painted as gradients from the picture's edges
outwards. The cinema player has its own decode worker and clock, started at the panel's frame;
Esc leaves and puts the panel on the frame cinema ended on. Space plays/pauses, ←/→ step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QWidget

from x121_desktop.core.review.ambilight import Glow, GlowSmoother, border_glow, border_glow_yuv
from x121_desktop.ui.review.frame_view import FrameView, fit_size
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.player import PlayerController

PICTURE_SHARE = 0.82  # of the screen's width/height the picture may take; the rest glows
GLOW_ALPHA = 235
OPAQUE = np.uint32(0xFF000000)
GLOW_DIV = 4  # the glow is rendered at 1/4 resolution and blown up (software fills cost per pixel)


def glow_of(view: FrameView) -> Glow | None:
    frame = view.state.frame
    if frame is None:
        return None
    if frame.yuv is not None:
        return border_glow_yuv(frame.yuv)
    return border_glow(frame.rgb) if frame.rgb is not None else None


Centres = npt.NDArray[np.floating[Any]]


@dataclass(frozen=True, slots=True)
class _Side:
    """One margin beside the picture: buffer slice, fade across it, colour weights along it."""

    rows: slice
    cols: slice
    fade: npt.NDArray[np.float32]  # premultiplied alpha across the margin (GLOW_ALPHA at the picture)
    weights: npt.NDArray[np.float32]  # (pixels along, zones): linear between zone centres, ends held
    across_rows: bool  # the fade runs down the rows (top, bottom) or along the columns (left, right)


@dataclass(frozen=True, slots=True)
class _Corner:
    rows: slice
    cols: slice
    levels: npt.NDArray[np.uint8]  # radial premultiplied alpha from the picture's corner, 0..255


@dataclass(frozen=True, slots=True)
class _Layout:
    """Everything about the surround that depends only on the geometry, at 1/div resolution."""

    key: tuple[int, ...]
    sides: tuple[_Side, _Side, _Side, _Side]  # top, bottom, left, right (Glow.sides order)
    corners: tuple[_Corner, _Corner, _Corner, _Corner]  # top-left, top-right, bottom-left, bottom-right


def _fade(centres: Centres, at_picture: float, at_edge: float) -> npt.NDArray[np.float32]:
    if at_picture == at_edge:  # no margin on this side (a pixel at most, from rounding up)
        return np.zeros(len(centres), np.float32)
    alpha = np.clip((centres - at_edge) / (at_picture - at_edge), 0.0, 1.0) * (GLOW_ALPHA / 255)
    return np.asarray(alpha, dtype=np.float32)


def _weights(centres: Centres, start: float, stop: float, zones: int) -> npt.NDArray[np.float32]:
    t = (centres - start) / (stop - start)
    at = (np.arange(zones) + 0.5) / zones
    return np.stack([np.interp(t, at, np.eye(zones)[i]) for i in range(zones)], axis=1).astype(np.float32)


def _bgrx(rgb: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(n, 3) R, G, B → (n, 4) B, G, R, 0: the byte order of a little-endian 0xffRRGGBB pixel."""
    out = np.zeros((len(rgb), 4), np.float32)
    out[:, :3] = rgb[:, ::-1]
    return out


def _packed(bgrx: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint32]:
    """(..., 4) B, G, R, x on 0..255 → (...) opaque RGB32 pixels."""
    return np.asarray(bgrx.astype(np.uint8).view(np.uint32)[..., 0] | OPAQUE, dtype=np.uint32)


def _layout(size: QSize, picture: QRect, div: int, across: int, down: int) -> _Layout:
    bw, bh = -(-size.width() // div), -(-size.height() // div)  # the buffer, rounded up
    wf, hf = size.width() / div, size.height() / div
    pl, pt = picture.left() / div, picture.top() / div
    pr, pb = (picture.right() + 1) / div, (picture.bottom() + 1) / div
    xs, ys = np.arange(bw) + 0.5, np.arange(bh) + 0.5  # pixel centres
    # by pixel centre: rows above / below the picture, columns left / right of it
    top, bottom = math.ceil(pt - 0.5), math.ceil(pb - 0.5)
    left, right = math.ceil(pl - 0.5), math.ceil(pr - 0.5)
    # sides reach one pixel into the picture where its edge splits a pixel (the blow-up samples it)
    t_rows, b_rows = slice(0, math.ceil(pt)), slice(math.floor(pb), bh)
    l_cols, r_cols = slice(0, math.ceil(pl)), slice(math.floor(pr), bw)
    mid_cols, mid_rows = slice(left, right), slice(top, bottom)
    sides = (
        _Side(t_rows, mid_cols, _fade(ys[t_rows], pt, 0.0), _weights(xs[mid_cols], pl, pr, across), True),
        _Side(b_rows, mid_cols, _fade(ys[b_rows], pb, hf), _weights(xs[mid_cols], pl, pr, across), True),
        _Side(mid_rows, l_cols, _fade(xs[l_cols], pl, 0.0), _weights(ys[mid_rows], pt, pb, down), False),
        _Side(mid_rows, r_cols, _fade(xs[r_cols], pr, wf), _weights(ys[mid_rows], pt, pb, down), False),
    )
    reach = max(1.0, min(pl, pt, wf - pr, hf - pb))
    above, below, before, after = slice(0, top), slice(bottom, bh), slice(0, left), slice(right, bw)
    corners = []
    for rows, cols, cy, cx in ((above, before, pt, pl), (above, after, pt, pr), (below, before, pb, pl),
                               (below, after, pb, pr)):  # fmt: skip
        d = np.hypot(ys[rows, None] - cy, xs[None, cols] - cx)
        levels = np.rint(np.clip(1.0 - d / reach, 0.0, 1.0) * GLOW_ALPHA)
        corners.append(_Corner(rows, cols, levels.astype(np.uint8)))
    key = (size.width(), size.height(), picture.x(), picture.y(), picture.width(), picture.height(), div, across, down)
    return _Layout(key, sides, (corners[0], corners[1], corners[2], corners[3]))


class GlowSurround:
    """The glow around the picture, rendered at 1/`div` resolution into one reused RGB32 buffer.

    Along each side the zone colours are interpolated linearly between zone centres (the end
    colours held), faded linearly from GLOW_ALPHA at the picture's edge to nothing at the screen's;
    each corner glows radially from the picture's corner with the mean of its two end colours,
    out to the narrowest margin; black behind (what QPainter gradients drew before, see
    tests/ui/review/glow_reference.py). Fades, interpolation weights and corner masks depend only
    on the geometry and are kept until it changes, so a frame costs four small matrix products,
    four outer products, four 256-entry colour tables for the corners and the writes into the
    margins (the middle of the buffer is never used). Little-endian byte order is assumed.
    """

    def __init__(self, div: int = GLOW_DIV) -> None:
        self.div = div
        self._layout: _Layout | None = None
        self._pixels = np.zeros((0, 0), np.uint32)  # 0xffRRGGBB, what QImage.Format_RGB32 holds
        self._image = QImage()

    def render(self, size: QSize, picture: QRect, glow: Glow) -> QImage:
        """The surround for a `size` window with the picture at `picture`; the same QImage every time."""
        across, down = len(glow.top), len(glow.left)
        layout = self._layout
        key = (size.width(), size.height(), picture.x(), picture.y(), picture.width(), picture.height())
        if layout is None or layout.key != (*key, self.div, across, down):
            layout = self._layout = _layout(size, picture, self.div, across, down)
            h, w = -(-size.height() // self.div), -(-size.width() // self.div)
            self._pixels = np.full((h, w), OPAQUE, np.uint32)
            self._image = QImage(self._pixels.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)
        pixels = self._pixels
        for side, zones in zip(layout.sides, glow.sides(), strict=True):
            along = side.weights @ _bgrx(zones)  # (pixels along, 4)
            block = _packed(side.fade[:, None, None] * along[None])  # (across, along): inner loops run along
            pixels[side.rows, side.cols] = block if side.across_rows else block.T
        ends = ((glow.top[0], glow.left[0]), (glow.top[-1], glow.right[0]),
                (glow.bottom[0], glow.left[-1]), (glow.bottom[-1], glow.right[-1]))  # fmt: skip
        levels = np.arange(256, dtype=np.float32)[:, None] / 255
        for corner, (a, b) in zip(layout.corners, ends, strict=True):
            lut = _packed(levels * _bgrx((a + b)[None] * 0.5))  # colour at each alpha level
            pixels[corner.rows, corner.cols] = lut[corner.levels]
        return self._image

    def blit(self, p: QPainter, size: QSize, picture: QRect) -> None:
        """Draw the four margins around `picture` from the last `render`, blown up unsmoothed."""
        blit_glow(p, size, picture, self._image, self.div)


def blit_glow(p: QPainter, size: QSize, picture: QRect, image: QImage, div: int = GLOW_DIV) -> None:
    """Draw the surround (the four margins around `picture`) from a 1/`div` image, unsmoothed."""
    w, h = size.width(), size.height()
    top, bottom = picture.top(), picture.bottom() + 1
    left, right = picture.left(), picture.right() + 1
    for r in (QRect(0, 0, w, top), QRect(0, bottom, w, h - bottom),
              QRect(0, top, left, bottom - top), QRect(right, top, w - right, bottom - top)):  # fmt: skip
        if r.width() > 0 and r.height() > 0:
            src = QRectF(r.left() / div, r.top() / div, r.width() / div, r.height() / div)
            p.drawImage(QRectF(r), image, src)


class CinemaWindow(QWidget):
    """Black full-screen surround with the glow; the FrameView sits on the picture rectangle."""

    exit_requested = Signal()

    def __init__(self, prefer_gl: bool = True) -> None:
        super().__init__(None)
        self.setObjectName("cinemaWindow")
        self.setWindowTitle("X121 cinema")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view = FrameView("", self, prefer_gl=prefer_gl)
        self.glow: Glow | None = None
        self.surround = GlowSurround()
        self.video_size = (16, 9)
        self.controller: PlayerController | None = None

    def picture_rect(self) -> QRect:
        box = self.rect().size() * PICTURE_SHARE
        w, h = fit_size(self.video_size, box)
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.view.setGeometry(self.picture_rect())

    def set_glow(self, glow: Glow) -> None:
        self.glow = glow
        r = self.picture_rect()
        self.surround.render(self.size(), r, glow)
        self.update()  # the surround only is painted here; the view paints itself
        self.view.setGeometry(r)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        if self.glow is None:
            p.fillRect(self.rect(), Qt.GlobalColor.black)
        else:
            self.surround.blit(p, self.size(), self.picture_rect())
        p.end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        c, key = self.controller, event.key()
        if key == Qt.Key.Key_Escape:
            self.exit_requested.emit()
        elif c is not None and key == Qt.Key.Key_Space:
            c.play_pause()
        elif c is not None and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            c.step(1 if key == Qt.Key.Key_Right else -1)
        else:
            super().keyPressEvent(event)


class CinemaMode(QObject):
    """review.cinema_mode: enter/leave full screen for the panel's first clip."""

    entered = Signal()
    left = Signal(int)

    def __init__(self, panel: ReviewPanel, *, full_screen: bool = True) -> None:
        super().__init__(panel)
        self.panel = panel
        self.full_screen = full_screen
        self.window: CinemaWindow | None = None
        self.controller: PlayerController | None = None
        self.smoother = GlowSmoother()
        self.glow_ms: list[float] = []
        self._start_frame = 0
        self._started = False

    @property
    def active(self) -> bool:
        return self.window is not None

    def toggle(self) -> None:
        if self.active:
            self.leave()
        else:
            self.enter()

    def handlers(self) -> dict[str, Callable[[], object]]:
        return {"review.cinema_mode": self.toggle}

    def enter(self) -> None:
        if self.active or not self.panel.paths:
            return
        clock = self.panel.controller.clock
        self._start_frame, playing = clock.frame(), clock.speed
        self.panel.controller.stop()
        window = CinemaWindow(prefer_gl=self.panel.grid.cells[0].uses_gpu if self.panel.grid.cells else False)
        controller = PlayerController(window)
        controller.add_source(self.panel.paths[0], window.view)
        window.controller = controller
        window.exit_requested.connect(self.leave)
        controller.frames_shown.connect(self._frame_shown)
        controller.state_changed.connect(lambda: self._opened(playing))
        self.window, self.controller, self._started = window, controller, False
        self.smoother.reset()
        if self.full_screen:
            window.setGeometry(self.panel.screen().geometry())  # without a window manager too
            window.showFullScreen()
        else:
            window.show()
        window.setFocus()
        self.entered.emit()

    def _opened(self, playing: int) -> None:
        c, w = self.controller, self.window
        if self._started or c is None or w is None or not c.cells or c.cells[0].source.info is None:
            return
        self._started = True
        info = c.cells[0].source.info
        w.video_size = (info.width, info.height)
        w.view.setGeometry(w.picture_rect())
        c.seek(self._start_frame)
        if playing:
            c.play(playing)

    def _frame_shown(self) -> None:
        w = self.window
        if w is None:
            return
        t0 = time.perf_counter()
        glow = glow_of(w.view)
        if glow is None:
            return
        w.set_glow(self.smoother.update(glow))
        self.glow_ms.append((time.perf_counter() - t0) * 1000)

    def leave(self) -> None:
        c, w = self.controller, self.window
        if c is None or w is None:
            return
        frame = c.clock.frame()
        c.close()
        w.close()
        w.deleteLater()
        self.window = self.controller = None
        self.panel.controller.seek(frame)
        self.panel.setFocus()
        self.left.emit(frame)
