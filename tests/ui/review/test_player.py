"""The player offscreen: exact frames against an independent decode, shuttle, loop, scrubbing,
an error tile beside clips that keep playing, and the QPainter fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.media_factory import decode_all, read_stripe
from tests.ui.review.conftest import CLIP_SIZE, review_threads
from x121_desktop.ui.review.frame_view import FrameView, PainterFrameCanvas
from x121_desktop.ui.review.grid import ReviewGrid
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.player import PlayerController


class FakeTime:
    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


def one_view(qtbot: QtBot, path: Path, now: FakeTime | None = None) -> tuple[PlayerController, FrameView]:
    view = FrameView("a", prefer_gl=False)
    qtbot.addWidget(view)
    view.resize(*CLIP_SIZE)
    view.show()
    controller = PlayerController(now=now) if now else PlayerController()
    controller.add_source(path, view)
    qtbot.waitUntil(lambda: controller.ready and controller.clock.frame_count > 1, timeout=5000)
    return controller, view


def shows(view: FrameView, frame: int) -> bool:
    return view.shown_index == frame


def wait_shown(qtbot: QtBot, view: FrameView, frame: int) -> None:
    def shown() -> bool:
        return view.shown_index == frame

    qtbot.waitUntil(shown, timeout=3000)


def test_frame_stepping_lands_on_exact_frames(qtbot: QtBot, clips: dict[str, Path]) -> None:
    reference = decode_all(clips["a"])
    controller, view = one_view(qtbot, clips["a"])
    try:
        moves = [1, 1, 1, -1, -1, 28, 1, 1, -1, -1, -1, 40, -5, -30, 10, 10, -1, 89, -1, 1]
        for n in moves:
            controller.step(n)
            target = controller.clock.frame()
            wait_shown(qtbot, view, target)
            assert view.state.frame is not None
            rgb = view.state.frame.rgb
            assert rgb is not None
            assert read_stripe(rgb) == target  # the picture is the frame the label names
            assert np.array_equal(rgb, reference[target])  # bit-exact against plain sequential decode
            assert controller.clock.playing is False
    finally:
        controller.close()


def test_shuttle_jkl_and_loop_inside_in_out(qtbot: QtBot, clips: dict[str, Path]) -> None:
    now = FakeTime()
    controller, view = one_view(qtbot, clips["b"], now)
    frame_ns = 10**9 // 30 + 1
    try:
        controller.seek(10)
        controller.mark_in()
        controller.seek(19)
        controller.mark_out()
        controller.seek(10)
        controller.play()
        seen = []
        for _ in range(25):
            now.ns += frame_ns
            target = controller.clock.frame()
            wait_shown(qtbot, view, target)
            assert view.state.frame is not None
            assert view.state.frame.rgb is not None
            assert read_stripe(view.state.frame.rgb) == target
            seen.append(target)
        assert seen == [*range(11, 20), *range(10, 20), *range(10, 16)]  # wrapped twice at the out point
        handlers = controller.handlers()
        handlers["playback.stop"]()  # K
        handlers["playback.clear_in_out"]()
        handlers["playback.shuttle_reverse"]()  # J: 1x back
        handlers["playback.shuttle_reverse"]()  # J again: 2x back
        assert controller.clock.speed == -2
        start = controller.clock.frame()
        now.ns += 5 * frame_ns
        qtbot.waitUntil(lambda: shows(view, start - 10), timeout=3000)
        handlers["playback.shuttle_forward"]()  # L after reverse: 1x forward
        assert controller.clock.speed == 1
        handlers["playback.stop"]()
        assert controller.clock.playing is False
    finally:
        controller.close()


def test_error_tile_while_the_other_cells_keep_playing(qtbot: QtBot, clips: dict[str, Path]) -> None:
    grid = ReviewGrid(2, 2, prefer_gl=False)
    qtbot.addWidget(grid)
    grid.resize(660, 380)
    grid.show()
    controller = PlayerController()
    names = ["a", "broken", "b", "c"]
    for name in names:
        controller.add_source(clips[name], grid.add_cell(name))
    try:
        qtbot.waitUntil(lambda: controller.ready, timeout=5000)
        qtbot.waitUntil(lambda: all(controller.frames_ready(f) for f in range(20)), timeout=5000)
        controller.play()
        qtbot.wait(700)
        controller.stop()
        broken = grid.cells[1]
        assert broken.state.error is not None
        assert "broken.mp4" in broken.state.error
        image = broken.grab().toImage()
        assert image.width() > 0
        frame = controller.clock.frame()
        assert frame >= 10  # ~0.7 s at 30 fps
        for view in (grid.cells[0], grid.cells[2], grid.cells[3]):
            wait_shown(qtbot, view, frame)
            assert view.state.frame is not None
            assert view.state.frame.rgb is not None
            assert read_stripe(view.state.frame.rgb) == frame  # lockstep: every cell on the clock's frame
    finally:
        controller.close()
    assert review_threads() == []


def test_offscreen_uses_the_qpainter_fallback(qtbot: QtBot) -> None:
    view = FrameView("x", prefer_gl=True)
    qtbot.addWidget(view)
    assert isinstance(view.canvas, PainterFrameCanvas)
    assert view.uses_gpu is False
    assert "offscreen" in view.fallback_reason
    assert view.rgb_size((1920, 1080)) is not None  # the worker is asked for rgb24, not planes


def test_scrubbing_the_timeline_and_cache_bar(qtbot: QtBot, clips: dict[str, Path]) -> None:
    panel = ReviewPanel(rows=1, columns=1, prefer_gl=False)
    qtbot.addWidget(panel)
    panel.resize(500, 380)
    panel.show()
    panel.load([clips["c"]])
    try:
        qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count == 90, timeout=5000)
        bar = panel.timeline
        x = int(bar.x_of(60) + bar.width() / 90 / 2)
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 10))
        view = panel.grid.cells[0]
        qtbot.waitUntil(lambda: shows(view, 60), timeout=3000)
        qtbot.waitUntil(lambda: "frame 60 / 90" in panel.status.text(), timeout=1000)
        qtbot.waitUntil(lambda: panel.cache_bar.cached_count >= 30, timeout=5000)
        assert any(a <= 60 < b for a, b in panel.cache_bar.cached_runs)
    finally:
        panel.close_player()
