"""Cinema mode: the current clip full screen on black, with an Ambilight glow around the picture.

The glow comes from the colours along the frame's borders (`core.review.ambilight`), computed
from each frame the player puts up (rgb on the QPainter path, Y'CbCr planes on the GL path, so
no full conversion), smoothed over time, and painted as gradients from the picture's edges
outwards. The cinema player has its own decode worker and clock, started at the panel's frame;
Esc leaves and puts the panel on the frame cinema ended on. Space plays/pauses, ←/→ step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QLinearGradient,
    QPainter,
    QPaintEvent,
    QRadialGradient,
    QResizeEvent,
)
from PySide6.QtWidgets import QWidget

from x121_desktop.core.review.ambilight import Glow, GlowSmoother, border_glow, border_glow_yuv
from x121_desktop.ui.review.frame_view import FrameView, fit_size
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.player import PlayerController

PICTURE_SHARE = 0.82  # of the screen's width/height the picture may take; the rest glows
GLOW_ALPHA = 235
GLOW_DIV = 4  # the glow is painted at 1/4 resolution and blown up (software fills cost per pixel)


def glow_of(view: FrameView) -> Glow | None:
    frame = view.state.frame
    if frame is None:
        return None
    if frame.yuv is not None:
        return border_glow_yuv(frame.yuv)
    return border_glow(frame.rgb) if frame.rgb is not None else None


def _qcolor(rgb: Sequence[float], alpha: int = GLOW_ALPHA) -> QColor:
    return QColor(int(rgb[0]), int(rgb[1]), int(rgb[2]), alpha)


def paint_glow(p: QPainter, outer: QRect, picture: QRect, glow: Glow) -> None:
    """The surround: each side a gradient along the edge through its zone colours (no steps between
    zones), faded towards the screen edge; corners glow radially from the picture's corners; black behind."""
    pl, pt, pr, pb = picture.left(), picture.top(), picture.right() + 1, picture.bottom() + 1
    ol, ot, or_, ob = outer.left(), outer.top(), outer.right() + 1, outer.bottom() + 1
    sides = (
        (QRectF(pl, ot, pr - pl, pt - ot), glow.top, QPointF(pl, 0), QPointF(pr, 0), QPointF(0, pt), QPointF(0, ot)),
        (QRectF(pl, pb, pr - pl, ob - pb), glow.bottom, QPointF(pl, 0), QPointF(pr, 0), QPointF(0, pb), QPointF(0, ob)),
        (QRectF(ol, pt, pl - ol, pb - pt), glow.left, QPointF(0, pt), QPointF(0, pb), QPointF(pl, 0), QPointF(ol, 0)),
        (
            QRectF(pr, pt, or_ - pr, pb - pt),
            glow.right,
            QPointF(0, pt),
            QPointF(0, pb),
            QPointF(pr, 0),
            QPointF(or_, 0),
        ),
    )
    for rect, zones, a0, a1, f0, f1 in sides:
        if rect.width() <= 0 or rect.height() <= 0:
            continue
        along = QLinearGradient(a0, a1)
        n = len(zones)
        for i, rgb in enumerate(zones):
            along.setColorAt((i + 0.5) / n, _qcolor(rgb))
        along.setColorAt(0.0, _qcolor(zones[0]))
        along.setColorAt(1.0, _qcolor(zones[-1]))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        p.fillRect(rect, along)
        fade = QLinearGradient(f0, f1)
        fade.setColorAt(0.0, QColor(0, 0, 0, 255))
        fade.setColorAt(1.0, QColor(0, 0, 0, 0))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
        p.fillRect(rect, fade)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    corners = (
        (QPointF(pl, pt), QRectF(ol, ot, pl - ol, pt - ot), glow.top[0], glow.left[0]),
        (QPointF(pr, pt), QRectF(pr, ot, or_ - pr, pt - ot), glow.top[-1], glow.right[0]),
        (QPointF(pl, pb), QRectF(ol, pb, pl - ol, ob - pb), glow.bottom[0], glow.left[-1]),
        (QPointF(pr, pb), QRectF(pr, pb, or_ - pr, ob - pb), glow.bottom[-1], glow.right[-1]),
    )
    reach = max(1.0, min(pl - ol, pt - ot, or_ - pr, ob - pb) * 1.0)
    for centre, rect, c1, c2 in corners:
        if rect.width() <= 0 or rect.height() <= 0:
            continue
        radial = QRadialGradient(centre, reach)
        radial.setColorAt(0.0, _qcolor((c1 + c2) / 2))
        radial.setColorAt(1.0, QColor(0, 0, 0, 0))
        p.fillRect(rect, radial)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOver)
    p.fillRect(QRectF(outer), QColor(0, 0, 0))
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)


def render_glow(outer: QRect, picture: QRect, glow: Glow, div: int = GLOW_DIV) -> QImage:
    """The glow at 1/`div` resolution (black behind the gradients)."""
    image = QImage(
        max(1, outer.width() // div), max(1, outer.height() // div), QImage.Format.Format_ARGB32_Premultiplied
    )
    image.fill(Qt.GlobalColor.transparent)
    small = QRect(picture.left() // div, picture.top() // div, picture.width() // div, picture.height() // div)
    p = QPainter(image)
    paint_glow(p, image.rect(), small, glow)
    p.end()
    return image


def blit_glow(p: QPainter, outer: QRect, picture: QRect, image: QImage, div: int = GLOW_DIV) -> None:
    """Draw the surround (the four margins around `picture`) from a `render_glow` image, unsmoothed."""
    w, h = outer.width(), outer.height()
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
        self._glow_image: QImage | None = None
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
        self._glow_image = render_glow(self.rect(), r, glow)
        self.update()  # the surround only is painted here; the view paints itself
        self.view.setGeometry(r)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        if self._glow_image is None:
            p.fillRect(self.rect(), Qt.GlobalColor.black)
        else:
            blit_glow(p, self.rect(), self.picture_rect(), self._glow_image)
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
