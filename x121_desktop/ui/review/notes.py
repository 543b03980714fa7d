"""Notes on the cells of the review grid: drawn shapes and comments, stored on the take each cell shows.

Every cell gets an `AnnotationOverlay` (ui/review/annotate.py). Each overlay shows the notes of the
take its cell shows, at that take's frame: `ReviewSession.take_at` maps a cell's clip and frame to
(take, take frame): a take's own video frame for frame (the current take, any take of the scene
pinned or compared beside it), a seam clip to the left take before the seam and to the right take
(after its head trim) from the seam on. A stroke is drawn on one cell and makes it the cell the
reviewer works in; Save stores the pending shapes of that cell on its take at its frame (or over
the in/out range, as that cell's frames), whatever the layout and whether the cell is zoomed (the
overlay stores whole-frame coordinates). A comment goes to the working cell's take and frame
(the first cell's when none was chosen). A cell whose clip is no take of the session says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QButtonGroup, QCheckBox, QHBoxLayout, QLineEdit, QPushButton, QToolButton, QWidget

from x121_desktop.core.review.notes import Tool, kind_of, shapes_from_data, shapes_to_data
from x121_desktop.services.review import CommentValue
from x121_desktop.ui.review.annotate import AnnotationOverlay, DrawnNote
from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.player import PlayerCell
from x121_desktop.ui.review.tasks import SentenceTasks
from x121_desktop.ui.review.verdicts import ReviewSession


def not_a_take(name: str) -> str:
    return (
        f"{name} is not a take of the scene under review, so notes cannot be stored for it; "
        "open it from its scene to write notes on it."
    )


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
    """Overlays on every cell of a `ReviewSession`'s panel; notes load and save per take through ReviewService.
    Emits `notes_loaded(count)` each time a take's notes have loaded."""

    message = Signal(str)
    notes_loaded = Signal(int)

    def __init__(self, session: ReviewSession, bar: NotesBar | None = None) -> None:
        super().__init__(session)
        self.session = session
        self.bar = bar if bar is not None else NotesBar(session.panel)
        self.overlays: list[AnnotationOverlay] = []
        self.notes: dict[int, list[DrawnNote]] = {}
        """Each take's notes, as loaded (and saved since)."""
        self.comments: tuple[CommentValue, ...] = ()
        self._loading: set[int] = set()
        self._following: QObject | None = None
        self._tasks = SentenceTasks(self.message.emit)
        session.take_shown.connect(self._take_shown)
        session.panel.loaded.connect(self._cells_changed)
        session.panel.layout_changed.connect(self._cells_changed)
        self.bar.tools.idClicked.connect(lambda n: self.set_tool(NotesBar.TOOLS[n][1]))
        self.bar.save.clicked.connect(lambda: self._spawn(self.save()))
        self.bar.discard.clicked.connect(self._discard)
        self.bar.post.clicked.connect(lambda: self._spawn(self.post_comment(self.bar.comment.text())))
        self.bar.comment.returnPressed.connect(self.bar.post.click)
        self.message.connect(session.bar.label.setText)

    # ------------------------------------------------------------------ cells
    @property
    def overlay(self) -> AnnotationOverlay | None:
        """The overlay of the cell notes go to: the working cell's (the one last drawn on, clicked or
        tabbed to), else the first cell's."""
        view = self.session.panel.grid.current
        chosen = next((o for o in self.overlays if o.view is view), None)
        return chosen if chosen is not None else next(iter(self.overlays), None)

    def set_tool(self, tool: Tool | None) -> None:
        self.bar.buttons[tool].setChecked(True)
        for overlay in self.overlays:
            overlay.set_tool(tool)

    def _cells_changed(self) -> None:
        """An overlay on every cell (a new load or a layout switch made or removed cells)."""
        grid, panel = self.session.panel.grid, self.session.panel
        self.overlays = [o for o in self.overlays if o.view in grid.cells]
        checked = self.bar.tools.checkedId()
        for view in grid.cells:
            if any(o.view is view for o in self.overlays):
                continue
            overlay = AnnotationOverlay(view)
            overlay.set_tool(NotesBar.TOOLS[checked][1] if checked >= 0 else None)
            overlay.drawing_started.connect(lambda v=view: grid.set_current(v))
            self.overlays.append(overlay)
        if panel.controller is not self._following:  # load() makes a new player; a layout switch keeps it
            self._following = panel.controller
            panel.controller.frames_shown.connect(self._frames_shown)
        self._frames_shown()

    def _cell(self, view: FrameView) -> PlayerCell | None:
        return next((c for c in self.session.panel.controller.cells if c.view is view), None)

    def where(self, view: FrameView) -> tuple[int, int] | None:
        """(take id, take frame) of the frame the cell shows; None before it shows one or for a clip
        that is no take of the session."""
        cell, frame = self._cell(view), view.shown_index
        if cell is None or frame is None:
            return None
        return self.session.take_at(cell.source.path, frame)

    def _frames_shown(self) -> None:
        for overlay in self.overlays:
            spot = self.where(overlay.view)
            if spot is None:
                continue
            take, frame = spot
            if take != overlay.take_id:
                overlay.take_id = take
                overlay.set_notes(self.notes.get(take, []))
            overlay.set_frame(frame)
            if take not in self.notes:
                self._load(take)

    def _take_shown(self, take_id: int) -> None:
        self._load(take_id)

    def _load(self, take_id: int) -> None:
        """Load a take's notes in the background, once at a time."""
        if take_id not in self._loading:
            self._loading.add(take_id)
            self._spawn(self.reload(take_id))

    # ------------------------------------------------------------------ load and save
    async def reload(self, take_id: int) -> None:
        """Load a take's notes (and, for the session's take, its comments) and show them where it is on screen."""
        try:
            notes = await self.session.review.annotations(take_id)
            comments = await self.session.review.comments(take_id)
        finally:
            self._loading.discard(take_id)
        drawn = [DrawnNote(a.frame_start, a.frame_count, shapes_from_data(a.data), a.id) for a in notes]
        self.notes[take_id] = drawn
        current = self.session.current
        if current is not None and current.take_id == take_id:
            self.comments = comments
        self._show_notes(take_id)
        self.notes_loaded.emit(len(drawn))

    def _show_notes(self, take_id: int) -> None:
        for overlay in self.overlays:
            if overlay.take_id == take_id:
                overlay.set_notes(self.notes.get(take_id, []))

    def _drawn_on(self) -> AnnotationOverlay | None:
        """The overlay whose pending shapes a save stores: the working cell's, else the one drawn on."""
        chosen = self.overlay
        if chosen is not None and chosen.pending:
            return chosen
        return next((o for o in self.overlays if o.pending), None)

    async def save(self) -> DrawnNote | None:
        """Store the pending shapes of the cell drawn on, on its take at its frame (or the in/out range)."""
        overlay = self._drawn_on()
        if overlay is None:
            self.message.emit("Draw on the frame first (pick Pen, Arrow, Box, Ellipse or Text)")
            return None
        spot = self.where(overlay.view)
        if spot is None:
            self.message.emit(not_a_take(overlay.view.state.label))
            return None
        take_id, start = spot
        count = 1
        if self.bar.whole_range.isChecked():
            start, count = self._range(overlay.view, take_id, start)
        shapes = tuple(overlay.pending)
        saved = await self.session.review.add_annotation(take_id, kind_of(shapes), start, count,
                                                         shapes_to_data(shapes))  # fmt: skip
        note = DrawnNote(saved.frame_start, saved.frame_count, shapes, saved.id)
        overlay.clear_pending()
        self.notes[take_id] = [*self.notes.get(take_id, []), note]
        self._show_notes(take_id)
        span = f"frame {start}" if count == 1 else f"frames {start}-{start + count - 1}"
        self.message.emit(f"Note saved on {span} of take {take_id}")
        return note

    def _range(self, view: FrameView, take_id: int, frame: int) -> tuple[int, int]:
        """The in/out range as `take_id`'s frames in this cell (a seam clip's range keeps the take's side)."""
        cell, clock = self._cell(view), self.session.panel.controller.clock
        if cell is None:
            return frame, 1
        order = clock.order()
        first, last = cell.target(order.start, clock.rate), cell.target(order.stop - 1, clock.rate)
        spots = [self.session.take_at(cell.source.path, f) for f in range(first, last + 1)]
        frames = [s[1] for s in spots if s is not None and s[0] == take_id]
        return (min(frames), max(frames) - min(frames) + 1) if frames else (frame, 1)

    async def post_comment(self, body: str) -> None:
        """A comment on the working cell's take at the frame it shows."""
        overlay = self.overlay
        if overlay is None or not body.strip():
            return
        spot = self.where(overlay.view)
        if spot is None:
            self.message.emit(not_a_take(overlay.view.state.label))
            return
        take_id, frame = spot
        posted = await self.session.review.comment(take_id, frame, body)
        self.bar.comment.clear()
        self.comments = await self.session.review.comments(take_id)
        who = f" · notified {', '.join(posted.mentioned)}" if posted.mentioned else ""
        self.message.emit(f"Comment posted at frame {frame} of take {take_id}{who}")

    def _discard(self) -> None:
        for overlay in self.overlays:
            overlay.clear_pending()

    def handlers(self) -> dict[str, Callable[[], object]]:
        return {"review.add_note": lambda: self._spawn(self.save())}

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        return self._tasks.spawn(coro)

    async def drain(self) -> None:
        await self._tasks.drain()
