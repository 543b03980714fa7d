"""On-frame drawing: a transparent overlay over a player cell that draws notes and takes new strokes.

`AnnotationOverlay` sits on top of a `FrameView` (over the GL or the painter canvas). Notes are
stored in normalised coordinates of the whole frame; the overlay maps them onto the picture the
cell shows: the cell's `picture_rect` displays `shown_window()` of the frame (the whole frame, or
the pixels of a region-of-interest zoom, ui/review/roi.py), so a stroke drawn on a zoomed cell is
stored where it lies in the whole frame, and a stored note is drawn where that spot is on screen
(clipped to the picture; pen widths grow with the zoom, as the picture does). It draws the notes
covering the frame on screen at full strength and notes of nearby frames ghosted (earlier in red,
later in green, fading with distance, as OpenRV does). With a tool chosen, mouse drags add shapes
to `pending`; with none, mouse events pass through to the player (and its zoom window).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QInputDialog, QWidget

from x121_desktop.core.review.notes import (
    GHOST_REACH,
    Point,
    Shape,
    Tool,
    arrow_head,
    clamp_point,
    ghost_opacity,
    ghost_side,
)
from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.roi_math import Roi

GHOST_BEFORE = "#ff5a5a"
GHOST_AFTER = "#4cd964"
GHOST_STRENGTH = 0.6


@dataclass(frozen=True, slots=True)
class DrawnNote:
    frame_start: int
    frame_count: int
    shapes: tuple[Shape, ...]
    note_id: int | None = None


def ask_text(parent: QWidget) -> str:
    text, ok = QInputDialog.getText(parent, "Text note", "Text:")
    return text.strip() if ok else ""


class AnnotationOverlay(QWidget):
    """Drawn over one FrameView (a child kept at its size). Emits `drawing_started` when a stroke begins
    on it (its cell becomes the one the reviewer works in) and `shape_added` after each finished one.
    `take_id` and `frame` say which take and which of its frames the cell shows (notes are the take's)."""

    drawing_started = Signal()
    shape_added = Signal()

    def __init__(self, view: FrameView) -> None:
        super().__init__(view)
        self.view = view
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.notes: list[DrawnNote] = []
        self.pending: list[Shape] = []
        self.take_id: int | None = None
        self.frame = 0
        self.reach = GHOST_REACH
        self.color = "#ff3b30"
        self.width_px = 4.0
        self.text_provider: Callable[[QWidget], str] = ask_text
        self._tool: Tool | None = None
        self._drag: list[Point] = []
        self.set_tool(None)
        view.installEventFilter(self)
        self.setGeometry(view.rect())
        self.raise_()
        self.show()

    # ------------------------------------------------------------------ state
    @property
    def tool(self) -> Tool | None:
        return self._tool

    def set_tool(self, tool: Tool | None) -> None:
        self._tool = tool
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, tool is None)
        self.setCursor(Qt.CursorShape.CrossCursor if tool is not None else Qt.CursorShape.ArrowCursor)

    def set_frame(self, frame: int) -> None:
        if frame != self.frame:
            self.frame = frame
            self.update()

    def set_notes(self, notes: Sequence[DrawnNote]) -> None:
        self.notes = list(notes)
        self.update()

    def clear_pending(self) -> None:
        self.pending.clear()
        self._drag.clear()
        self.update()

    def visible_notes(self) -> list[tuple[DrawnNote, float, int]]:
        """(note, opacity, side) for every note drawn at the current frame (side: -1 earlier, +1 later)."""
        out = []
        for note in self.notes:
            alpha = ghost_opacity(note.frame_start, note.frame_count, self.frame, self.reach)
            if alpha > 0:
                out.append((note, alpha, ghost_side(note.frame_start, note.frame_count, self.frame)))
        return out

    # ------------------------------------------------------------------ geometry
    def picture_rect(self) -> QRect:
        """Where the cell draws its picture, in overlay coordinates (the overlay covers the view)."""
        return self.view.picture_rect()

    def to_widget(self, p: Point, r: QRect | None = None, window: Roi | None = None) -> QPointF:
        """Where the whole-frame point `p` lies on screen (outside `r` when the zoom hides it)."""
        r = r or self.picture_rect()
        u, v = (window or self.view.shown_window()).to_local(*p)
        return QPointF(r.left() + u * r.width(), r.top() + v * r.height())

    def stroke_width(self) -> float:
        """The width a new shape is stored with: `width_px` on the picture as shown, so a stroke drawn
        on a zoomed cell is as thin on the whole frame as it looked while drawing."""
        return round(self.width_px * self.view.shown_window().h, 4)

    def to_picture(self, pos: QPointF) -> Point:
        """The whole-frame point under `pos`, kept on the picture shown (a drag may leave it)."""
        r = self.picture_rect()
        u = min(max((pos.x() - r.left()) / max(1, r.width()), 0.0), 1.0)
        v = min(max((pos.y() - r.top()) / max(1, r.height()), 0.0), 1.0)
        return clamp_point(*self.view.shown_window().to_picture(u, v))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.view.rect())
            self.raise_()
        return False

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._tool is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self.drawing_started.emit()
        point = self.to_picture(event.position())
        if self._tool is Tool.TEXT:
            text = self.text_provider(self)
            if text:
                self._finish(Shape(Tool.TEXT, (point,), self.color, self.stroke_width(), text))
            return
        self._drag = [point, point] if self._tool is not Tool.PEN else [point]
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._tool is None or not self._drag:
            return
        point = self.to_picture(event.position())
        if self._tool is Tool.PEN:
            if point != self._drag[-1]:
                self._drag.append(point)
        else:
            self._drag[1] = point
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._tool is None or not self._drag or event.button() != Qt.MouseButton.LeftButton:
            return
        points, self._drag = tuple(self._drag), []
        if self._tool is Tool.PEN and len(points) == 1:
            points = (points[0], points[0])
        self._finish(Shape(self._tool, points, self.color, self.stroke_width()))

    def _finish(self, shape: Shape) -> None:
        self.pending.append(shape)
        self.update()
        self.shape_added.emit()

    # ------------------------------------------------------------------ paint
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r, window = self.picture_rect(), self.view.shown_window()
        p.setClipRect(r)  # parts of notes outside a zoom window stay hidden
        for note, alpha, side in self.visible_notes():
            ghost = None if side == 0 else (GHOST_BEFORE if side < 0 else GHOST_AFTER)
            for shape in note.shapes:
                paint_shape(p, self, r, window, shape, alpha if side == 0 else alpha * GHOST_STRENGTH, ghost)
        for shape in self.pending:
            paint_shape(p, self, r, window, shape, 1.0, None)
        if self._drag and self._tool is not None:
            drag = tuple(self._drag) if len(self._drag) > 1 else (self._drag[0], self._drag[0])
            paint_shape(p, self, r, window, Shape(self._tool, drag, self.color, self.stroke_width()), 1.0, None)
        p.end()


def paint_shape(
    p: QPainter, overlay: AnnotationOverlay, r: QRect, window: Roi, shape: Shape, alpha: float, ghost: str | None
) -> None:
    """Draw one shape on the picture rectangle `r`, which shows `window` of the frame (pen width
    scaled to the height the whole frame would have on screen, so it grows with the zoom)."""
    color = QColor(ghost or shape.color)
    color.setAlphaF(max(0.0, min(1.0, alpha)))
    width = max(1.5, shape.width * r.height() / window.h / 360)
    pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    pts = [overlay.to_widget(pt, r, window) for pt in shape.points]
    if shape.tool is Tool.PEN:
        path = QPainterPath(pts[0])
        for q in pts[1:]:
            path.lineTo(q)
        p.drawPath(path)
    elif shape.tool is Tool.ARROW:
        a, b = pts
        p.drawLine(a, b)
        head = max(8.0, width * 4)
        for barb in arrow_head((a.x(), a.y()), (b.x(), b.y()), head):
            p.drawLine(b, QPointF(*barb))
    elif shape.tool in (Tool.RECT, Tool.ELLIPSE):
        box = QRectF(pts[0], pts[1]).normalized()
        if shape.tool is Tool.RECT:
            p.drawRect(box)
        else:
            p.drawEllipse(box)
    else:
        p.setFont(QFont(p.font().family(), max(9, int(width * 4))))
        p.drawText(pts[0] + QPointF(0, width * 4), shape.text)
