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

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QToolButton,
    QWidget,
)

from x121_desktop.core.review.notes import (
    GHOST_REACH,
    Point,
    Shape,
    Tool,
    arrow_head,
    clamp_point,
    ghost_opacity,
    ghost_side,
    kind_of,
    shapes_from_data,
    shapes_to_data,
)
from x121_desktop.services.review import CommentValue
from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.roi_math import Roi
from x121_desktop.ui.review.tasks import SentenceTasks
from x121_desktop.ui.review.verdicts import ReviewSession

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
    """Drawn over one FrameView (a child kept at its size). Emits `shape_added` after each finished stroke."""

    shape_added = Signal()

    def __init__(self, view: FrameView) -> None:
        super().__init__(view)
        self.view = view
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.notes: list[DrawnNote] = []
        self.pending: list[Shape] = []
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


# ---------------------------------------------------------------------- notes bar + controller
class NotesBar(QWidget):
    """Tools (none/pen/arrow/rect/ellipse/text), "whole in/out range", save/discard, and a comment line."""

    TOOLS = (("Play", None), ("Pen", Tool.PEN), ("Arrow", Tool.ARROW), ("Box", Tool.RECT),
             ("Ellipse", Tool.ELLIPSE), ("Text", Tool.TEXT))  # fmt: skip

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notesBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tools = QButtonGroup(self)
        self.buttons: dict[Tool | None, QToolButton] = {}
        for n, (title, tool) in enumerate(self.TOOLS):
            button = QToolButton(self)
            button.setText(title)
            button.setCheckable(True)
            button.setChecked(tool is None)
            self.tools.addButton(button, n)
            self.buttons[tool] = button
            layout.addWidget(button)
        self.whole_range = QCheckBox("In/out range", self)
        self.whole_range.setToolTip("Attach the note to the in/out range instead of this frame")
        self.save = QPushButton("Save note", self)
        self.discard = QPushButton("Discard", self)
        self.comment = QLineEdit(self)
        self.comment.setPlaceholderText("Comment at this frame (@name mentions)…")
        self.post = QPushButton("Comment", self)
        for w in (self.whole_range, self.save, self.discard):
            layout.addWidget(w)
        layout.addWidget(self.comment, 1)
        layout.addWidget(self.post)


class NotesController(QObject):
    """Notes for the take a `ReviewSession` shows: overlay on its cell, load/save through ReviewService."""

    message = Signal(str)
    notes_loaded = Signal(int)

    def __init__(self, session: ReviewSession, bar: NotesBar | None = None) -> None:
        super().__init__(session)
        self.session = session
        self.bar = bar if bar is not None else NotesBar(session.panel)
        self.overlay: AnnotationOverlay | None = None
        self.comments: tuple[CommentValue, ...] = ()
        self._tasks = SentenceTasks(self.message.emit)
        session.take_shown.connect(self._take_shown)
        self.bar.tools.idClicked.connect(lambda n: self.set_tool(NotesBar.TOOLS[n][1]))
        self.bar.save.clicked.connect(lambda: self._spawn(self.save()))
        self.bar.discard.clicked.connect(self._discard)
        self.bar.post.clicked.connect(lambda: self._spawn(self.post_comment(self.bar.comment.text())))
        self.bar.comment.returnPressed.connect(self.bar.post.click)
        self.message.connect(session.bar.label.setText)

    def set_tool(self, tool: Tool | None) -> None:
        self.bar.buttons[tool].setChecked(True)
        if self.overlay is not None:
            self.overlay.set_tool(tool)

    def _take_shown(self, take_id: int) -> None:
        cells = self.session.panel.grid.cells
        if not cells:
            return
        self.overlay = AnnotationOverlay(cells[0])
        checked = self.bar.tools.checkedId()
        self.overlay.set_tool(NotesBar.TOOLS[checked][1] if checked >= 0 else None)
        controller = self.session.panel.controller
        controller.frames_shown.connect(self._frame_shown)
        self._spawn(self.reload(take_id))

    def _frame_shown(self) -> None:
        if self.overlay is not None and self.overlay.view.shown_index is not None:
            self.overlay.set_frame(self.overlay.view.shown_index)

    async def reload(self, take_id: int) -> None:
        notes = await self.session.review.annotations(take_id)
        comments = await self.session.review.comments(take_id)
        current = self.session.current
        if self.overlay is None or current is None or current.take_id != take_id:
            return
        drawn = [DrawnNote(a.frame_start, a.frame_count, shapes_from_data(a.data), a.id) for a in notes]
        self.overlay.set_notes(drawn)
        self.comments = comments
        self.notes_loaded.emit(len(drawn))

    async def save(self) -> DrawnNote | None:
        """Store the pending shapes on this frame (or the in/out range) as the signed-in user."""
        overlay, take = self.overlay, self.session.current
        if overlay is None or take is None or not overlay.pending:
            self.message.emit("Draw on the frame first (pick Pen, Arrow, Box, Ellipse or Text)")
            return None
        clock = self.session.panel.controller.clock
        start, count = overlay.frame, 1
        if self.bar.whole_range.isChecked():
            order = clock.order()
            start, count = order.start, order.length
        shapes = tuple(overlay.pending)
        saved = await self.session.review.add_annotation(take.take_id, kind_of(shapes), start, count,
                                                         shapes_to_data(shapes))  # fmt: skip
        note = DrawnNote(saved.frame_start, saved.frame_count, shapes, saved.id)
        overlay.clear_pending()
        overlay.set_notes([*overlay.notes, note])
        span = f"frame {start}" if count == 1 else f"frames {start}-{start + count - 1}"
        self.message.emit(f"Note saved on {span} of take {take.take_id}")
        return note

    async def post_comment(self, body: str) -> None:
        take, overlay = self.session.current, self.overlay
        if take is None or not body.strip():
            return
        frame = overlay.frame if overlay is not None else None
        posted = await self.session.review.comment(take.take_id, frame, body)
        self.bar.comment.clear()
        self.comments = await self.session.review.comments(take.take_id)
        who = f" · notified {', '.join(posted.mentioned)}" if posted.mentioned else ""
        self.message.emit(f"Comment posted at frame {frame}{who}")

    def _discard(self) -> None:
        if self.overlay is not None:
            self.overlay.clear_pending()

    def handlers(self) -> dict[str, Callable[[], object]]:
        return {"review.add_note": lambda: self._spawn(self.save())}

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        return self._tasks.spawn(coro)

    async def drain(self) -> None:
        await self._tasks.drain()
