"""Notes go to the cell they are drawn on: in the 2x2 grid (three takes of the real scene side by side),
in 1x2, on a zoomed cell, and on a seam clip (the left take before the seam, the right take after
it), each stored in the real database on that cell's take at that cell's frame; another reviewer's
grid shows each note on the cell of its take only; a comment goes to the working cell's take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from tests.db.security_studio import SUPERUSER
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from tests.ui.review.test_annotations import is_red
from tests.ui.review.test_vinyl_focus import click
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.core.review.notes import Tool
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService
from x121_desktop.ui.review.annotate import AnnotationOverlay
from x121_desktop.ui.review.compare import CompareController
from x121_desktop.ui.review.notes import NotesController, not_a_take
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.roi_math import Roi
from x121_desktop.ui.review.seams import SeamReview
from x121_desktop.ui.review.verdicts import ReviewSession

__all__ = ["qloop", "review_studio", "studio_as"]

Rows = list[tuple[int, int, int, list[list[float]]]]


class Grid:
    """A Review panel in a window with the session, notes, compare and seam tools, on the QPainter path."""

    def __init__(self, qtbot: QtBot, studio: Studio) -> None:
        self.window = QMainWindow()
        qtbot.addWidget(self.window)
        self.panel = ReviewPanel(rows=2, columns=2, prefer_gl=False)
        self.window.setCentralWidget(self.panel)
        self.session = ReviewSession(self.panel, ReviewService(studio))
        self.notes = NotesController(self.session)
        self.compare = CompareController(self.panel)
        self.seams = SeamReview(self.session)
        self.panel.add_bar(self.notes.bar)
        self.panel.add_bar(self.session.bar)
        self.window.resize(900, 700)
        self.window.show()
        qtbot.waitExposed(self.window)

    def videos(self) -> list[Path]:
        queue = self.session.queue
        assert queue is not None
        return [t.video for t in queue.takes if t.video is not None]

    def on_frame(self, qloop: qasync.QEventLoop, frame: int) -> None:
        player = self.panel.controller
        run(qloop, until(lambda: player.ready and player.clock.frame_count > 1, what="the clips to open"))
        player.seek(frame)
        views = self.panel.grid.cells
        run(qloop, until(lambda: all(v.shown_index == frame for v in views), what=f"frame {frame} everywhere"))
        notes = self.notes

        def synced() -> bool:  # every overlay on its cell's take and frame
            return all(notes.where(o.view) in (None, (o.take_id, o.frame)) for o in notes.overlays)

        run(qloop, until(synced, what="the notes on every cell's frame"))

    def overlay(self, n: int) -> AnnotationOverlay:
        view = self.panel.grid.cells[n]
        return next(o for o in self.notes.overlays if o.view is view)


def arrow(overlay: AnnotationOverlay, a: tuple[float, float], b: tuple[float, float]) -> None:
    """An arrow dragged on the picture shown, from fraction `a` to fraction `b` of it."""
    r = overlay.picture_rect()
    pa = QPoint(round(r.left() + a[0] * r.width()), round(r.top() + a[1] * r.height()))
    pb = QPoint(round(r.left() + b[0] * r.width()), round(r.top() + b[1] * r.height()))
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pa)
    QTest.mouseMove(overlay, (pa + pb) / 2)
    QTest.mouseMove(overlay, pb)
    QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pb)


def stored(review: ReviewStudio, takes: list[int]) -> Rows:
    with review.secure.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT take_id, frame_start, frame_count, data->'shapes'->0->'points' FROM annotations "
            "WHERE take_id = ANY(%s) ORDER BY id",
            (takes,),
        ).fetchall()
    return [(int(t), int(s), int(c), p) for t, s, c, p in rows]


def test_notes_attach_to_the_cell_drawn_on_in_every_layout_and_zoom(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    t0, t1, t2 = review_studio.take_ids
    grid = Grid(qtbot, studio_as("reviewer"))
    panel, notes = grid.panel, grid.notes
    try:
        run(qloop, grid.session.open_scene(review_studio.scene_id, t0))
        grid.compare.show(grid.videos())  # the scene's three takes side by side
        grid.on_frame(qloop, 12)
        assert [o.take_id for o in notes.overlays] == [t0, t1, t2]
        notes.set_tool(Tool.ARROW)
        arrow(grid.overlay(2), (0.2, 0.2), (0.6, 0.6))  # on the third cell
        assert panel.grid.current is panel.grid.cells[2]  # drawing there made it the working cell
        assert [len(o.pending) for o in notes.overlays] == [0, 0, 1]
        assert run(qloop, notes.save()) is not None
        assert "take " + str(t2) in grid.session.bar.label.text()

        panel.controller.step(3)  # frame 15, zoomed on the middle quarter (mirrored in every cell)
        grid.compare.roi.set_roi(Roi(0.25, 0.25, 0.5, 0.5))
        grid.on_frame(qloop, 15)
        arrow(grid.overlay(1), (0.2, 0.2), (0.6, 0.6))
        assert run(qloop, notes.save()) is not None

        grid.compare.roi.set_roi(None)
        grid.compare.set_layout(1, 2)  # the third cell goes; notes follow the two that stay
        grid.on_frame(qloop, 20)
        assert len(notes.overlays) == 2
        arrow(grid.overlay(0), (0.5, 0.5), (0.9, 0.9))
        assert run(qloop, notes.save()) is not None

        click(panel.grid.cells[1])  # a comment goes to the working cell's take and frame
        run(qloop, notes.post_comment("the sleeve flickers here"))
    finally:
        panel.close_player()
    rows = stored(review_studio, [t0, t1, t2])
    assert [(t, s, c) for t, s, c, _ in rows] == [(t2, 12, 1), (t1, 15, 1), (t0, 20, 1)]
    (x0, y0), (x1, y1) = rows[0][3]
    assert (x0, y0, x1, y1) == (0.2, 0.2, 0.6, 0.6) or abs(x0 - 0.2) + abs(x1 - 0.6) < 0.02  # whole-frame
    (z0, _), (z1, _) = rows[1][3]
    assert abs(z0 - (0.25 + 0.5 * 0.2)) < 0.02  # drawn zoomed: stored where it lies in the whole frame
    assert abs(z1 - (0.25 + 0.5 * 0.6)) < 0.02
    with review_studio.secure.connect(SUPERUSER) as conn:
        comment = conn.execute("SELECT take_id, frame, body FROM comments WHERE body LIKE 'the sleeve%'").fetchall()
    assert comment == [(t1, 20, "the sleeve flickers here")]

    # Another reviewer's grid: each note on its take's cell only, where it was drawn.
    other = Grid(qtbot, studio_as("reviewer2"))
    try:
        run(qloop, other.session.open_scene(review_studio.scene_id, t0))
        other.compare.show(other.videos())
        other.on_frame(qloop, 12)
        run(qloop, until(lambda: all(t in other.notes.notes for t in (t0, t1, t2)), what="every take's notes"))
        shown = [[n.frame_start for n, _a, s in o.visible_notes() if s == 0] for o in other.notes.overlays]
        assert shown == [[], [], [12]]
        mid = ((rows[0][3][0][0] + rows[0][3][1][0]) / 2, (rows[0][3][0][1] + rows[0][3][1][1]) / 2)
        for n, expected in ((0, False), (1, False), (2, True)):
            overlay = other.overlay(n)
            q = overlay.to_widget(mid)
            assert is_red(overlay.view.grab().toImage().pixelColor(round(q.x()), round(q.y()))) is expected, n
    finally:
        other.panel.close_player()


def test_notes_on_a_seam_clip_go_to_the_take_on_each_side(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    grid = Grid(qtbot, studio_as("reviewer"))
    panel, notes = grid.panel, grid.notes
    try:
        run(qloop, grid.session.open_scene(review_studio.scene_id))
        grid.compare.set_layout(1, 1)
        clip = run(qloop, grid.seams.show_seam(0))
        seam = grid.session.queue.seams[0] if grid.session.queue is not None else None
        assert seam is not None
        window = clip.window
        before, after = window.seam_frame - 2, window.seam_frame + 3
        notes.set_tool(Tool.RECT)
        for frame in (before, after):
            grid.on_frame(qloop, frame)
            arrow(grid.overlay(0), (0.3, 0.3), (0.5, 0.5))
            assert run(qloop, notes.save()) is not None
        expected = [
            (seam.left_take_id, window.left[before]),  # the left take's own frame number
            (seam.right_take_id, clip.right_head + window.right[after - window.seam_frame]),
        ]
    finally:
        panel.close_player()
    rows = stored(review_studio, [seam.left_take_id, seam.right_take_id])
    assert [(t, s) for t, s, c, _ in rows[-2:]] == expected


def test_a_cell_whose_clip_is_no_take_says_so(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio],
    clips: dict[str, Path],
) -> None:  # fmt: skip
    grid = Grid(qtbot, studio_as("reviewer"))
    try:
        run(qloop, grid.session.open_scene(review_studio.scene_id))
        grid.compare.show([clips["a"]])  # a file opened with "Open clips…", not a take of the scene
        grid.on_frame(qloop, 5)
        grid.notes.set_tool(Tool.PEN)
        arrow(grid.overlay(0), (0.2, 0.2), (0.4, 0.4))
        assert run(qloop, grid.notes.save()) is None
        assert grid.session.bar.label.text() == not_a_take("a.mp4")
    finally:
        grid.panel.close_player()
