"""Seeks in the player as bench_player measures them (frames not cached, paused, seek → painted),
on a B-pyramid clip whose decode worker skips non-reference pictures on jumps: every painted
frame is bit-exact against an independent sequential decode."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from tests.media_factory import decode_all, make_video, read_stripe
from tests.ui.review.conftest import CLIP_SIZE
from x121_desktop.ui.review.frame_view import FrameView, PainterFrameCanvas
from x121_desktop.ui.review.player import PlayerController

FRAMES = 90


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x264 = {"x264-params": "b-pyramid=normal:b-adapt=0"}
    path = tmp_path_factory.mktemp("seek") / "pyramid.mp4"
    return make_video(path, FRAMES, rate=30, size=CLIP_SIZE, gop=30, bframes=3, options=x264, photo_name="rocket")


def test_random_seeks_paint_exactly_the_frame_asked_for(qtbot: QtBot, pyramid: Path) -> None:
    reference = decode_all(pyramid)
    assert [read_stripe(f) for f in reference] == list(range(FRAMES))
    view = FrameView("pyramid", prefer_gl=False)
    qtbot.addWidget(view)
    view.resize(*CLIP_SIZE)
    view.show()
    canvas = view.canvas
    assert isinstance(canvas, PainterFrameCanvas)
    controller = PlayerController(budget_bytes=CLIP_SIZE[0] * CLIP_SIZE[1] * 3 * 12)  # 12 frames cached
    cell = controller.add_source(pyramid, view)
    rng = random.Random(7)
    try:
        qtbot.waitUntil(lambda: controller.ready and controller.clock.frame_count == FRAMES, timeout=5000)
        seeks = 0
        for target in [FRAMES - 1, 29, 31, 59, 1, *rng.sample(range(FRAMES), 25)]:
            if cell.source.has(target):
                continue  # the bench skips cached targets too: only decoding seeks count
            paints = canvas.paints
            controller.seek(target)

            def painted(t: int = target, p: int = paints) -> bool:
                return view.shown_index == t and canvas.paints > p

            qtbot.waitUntil(painted, timeout=5000)
            frame = view.state.frame
            assert frame is not None
            assert frame.rgb is not None
            assert frame.index == target
            np.testing.assert_array_equal(frame.rgb, reference[target], err_msg=f"seek to {target}")
            seeks += 1
        assert seeks >= 20, "most targets were decoded by a jump, not served from the cache"
    finally:
        controller.close()
