"""One player cell: draws decoded frames, its frame number (the frame decoded) and error tiles.

`FrameView` hosts a canvas: `GLFrameCanvas` (QOpenGLWidget, Y/U/V → RGB in a shader, see
frame_gl.py) where OpenGL works, otherwise `PainterFrameCanvas` (rgb24 made by the decode
worker at the drawn size, blitted with QPainter). Offscreen Qt has no usable GL (`isValid()` is
False and painting can crash), so the GL canvas is never made there, and a GL canvas that turns
out invalid once shown is replaced by the painter one.

Region of interest (ui/review/roi.py): with `set_roi`, both canvases show only that window of the
frame, scaled to the cell (the painter crops the full-size rgb24 frame, the GL canvas samples the
same pixels as texture coordinates); `set_band` draws the zoom window being dragged.

The cell the reviewer works in (the last one clicked or tabbed to; ReviewGrid.current) has an
accent line over its label band; vinyl mode takes its sound from it.
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QFont, QGuiApplication, QImage, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from x121_desktop.services.review_media import DecodedFrame
from x121_desktop.ui.review.colors import color
from x121_desktop.ui.review.roi_math import FULL, Roi, crop_box, fit_wh, shown_window, zoom_rgb

NO_GL_PLATFORMS = frozenset({"offscreen", "minimal", "vnc"})


def gl_possible() -> bool:
    """False where a QOpenGLWidget cannot work (offscreen Qt, or X121_NO_GL set)."""
    return QGuiApplication.platformName() not in NO_GL_PLATFORMS and not os.environ.get("X121_NO_GL")


def fit_size(src: tuple[int, int], box: QSize) -> tuple[int, int]:
    """The largest even (w, h) with `src`'s aspect ratio inside `box` (at least 2x2)."""
    return fit_wh(src, (box.width(), box.height()))


def centred(rect: QRect, size: tuple[int, int]) -> QRect:
    """A `size` rectangle centred in `rect`."""
    w, h = size
    return QRect(rect.left() + (rect.width() - w) // 2, rect.top() + (rect.height() - h) // 2, w, h)


def frame_size(frame: DecodedFrame | None) -> tuple[int, int] | None:
    """(width, height) of the picture a decoded frame carries."""
    if frame is None:
        return None
    if frame.rgb is not None:
        return frame.rgb.shape[1], frame.rgb.shape[0]
    return (frame.yuv.y.shape[1], frame.yuv.y.shape[0]) if frame.yuv is not None else None


def shown_size(frame: DecodedFrame | None, roi: Roi | None) -> tuple[int, int] | None:
    """The pixel size of what a cell shows of `frame`: the whole frame, or the crop of `roi`."""
    size = frame_size(frame)
    if size is None or roi is None:
        return size
    x0, y0, x1, y1 = crop_box(roi, *size)
    return x1 - x0, y1 - y0


class CellState:
    """What a cell shows besides the picture: its name, the frame decoded, an error sentence."""

    def __init__(self) -> None:
        self.label = ""
        self.frame: DecodedFrame | None = None
        self.error: str | None = None
        self.info_text = ""
        self.roi: Roi | None = None
        """The zoom window shown (None: the whole frame)."""
        self.band: Roi | None = None
        """A zoom window being dragged, relative to the picture on screen."""
        self.current = False
        """The cell the reviewer works in (marked on its label band)."""
        self.audio = ""
        """The audible cell's mark (♪ and its volume), drawn at the right of the label band; "" elsewhere."""


def paint_overlay(p: QPainter, rect: QRect, state: CellState) -> None:
    """Frame number and name along the bottom edge; an error tile over everything on failure."""
    p.setFont(QFont(p.font().family(), 9))
    if state.error is not None:
        p.fillRect(rect, color("canvas.bg"))
        p.setPen(color("status.failed.fg"))
        p.drawRect(rect.adjusted(4, 4, -5, -5))
        inner = rect.adjusted(16, 16, -16, -16)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        p.drawText(inner, int(flags), f"Cannot play {state.label}\n\n{state.error}")
        return
    text = state.label
    if state.frame is not None:
        text = f"{text}  ·  frame {state.frame.index}" if text else f"frame {state.frame.index}"
    if state.roi is not None:
        text = f"{text}  ·  zoom {state.roi.zoom:.1f}x"
    if state.info_text:
        text = f"{text}  ·  {state.info_text}"
    if text or state.current or state.audio:
        band = QRect(rect.left(), rect.bottom() - 20, rect.width(), 21)
        p.fillRect(band, color("canvas.bg").darker(120))
        if state.current:
            p.fillRect(QRect(band.left(), band.top(), band.width(), 2), color("timeline.in_out"))
        p.setPen(color("fg.primary"))
        p.drawText(band.adjusted(8, 0, -8, 0), int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        if state.audio:
            p.setPen(color("timeline.in_out"))
            right = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight)
            p.drawText(band.adjusted(8, 0, -8, 0), right, state.audio)


def paint_band(p: QPainter, picture: QRect, band: Roi | None) -> None:
    """The zoom window being dragged, over the picture."""
    if band is None:
        return
    r = QRect(
        picture.left() + round(band.x * picture.width()),
        picture.top() + round(band.y * picture.height()),
        max(1, round(band.w * picture.width())),
        max(1, round(band.h * picture.height())),
    )
    p.setPen(QPen(color("timeline.playhead"), 1, Qt.PenStyle.DashLine))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(r.adjusted(0, 0, -1, -1))


class PainterFrameCanvas(QWidget):
    """The software path: draws rgb24 frames (already at the drawn size) with QPainter. With a
    region of interest it crops the frame (asked for at full size) and scales the crop to the cell."""

    uses_gpu = False

    def __init__(self, state: CellState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._rgb: np.ndarray | None = None
        self.shown: np.ndarray | None = None
        """The rgb24 pixels on screen (the zoomed crop under a region of interest); drawn 1:1."""
        self._image: QImage | None = None
        self.paints = 0

    def set_frame(self, frame: DecodedFrame) -> None:
        rgb = frame.rgb
        if rgb is None and frame.yuv is not None:
            rgb = frame.yuv.to_rgb()
        if rgb is None:
            return
        self._rgb = rgb
        self.refresh_picture()

    def refresh_picture(self) -> None:
        """Make the picture for the current frame, region and size (called on each change of them)."""
        rgb, roi = self._rgb, self.state.roi
        if rgb is None:
            return
        if roi is not None:
            ratio = self.devicePixelRatioF()
            rgb = zoom_rgb(rgb, roi, (round(self.width() * ratio), round(self.height() * ratio)))
        h, w = rgb.shape[:2]
        # QImage views the array: `shown` keeps it alive.
        self.shown = rgb
        self._image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
        self.update()

    def picture_rect(self) -> QRect:
        """Where the picture is drawn (the whole canvas before the first frame)."""
        if self._image is None:
            return self.rect()
        return centred(self.rect(), fit_size((self._image.width(), self._image.height()), self.rect().size()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.state.roi is not None:
            self.refresh_picture()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        rect = self.rect()
        p.fillRect(rect, color("canvas.bg"))
        if self._image is not None and self.state.error is None:
            picture = self.picture_rect()
            p.drawImage(picture, self._image)
            paint_band(p, picture, self.state.band)
        paint_overlay(p, rect, self.state)
        p.end()
        self.paints += 1


class FrameView(QWidget):
    """A cell of the player. `show_frame` draws a decoded frame; `shown_index` is the frame on screen.
    Emits `focused` when it takes the keyboard focus (a click or Tab: the reviewer works in it)."""

    focused = Signal()

    def __init__(self, label: str = "", parent: QWidget | None = None, *, prefer_gl: bool = True) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.state = CellState()
        self.state.label = label
        self.fallback_reason = ""
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setMinimumSize(64, 48)
        self.canvas: QWidget = self._make_canvas(prefer_gl)
        self._layout.addWidget(self.canvas)

    @property
    def uses_gpu(self) -> bool:
        return bool(getattr(self.canvas, "uses_gpu", False))

    @property
    def shown_index(self) -> int | None:
        return None if self.state.frame is None else self.state.frame.index

    def rgb_size(self, video: tuple[int, int]) -> tuple[int, int] | None:
        """The rgb24 size the decode worker should deliver; None: the GPU canvas takes Y/U/V planes.
        Under a region of interest: the full size, which the canvas crops."""
        if self.uses_gpu:
            return None
        if self.state.roi is not None:
            return video
        ratio = self.devicePixelRatioF()
        box = self.canvas.size() * ratio if self.canvas.width() > 8 else QSize(640, 360)
        return fit_size(video, box)

    def show_frame(self, frame: DecodedFrame) -> None:
        self.state.frame = frame
        self.state.error = None
        self.canvas.set_frame(frame)  # type: ignore[attr-defined]  # both canvases define it

    def show_error(self, message: str) -> None:
        self.state.error = message
        self.canvas.update()

    def new_clip(self, label: str) -> None:
        """Another clip plays in this cell: its name shows at once; the picture stays until the new clip's
        frame replaces it, without a frame number meanwhile (so notes and compare read no frame of the
        old clip as the new one's), and an error tile goes."""
        self.state.label = label
        self.state.frame = None
        self.state.error = None
        self.state.info_text = ""
        self.canvas.update()

    def set_roi(self, roi: Roi | None) -> None:
        """Show only `roi` of every frame (None: the whole frame)."""
        if roi is not None and roi.is_full:
            roi = None
        if roi != self.state.roi:
            self.state.roi = roi
            self._canvas_changed()

    def shown_window(self) -> Roi:
        """The part of the whole frame on screen, in normalised image coordinates (FULL unzoomed):
        what `picture_rect` shows, so a point p of the frame lies at picture_rect's
        `shown_window().to_local(*p)` fraction."""
        size = frame_size(self.state.frame)
        return FULL if size is None else shown_window(self.state.roi, *size)

    def set_band(self, band: Roi | None) -> None:
        """Draw the zoom window being dragged (relative to the picture on screen); None hides it."""
        if band != self.state.band:
            self.state.band = band
            self.canvas.update()

    def picture_rect(self) -> QRect:
        """Where the picture is drawn, in this view's coordinates."""
        rect: QRect = self.canvas.picture_rect()  # type: ignore[attr-defined]  # both canvases define it
        return rect.translated(self.canvas.pos())

    def _canvas_changed(self) -> None:
        refresh = getattr(self.canvas, "refresh_picture", None)
        if callable(refresh):
            refresh()
        self.canvas.update()
        self.update()  # and what lies over the picture (notes)

    def set_current(self, current: bool) -> None:
        """Mark (or unmark) this as the cell the reviewer works in."""
        if current != self.state.current:
            self.state.current = current
            self.canvas.update()

    def set_audio_mark(self, mark: str) -> None:
        """Mark (or, with "", unmark) this as the audible cell."""
        if mark != self.state.audio:
            self.state.audio = mark
            self.canvas.update()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.focused.emit()

    def set_info_text(self, text: str) -> None:
        if text != self.state.info_text:
            self.state.info_text = text
            self.canvas.update()

    def _make_canvas(self, prefer_gl: bool) -> QWidget:
        if prefer_gl and gl_possible():
            from x121_desktop.ui.review.frame_gl import GLFrameCanvas

            canvas = GLFrameCanvas(self.state, self)
            QTimer.singleShot(0, self._check_gl)
            return canvas
        self.fallback_reason = f"no OpenGL on the '{QGuiApplication.platformName()}' platform"
        return PainterFrameCanvas(self.state, self)

    def _check_gl(self) -> None:
        """A GL canvas that could not get a context (`isValid()` False once shown) gives way."""
        canvas = self.canvas
        valid = getattr(canvas, "isValid", None)
        if valid is None or not canvas.isVisible() or valid():
            return
        self.fallback_reason = "OpenGL context could not be created"
        painter = PainterFrameCanvas(self.state, self)
        self._layout.replaceWidget(canvas, painter)
        canvas.deleteLater()
        self.canvas = painter
        if self.state.frame is not None:
            painter.set_frame(self.state.frame)
