"""Seam-centric review inside the 2x2 sync-play grid, and "Open clips…" during a scene review.

Stepping to a seam (↓/↑, the default keymap) puts the seam clip in the working cell only: the layout, the
other cells (the pinned reference, clips beside it) and their decoders, the audible cell the reviewer
chose, a saved note on the reference and a stroke not yet saved on another cell all stay, every cell plays
from the one clock (the seam clip's frames as in/out, looped), and stepping back or leaving seam mode loses
none of it. Clips opened from the file dialog while a scene is under review count in the scene's rate, as
the session's takes and seam clips do; without a scene, in the lead clip's. Real database (as a reviewer),
real clips, the real file dialog answered by typing names as a person would."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMainWindow
from pytestqt.qtbot import QtBot

from tests.media_factory import make_video, read_stripe
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from tests.ui.review.conftest import CLIP_SIZE
from tests.ui.review.file_dialog import click_open_clips
from tests.ui.review.test_annotations_cells import arrow
from tests.ui.review.test_show_take import names
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.actions import build_registry, load_keymap
from x121_desktop.core.enums import SeamGrade
from x121_desktop.core.review.clock import PlayOrder
from x121_desktop.core.review.notes import Tool
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService
from x121_desktop.ui.actions_qt import attach_scope, bind
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.seams import grade_color
from x121_desktop.ui.review.tools import ReviewTools

__all__ = ["qloop", "review_studio", "studio_as"]
REGISTRY = build_registry()


@pytest.fixture(scope="module")
def loose(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of loose files: a 2 s clip at 24 fps and a 3 s one at 30 fps (the test scene's rate)."""
    root = tmp_path_factory.mktemp("loose-clips")
    make_video(root / "walk24.mp4", 48, rate=24, size=CLIP_SIZE, gop=24, bframes=0, photo_name="chelsea")
    make_video(root / "walk30.mp4", 90, rate=30, size=CLIP_SIZE, gop=30, bframes=0, photo_name="coffee")
    return root


def review_window(qtbot: QtBot, studio: Studio | None) -> tuple[QMainWindow, ReviewPanel, ReviewTools | None]:
    """A 2x2 Review panel in a window (keep the window: qtbot holds it weakly), its timeline keys bound from
    the default keymap; with `studio`, the review tools (session, notes, seams, compare, memos) attached as
    the studio attaches them."""
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = ReviewPanel(rows=2, columns=2, prefer_gl=False)
    window.setCentralWidget(panel)
    tools = None if studio is None else ReviewTools(panel, ReviewService(studio))
    actions = bind(REGISTRY, load_keymap("default", REGISTRY), window)
    attach_scope(actions, REGISTRY, "timeline", panel)
    if tools is not None:
        tools.attach(actions)
    window.resize(960, 720)
    window.show()
    qtbot.waitExposed(window)
    focus(qtbot, panel)
    return window, panel, tools


def focus(qtbot: QtBot, panel: ReviewPanel) -> None:
    """The panel's window active and the focus in the panel: its keys reach the timeline scope."""
    window = panel.window()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    panel.setFocus()


def open_clips(
    qtbot: QtBot, panel: ReviewPanel, folder: Path, files: list[str], shown: list[str] | None = None
) -> None:
    """Click "Open clips…" and answer the real file dialog: type the names into it, then Open; wait until the
    new player shows `shown` (by default the first four files)."""
    before = panel.controller
    assert click_open_clips(panel, folder, files), "no file dialog opened"
    expected = files[:4] if shown is None else shown
    qtbot.waitUntil(lambda: panel.controller is not before and names(panel) == expected, timeout=3000)
    focus(qtbot, panel)  # the dialog has closed: keys go to the review window again


def counted(panel: ReviewPanel) -> Callable[[], bool]:
    def ready() -> bool:
        controller = panel.controller
        return controller.ready and controller.lead() is not None and controller.clock.frame_count > 1

    return ready


def test_seams_step_in_the_working_cell_and_keep_the_rest_of_the_grid(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    review_studio: ReviewStudio,
    studio_as: Callable[[str], Studio],
    clips: dict[str, Path],
) -> None:
    _window, panel, tools = review_window(qtbot, studio_as("reviewer"))
    assert tools is not None
    session, seams, compare, notes = tools.session, tools.seams, tools.compare, tools.notes
    t0, t1, t2 = review_studio.take_ids
    try:
        run(qloop, session.open_scene(review_studio.scene_id, t0))
        queue = session.queue
        assert queue is not None
        videos = [t.video for t in queue.takes]
        assert None not in videos
        compare.pin(videos[2])  # take 2 as the reference …
        compare.show([p for p in (videos[0], clips["b"], clips["c"]) if p is not None])  # … and 3 clips beside it
        assert names(panel) == ["take_2.mp4", "take_0.mp4", "b.mp4", "c.mp4"]
        reference, working, beside, last = panel.controller.cells
        views = [c.view for c in panel.controller.cells]
        # a note saved on the reference (take 2, frame 5) and a stroke not yet saved on the last cell
        run(qloop, until(counted(panel), what="four clips open"))
        panel.controller.seek(5)
        run(qloop, until(lambda: all(v.shown_index == 5 for v in views), what="frame 5 in every cell"))
        notes.set_tool(Tool.ARROW)
        overlays = {o.view: o for o in notes.overlays}
        arrow(overlays[reference.view], (0.2, 0.2), (0.6, 0.6))
        assert run(qloop, notes.save()) is not None
        arrow(overlays[last.view], (0.3, 0.3), (0.7, 0.4))
        notes.set_tool(None)
        panel.grid.set_current(working.view)  # the reviewer works in take 0's cell …
        panel.audible.choose_next()  # … and listens to the clip beside it
        assert panel.audible.cell is beside

        def grid_kept(seam_clip: str) -> None:
            """The seam clip in the working cell; everything else as the reviewer left it."""
            assert panel.grid_shape == (2, 2)
            assert names(panel) == ["take_2.mp4", seam_clip, "b.mp4", "c.mp4"]
            assert panel.controller.cells == [reference, working, beside, last]  # the same cells and views
            assert [c.view for c in panel.controller.cells] == views == panel.grid.cells
            assert panel.pinned == compare.pinned == videos[2]
            assert panel.grid.current is working.view
            assert panel.audible.cell is beside
            assert {o.view: o for o in notes.overlays} == overlays  # the same overlays, nothing rebuilt
            assert [n.frame_start for n in notes.notes[t2]] == [5]
            assert overlays[reference.view].take_id == t2
            assert len(overlays[last.view].pending) == 1  # the stroke not yet saved is still there

        def placed(length: int) -> Callable[[], bool]:
            return lambda: panel.controller.clock.order() == PlayOrder(0, length, seams.loop, 90)

        QTest.keyClick(panel, Qt.Key.Key_Down)  # ↓: the first seam (take 0 | take 1)
        run(qloop, seams.drain())
        clip = seams.clip
        assert seams.index == 0
        assert clip is not None
        grid_kept(clip.path.name)
        assert panel.timeline.marks == [(clip.window.seam_frame, grade_color(SeamGrade.GREEN))]
        run(qloop, until(placed(clip.window.length), what="in/out over the seam clip's 24 frames, looped"))
        assert panel.controller.clock.rate == Fraction(30)
        assert "30 fps (scene rate)" in panel.status.text()
        # in lockstep: clock frame 12 is the seam clip's first frame of take 1 and frame 12 of the others
        panel.controller.seek(12)
        run(qloop, until(lambda: all(v.shown_index == 12 for v in views), what="frame 12 in every cell"))
        stripes = []
        for view in views:
            assert view.state.frame is not None
            assert view.state.frame.rgb is not None
            stripes.append(read_stripe(view.state.frame.rgb))
        assert stripes == [12, 1, 12, 12]  # take 1's frame 0 repeats take 0's cut: the scene plays its frame 1

        QTest.keyClick(panel, Qt.Key.Key_Down)  # the second seam, in the same cell
        run(qloop, seams.drain())
        assert seams.index == 1
        second = seams.clip
        assert second is not None
        grid_kept(second.path.name)
        assert panel.timeline.marks == [(second.window.seam_frame, grade_color(SeamGrade.RED))]
        QTest.keyClick(panel, Qt.Key.Key_Up)  # ↑: back to the first seam; nothing was lost on the way
        run(qloop, seams.drain())
        assert seams.index == 0
        assert seams.clip is not None
        grid_kept(seams.clip.path.name)
        run(qloop, until(placed(seams.clip.window.length), what="the first seam clip's in/out again"))
        assert session.current is not None
        assert session.current.take_id == t1  # a verdict judges the take after the seam

        seams.leave()  # back to plain takes: the take after the seam in the same cell, in/out cleared
        grid_kept("take_1.mp4")
        assert panel.controller.clock.order() == PlayOrder(0, 90, panel.controller.clock.loop, 90)
        run(qloop, tools.notes.drain())
        run(qloop, tools.memos.drain())
    finally:
        panel.close_player()


def test_clips_opened_during_a_scene_review_count_in_the_scenes_rate(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    review_studio: ReviewStudio,
    studio_as: Callable[[str], Studio],
    loose: Path,
) -> None:
    _window, panel, tools = review_window(qtbot, studio_as("reviewer"))
    assert tools is not None
    try:
        run(qloop, tools.session.open_scene(review_studio.scene_id, review_studio.take_ids[0]))
        open_clips(qtbot, panel, loose, ["walk24.mp4", "walk30.mp4"])
        run(qloop, until(counted(panel), what="the loose clips open"))
        clock = panel.controller.clock
        assert clock.rate == Fraction(30)  # the scene's, as for its takes; not the lead clip's 24 fps
        assert clock.frame_count == 90
        assert "30 fps (scene rate)" in panel.status.text()
        assert [c.view.state.info_text for c in panel.controller.cells] == ["24 fps", ""]
        # the review goes on in the scene's rate: the next seam's clip in the working cell, frames 1:1
        QTest.keyClick(panel, Qt.Key.Key_Down)
        run(qloop, tools.seams.drain())
        clip = tools.seams.clip
        assert clip is not None
        assert names(panel) == [clip.path.name, "walk30.mp4"]
        run(qloop, until(counted(panel), what="the seam clip open"))
        assert panel.controller.clock.rate == Fraction(30)
        run(qloop, until(lambda: panel.controller.clock.order().stop == clip.window.length, what="seam in/out"))
        run(qloop, tools.notes.drain())
        run(qloop, tools.memos.drain())
    finally:
        panel.close_player()


@pytest.mark.parametrize(("files", "rate"), [(["walk24.mp4", "walk30.mp4"], 24), (["walk30.mp4", "walk24.mp4"], 30)])
def test_clips_opened_with_no_scene_count_in_the_lead_clips_rate(
    qtbot: QtBot, loose: Path, files: list[str], rate: int
) -> None:
    _window, panel, _tools = review_window(qtbot, None)
    try:
        open_clips(qtbot, panel, loose, files)
        qtbot.waitUntil(counted(panel), timeout=5000)
        assert panel.controller.clock.rate == Fraction(rate)
        assert f"{rate} fps ({files[0]})" in panel.status.text()
    finally:
        panel.close_player()
