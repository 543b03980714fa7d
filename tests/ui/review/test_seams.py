"""Seam-centric review on a real scene: ↓/↑ step seam to seam (a looped ±k clip, the seam on the
exact frame), grades as traffic lights on the timeline, ghosting N's tail over N+1's head at 50 %,
and a verdict in seam mode judging the take after the seam and advancing to the next seam."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMainWindow
from pytestqt.qtbot import QtBot

from tests.media_factory import read_stripe
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.actions import build_registry, load_keymap
from x121_desktop.core.enums import SeamGrade, Verdict
from x121_desktop.core.media.reader import FrameReader
from x121_desktop.core.review.seams import SeamWindow, blend, step_seam
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService
from x121_desktop.ui.actions_qt import attach_scope, bind, connect
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.seams import SeamReview, grade_color
from x121_desktop.ui.review.verdicts import ReviewSession

__all__ = ["qloop", "review_studio", "studio_as"]
REGISTRY = build_registry()


def test_seam_window_and_stepping_without_qt() -> None:
    w = SeamWindow(30, 30, 12)
    assert (w.left, w.right, w.seam_frame, w.length) == (range(18, 30), range(12), 12, 24)
    assert (w.source_of(11), w.source_of(12), w.ghost_partner(12), w.ghost_partner(3)) == ((0, 29), (1, 0), 18, None)
    short = SeamWindow(5, 3, 12)
    assert (short.left, short.right, short.seam_frame) == (range(5), range(3), 5)
    assert [step_seam(3, None, 1), step_seam(3, None, -1), step_seam(3, 2, 1), step_seam(3, 0, -1)] == [0, 2, 2, 0]
    assert step_seam(0, None, 1) is None
    a, b = np.full((2, 2, 3), 200, np.uint8), np.full((2, 2, 3), 100, np.uint8)
    assert int(blend(a, b)[0, 0, 0]) == 150


def seam_window(qtbot: QtBot, studio: Studio) -> tuple[QMainWindow, ReviewPanel, ReviewSession, SeamReview]:
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = ReviewPanel(rows=1, columns=1, prefer_gl=False)
    window.setCentralWidget(panel)
    session = ReviewSession(panel, ReviewService(studio))
    seams = SeamReview(session)
    panel.add_bar(session.bar)
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    attach_scope(actions, REGISTRY, "timeline", panel)
    connect(actions, {**session.handlers(), **seams.handlers()})
    window.resize(640, 420)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    panel.setFocus()
    return window, panel, session, seams


def shown_stripe(qloop: qasync.QEventLoop, panel: ReviewPanel, frame: int) -> int:
    run(qloop, until(lambda: panel.controller.clock.frame_count > 1, what="the clip to open"))
    panel.controller.seek(frame)
    view = panel.grid.cells[0]
    run(qloop, until(lambda: view.shown_index == frame, what=f"clip frame {frame}"))
    assert view.state.frame is not None
    assert view.state.frame.rgb is not None
    return read_stripe(view.state.frame.rgb)


def press(qloop: qasync.QEventLoop, panel: ReviewPanel, seams: SeamReview, key: Qt.Key) -> None:
    QTest.keyClick(panel, key)
    run(qloop, seams.drain())


def test_step_seam_to_seam_loop_ghost_and_judge(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    _window, panel, session, seams = seam_window(qtbot, studio_as("reviewer"))
    takes = review_studio.take_ids
    green, red = grade_color(SeamGrade.GREEN), grade_color(SeamGrade.RED)
    try:
        run(qloop, session.open_scene(review_studio.scene_id, takes[0]))
        assert panel.timeline.marks == [(29, green)]  # take 1 ends at a green seam
        press(qloop, panel, seams, Qt.Key.Key_Down)
        assert seams.index == 0
        assert seams.clip is not None
        assert panel.timeline.marks == [(12, green)]
        assert panel.controller.clock.loop
        assert shown_stripe(qloop, panel, 11) == 29  # the last frame of take 1 …
        # … then the first take 2 plays in the assembled scene, on the marked frame (its frame 0 repeats
        # take 1's cut frame in a chain: the scene never plays it, so neither does the seam clip)
        assert shown_stripe(qloop, panel, 12) == 1
        assert panel.controller.clock.frame_count == 24  # ±12 frames
        press(qloop, panel, seams, Qt.Key.Key_Down)
        assert seams.index == 1
        assert panel.timeline.marks == [(12, red)]
        press(qloop, panel, seams, Qt.Key.Key_Up)
        assert seams.index == 0
        # a verdict in seam mode judges the take after the seam, then moves on to the next seam
        QTest.keyClick(panel, Qt.Key.Key_3)
        run(qloop, session.drain())
        run(qloop, seams.drain())
        assert seams.index == 1
        assert session.queue is not None
        judged = session.queue.take(takes[1])
        assert judged is not None
        assert judged.my_verdict is Verdict.FLAG
        # ghosting: take 2's head carries take 1's tail at 50 %
        seams.toggle_ghost()
        run(qloop, seams.drain())
        clip = seams.clip
        assert clip is not None
        assert clip.ghost
        queue = session.queue
        left, right = queue.take(takes[1]), queue.take(takes[2])
        assert left is not None
        assert right is not None
        assert left.video is not None
        assert right.video is not None
        with FrameReader(clip.path) as c, FrameReader(left.video) as a, FrameReader(right.video) as b:
            got, expected = c.frame(14).astype(int), blend(a.frame(20), b.frame(3)).astype(int)
            assert np.abs(got - expected).mean() < 6  # against an independent decode of both takes
            assert np.abs(got - b.frame(3).astype(int)).mean() > 15  # and visibly not take 3 alone
        seams.toggle_loop()
        assert not panel.controller.clock.loop
    finally:
        panel.close_player()
