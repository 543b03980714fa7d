"""One-handed verdicts in the Review panel: keys 1/2/3 record the reviewer's verdicts in the real
database (as that login) and advance to the next pending take, which the player then shows."""

from __future__ import annotations

from collections.abc import Callable

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMainWindow
from pytestqt.qtbot import QtBot

from tests.db.security_studio import SUPERUSER
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.actions import build_registry, load_keymap
from x121_desktop.core.enums import Verdict
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService
from x121_desktop.ui.actions_qt import attach_scope, bind, connect, update_enabled
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.tools import ReviewTools
from x121_desktop.ui.review.verdicts import ReviewSession

__all__ = ["qloop", "review_studio", "studio_as"]
REGISTRY = build_registry()


def reviewing(qtbot: QtBot, studio: Studio) -> tuple[QMainWindow, ReviewPanel, ReviewSession]:
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = ReviewPanel(rows=1, columns=1, prefer_gl=False)
    window.setCentralWidget(panel)
    session = ReviewSession(panel, ReviewService(studio))
    panel.add_bar(session.bar)
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    attach_scope(actions, REGISTRY, "timeline", panel)
    connect(actions, session.handlers())
    window.resize(640, 420)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    panel.setFocus()
    return window, panel, session


def test_keys_1_2_3_record_verdicts_and_advance(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    _window, panel, session = reviewing(qtbot, studio_as("reviewer"))
    takes = review_studio.take_ids
    try:
        run(qloop, session.open_scene(review_studio.scene_id))
        assert session.current is not None
        assert session.current.take_id == takes[0]
        run(qloop, until(lambda: panel.controller.cells and panel.controller.cells[0].view.shown_index == 0))
        shown: list[int] = []
        session.take_shown.connect(shown.append)
        for key, expected_next in ((Qt.Key.Key_1, takes[1]), (Qt.Key.Key_2, takes[2]), (Qt.Key.Key_3, None)):
            before = session.current
            assert before is not None
            QTest.keyClick(panel, key)
            QTest.keyClick(panel, key)  # a double tap while the first is written is ignored
            run(qloop, session.drain())
            run(qloop, until(lambda: not session.busy, what="the verdict to be written"))
            now = session.current
            assert (now.take_id if now is not None else None) == expected_next
        assert shown == [takes[1], takes[2]]
        assert "all reviewed" in session.bar.label.text()
        assert panel.controller.cells[0].source.path.name == "take_2.mp4"  # the player shows the advanced take
        with review_studio.secure.connect(SUPERUSER) as conn:
            rows = conn.execute(
                "SELECT take_id, verdict_id, reviewer_id FROM verdicts WHERE take_id = ANY(%s) ORDER BY take_id",
                (takes,),
            ).fetchall()
        me = review_studio.secure.user_ids["reviewer"]
        mine = [(t, v) for t, v, who in rows if who == me]
        assert mine == [(takes[0], Verdict.APPROVE), (takes[1], Verdict.REJECT), (takes[2], Verdict.FLAG)]
    finally:
        panel.close_player()


def test_a_reviewers_reject_with_regeneration_keeps_the_verdict_and_says_why_not(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    _window, panel, session = reviewing(qtbot, studio_as("reviewer2"))
    try:
        run(qloop, session.open_scene(review_studio.scene_id, review_studio.take_ids[1]))
        session.bar.regenerate.setChecked(True)
        QTest.keyClick(panel, Qt.Key.Key_2)
        run(qloop, session.drain())
        assert "not regenerated" in session.bar.label.text()
        assert session.queue is not None
        take = session.queue.take(review_studio.take_ids[1])
        assert take is not None
        assert take.my_verdict is Verdict.REJECT
    finally:
        panel.close_player()


def test_review_tools_open_a_take_at_a_frame_with_every_action_handled(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    panel = ReviewPanel(rows=1, columns=1, prefer_gl=False)
    qtbot.addWidget(panel)
    tools = ReviewTools(panel, ReviewService(studio_as("reviewer")))
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), panel)
    update_enabled(actions, REGISTRY, {"always"}.__contains__)  # what the main window does at start
    attach_scope(actions, REGISTRY, "timeline", panel)
    tools.attach(actions)
    assert not actions["review.verdict.approve"].isEnabled()  # nothing to judge yet
    panel.resize(640, 480)
    panel.show()
    try:
        assert set(tools.handlers()) >= {
            "review.verdict.approve", "review.verdict.reject", "review.verdict.flag", "review.add_note",
            "playback.next_seam", "playback.prev_seam", "review.loop_seam", "review.onion_skin",
            "review.compare.ab", "review.compare.wipe", "review.compare.difference", "review.grid",
            "review.cinema_mode",
        }  # fmt: skip
        assert set(tools.handlers()) <= set(REGISTRY.ids())
        run(qloop, tools.open_take(review_studio.take_ids[2], 7))
        run(qloop, until(lambda: panel.grid.cells and panel.grid.cells[0].shown_index == 7, what="frame 7"))
        assert tools.session.current is not None
        assert tools.session.current.take_id == review_studio.take_ids[2]
        assert actions["review.verdict.approve"].isEnabled()
        assert actions["playback.next_seam"].isEnabled()
        actions["review.verdict.approve"].trigger()
        run(qloop, tools.session.drain())
        mine = tools.session.queue.take(review_studio.take_ids[2]) if tools.session.queue else None
        assert mine is not None
        assert mine.my_verdict is Verdict.APPROVE
    finally:
        panel.close_player()
