"""Before heal / after heal in seam-centric review, on a seam the real healing ladder healed.

The healed scene (tests/services/healed_scene.py) is healed by `SceneDirector` as in production; the
reviewer steps to its seam, presses the keymap's review.heal_ab key and sees the take the heal was
made from on the very same frame (the frame number drawn in the picture), with the colour cast the
heal removed, then the healed take again; playing, the toggle keeps playing. The status line names
the remedy and the grade and score before and after.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.media_factory import read_stripe
from tests.services.healed_scene import FRAMES, HealedScene, healed_scene, review_studio, studio_as
from tests.services.review_studio import ReviewStudio
from tests.ui.review.test_seams import press, seam_window
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.actions import build_registry, load_keymap
from x121_desktop.core.enums import SeamGrade
from x121_desktop.services.bootstrap import Studio
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.seams import grade_color

__all__ = ["healed_scene", "qloop", "review_studio", "studio_as"]
REGISTRY = build_registry()


def on_screen(qloop: qasync.QEventLoop, panel: ReviewPanel, frame: int) -> np.ndarray:
    """The picture Review shows once it shows clip frame `frame` (the frame the decoder delivered)."""
    view = panel.grid.cells[0]
    run(qloop, until(lambda: view.shown_index == frame, what=f"clip frame {frame} on screen"))
    assert view.state.frame is not None
    assert view.state.frame.rgb is not None
    return view.state.frame.rgb


def cast(picture: np.ndarray) -> float:
    """How far the picture's mean colour (below the number stripe) leans to orange: red minus blue."""
    mean = picture[picture.shape[0] // 8 :].reshape(-1, 3).mean(axis=0)
    return float(mean[0] - mean[2])


def test_h_toggles_before_and_after_heal_on_the_same_frame(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    review_studio: ReviewStudio,
    healed_scene: HealedScene,
    studio_as: Callable[[str], Studio],
) -> None:
    assert load_keymap("default", REGISTRY).keys_for("review.heal_ab") == ("H",)
    _window, panel, session, seams = seam_window(qtbot, studio_as("reviewer"))
    try:
        run(qloop, session.open_scene(healed_scene.scene_id, healed_scene.left_take))
        press(qloop, panel, seams, Qt.Key.Key_Down)
        clip = seams.clip
        assert clip is not None
        assert not seams.before_heal
        status = session.bar.label.text()
        assert "healed by colour match: red 0.00 → green" in status
        assert f"showing AFTER heal (take {healed_scene.healed_take})" in status
        assert panel.timeline.marks == [(clip.window.seam_frame, grade_color(SeamGrade.GREEN))]
        run(qloop, until(lambda: panel.controller.clock.frame_count == clip.window.length, what="the clip"))
        frame = clip.window.seam_frame + 3
        panel.controller.seek(frame)
        after = on_screen(qloop, panel, frame)
        assert read_stripe(after) == FRAMES + 3  # the 4th frame the right take plays after the cut

        press(qloop, panel, seams, Qt.Key.Key_H)
        assert seams.before_heal
        assert seams.clip is not None
        assert seams.clip.path != clip.path
        assert seams.clip.window.seam_frame == clip.window.seam_frame
        before = on_screen(qloop, panel, frame)  # the same clip frame, without seeking by hand
        assert read_stripe(before) == FRAMES + 3  # … and the same moment of the move
        assert cast(before) > cast(after) + 10  # the cast the heal took out is back
        assert f"showing BEFORE heal (take {healed_scene.measured_take})" in session.bar.label.text()
        assert panel.timeline.marks == [(clip.window.seam_frame, grade_color(SeamGrade.RED))]
        assert session.current is not None
        assert session.current.take_id == healed_scene.healed_take  # a verdict still judges the healed take

        # playing, the toggle keeps playing (at the speed it had) from the frame playback had reached
        panel.controller.play(2)
        run(qloop, until(lambda: panel.controller.clock.frame() != frame, what="playback to move"))
        press(qloop, panel, seams, Qt.Key.Key_H)
        assert not seams.before_heal
        run(qloop, until(lambda: panel.grid.cells[0].shown_index is not None, what="the healed clip to show"))
        assert panel.controller.clock.speed == 2
        panel.controller.stop()
        shown = panel.grid.cells[0].shown_index
        assert shown is not None
        assert read_stripe(on_screen(qloop, panel, shown)) == FRAMES - seams.k + shown
    finally:
        panel.close_player()


def test_h_from_the_healed_take_and_on_a_seam_no_heal_touched(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    review_studio: ReviewStudio,
    healed_scene: HealedScene,
    studio_as: Callable[[str], Studio],
) -> None:
    _window, panel, session, seams = seam_window(qtbot, studio_as("reviewer2"))
    try:
        # on the healed take itself, H opens the seam it starts at, before the heal
        run(qloop, session.open_scene(healed_scene.scene_id, healed_scene.healed_take))
        press(qloop, panel, seams, Qt.Key.Key_H)
        assert (seams.index, seams.before_heal) == (0, True)
        assert "showing BEFORE heal" in session.bar.label.text()
        # a scene whose seams were measured but never healed: a sentence, nothing loaded
        run(qloop, session.open_scene(review_studio.scene_id, review_studio.take_ids[0]))
        seams.leave()
        press(qloop, panel, seams, Qt.Key.Key_Down)
        shown = seams.clip
        press(qloop, panel, seams, Qt.Key.Key_H)
        assert seams.clip is shown
        assert not seams.before_heal
        assert "was not healed by the healing ladder" in session.bar.label.text()
    finally:
        panel.close_player()
