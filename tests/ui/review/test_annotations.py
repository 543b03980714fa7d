"""Notes on frames: drawn with the mouse on the overlay, stored in the real database as the reviewer,
reloaded by a fresh panel at their frames (full on their frames, ghosted nearby, gone far away),
per frame and per in/out range; a comment at a frame with an @mention."""

from __future__ import annotations

from collections.abc import Callable

import qasync
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from tests.db.security_studio import SUPERUSER
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.core.enums import AnnotationKind
from x121_desktop.core.review.notes import Tool
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService
from x121_desktop.ui.review.annotate import AnnotationOverlay
from x121_desktop.ui.review.notes import NotesController
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.verdicts import ReviewSession

__all__ = ["qloop", "review_studio", "studio_as"]


def noting(qtbot: QtBot, studio: Studio) -> tuple[QMainWindow, ReviewPanel, ReviewSession, NotesController]:
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = ReviewPanel(rows=1, columns=1, prefer_gl=False)
    window.setCentralWidget(panel)
    session = ReviewSession(panel, ReviewService(studio))
    notes = NotesController(session)
    panel.add_bar(notes.bar)
    panel.add_bar(session.bar)
    window.resize(720, 480)
    window.show()
    qtbot.waitExposed(window)
    return window, panel, session, notes


def reopened(
    qtbot: QtBot, qloop: qasync.QEventLoop, studio: Studio, review: ReviewStudio, take: int, count: int
) -> tuple[QMainWindow, ReviewPanel, NotesController]:
    """A fresh panel (another session of the app) on `take`, once its `count` notes have loaded."""
    window, panel, session, notes = noting(qtbot, studio)
    loaded: list[int] = []
    notes.notes_loaded.connect(loaded.append)
    run(qloop, session.open_scene(review.scene_id, take))
    run(qloop, until(lambda: loaded == [count], what="the notes to load"))
    return window, panel, notes  # the caller keeps the window (the panel's owner) alive


def at_frame(qloop: qasync.QEventLoop, panel: ReviewPanel, notes: NotesController, frame: int) -> AnnotationOverlay:
    run(qloop, until(lambda: panel.controller.clock.frame_count > 1, what="the take to open"))
    panel.controller.seek(frame)
    overlay = notes.overlay
    assert overlay is not None
    run(qloop, until(lambda: overlay.frame == frame and overlay.view.shown_index == frame, what=f"frame {frame}"))
    return overlay


def drag(overlay: AnnotationOverlay, a: tuple[float, float], b: tuple[float, float]) -> None:
    pa, pb = overlay.to_widget(a).toPoint(), overlay.to_widget(b).toPoint()
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pa)
    for t in (0.25, 0.5, 0.75, 1.0):
        mid = QPoint(round(pa.x() + (pb.x() - pa.x()) * t), round(pa.y() + (pb.y() - pa.y()) * t))
        QTest.mouseMove(overlay, mid)
    QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pb)


def red_at(overlay: AnnotationOverlay, point: tuple[float, float]) -> bool:
    image = overlay.view.grab().toImage()
    q: QPointF = overlay.to_widget(point)
    return is_red(image.pixelColor(round(q.x()), round(q.y())))


def is_red(c: QColor) -> bool:
    return c.red() > 180 and c.green() < 110 and c.blue() < 110


def test_notes_persist_and_reload_at_their_frames(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    take = review_studio.take_ids[1]
    _window, panel, session, notes = noting(qtbot, studio_as("reviewer"))
    try:
        run(qloop, session.open_scene(review_studio.scene_id, take))
        overlay = at_frame(qloop, panel, notes, 10)
        notes.set_tool(Tool.ARROW)
        drag(overlay, (0.2, 0.2), (0.6, 0.6))
        notes.set_tool(Tool.TEXT)
        overlay.text_provider = lambda _parent: "hand melts"
        QTest.mouseClick(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         overlay.to_widget((0.65, 0.1)).toPoint())  # fmt: skip
        assert [s.tool for s in overlay.pending] == [Tool.ARROW, Tool.TEXT]
        frame_note = run(qloop, notes.save())
        assert frame_note is not None
        assert (frame_note.frame_start, frame_note.frame_count) == (10, 1)
        # a range note: in 20, out 24
        panel.controller.seek(20)
        panel.controller.mark_in()
        panel.controller.seek(24)
        panel.controller.mark_out()
        notes.bar.whole_range.setChecked(True)
        overlay = at_frame(qloop, panel, notes, 24)
        notes.set_tool(Tool.PEN)
        drag(overlay, (0.1, 0.8), (0.4, 0.9))
        range_note = run(qloop, notes.save())
        assert range_note is not None
        assert (range_note.frame_start, range_note.frame_count) == (20, 5)
        creator = review_studio.secure.roles["creator"]
        run(qloop, notes.post_comment(f"the hand melts here @{creator}"))
        assert f"notified {creator}" in session.bar.label.text()
    finally:
        panel.close_player()
    with review_studio.secure.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT frame_start, frame_count, annotation_kind_id, author_id, data->'shapes'->0->>'tool' "
            "FROM annotations WHERE take_id = %s ORDER BY frame_start",
            (take,),
        ).fetchall()
        comment = conn.execute("SELECT frame, body FROM comments WHERE take_id = %s", (take,)).fetchall()
    me = review_studio.secure.user_ids["reviewer"]
    assert rows == [(10, 1, AnnotationKind.FREEHAND, me, "arrow"), (20, 5, AnnotationKind.FREEHAND, me, "pen")]
    assert comment == [(24, f"the hand melts here @{creator}")]

    # A fresh panel (another session of the app) reloads them at their frames.
    _window2, panel, notes = reopened(qtbot, qloop, studio_as("reviewer2"), review_studio, take, 2)
    try:
        overlay = at_frame(qloop, panel, notes, 10)
        [(note, alpha, side)] = overlay.visible_notes()
        assert (note.frame_start, alpha, side) == (10, 1.0, 0)
        assert [s.text for s in note.shapes if s.tool is Tool.TEXT] == ["hand melts"]
        assert red_at(overlay, (0.4, 0.4))  # the arrow is drawn where it was drawn
        overlay = at_frame(qloop, panel, notes, 13)
        [(note, alpha, side)] = overlay.visible_notes()
        assert note.frame_start == 10
        assert side == -1
        assert 0 < alpha < 1  # ghosted: an earlier frame's note
        assert not red_at(overlay, (0.4, 0.4))  # ghosts are drawn in the "before" tint, faded
        overlay = at_frame(qloop, panel, notes, 17)
        sides = sorted((n.frame_start, s) for n, _a, s in overlay.visible_notes())
        assert sides == [(20, 1)]  # the range note ahead, ghosted green; frame 10's note is out of reach
        overlay = at_frame(qloop, panel, notes, 22)
        assert [(n.frame_start, a) for n, a, _s in overlay.visible_notes()] == [(20, 1.0)]
        overlay = at_frame(qloop, panel, notes, 2)
        assert overlay.visible_notes() == []
    finally:
        panel.close_player()
