"""Clips of different rates in one grid: the clock counts in the scene's rate, else in the lead cell's (the
first cell in grid order that is not the pinned reference), never in that of whichever clip happens to open
first (the clock waits for a lead clip still opening); the other cells show the frame of the same instant;
the transport line and the cells say the rates."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.media_factory import make_video, read_stripe
from tests.ui.review.conftest import CLIP_SIZE
from tests.ui.review.test_player import FakeTime
from tests.ui.review.test_roi import open_panel
from x121_desktop.core.review import map_frame
from x121_desktop.services import review_media
from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.grid import ReviewGrid
from x121_desktop.ui.review.player import PlayerController


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2 s clip at 24 fps and a 3 s one at 30 fps (GOP of one second), frame numbers in stripes."""
    root = tmp_path_factory.mktemp("mixed-rates")
    return {
        "24": make_video(root / "walk24.mp4", 48, rate=24, size=CLIP_SIZE, gop=24, bframes=0, photo_name="chelsea"),
        "30": make_video(root / "walk30.mp4", 90, rate=30, size=CLIP_SIZE, gop=30, bframes=0, photo_name="coffee"),
    }


def stripe(view: FrameView) -> int:
    frame = view.state.frame
    assert frame is not None
    assert frame.rgb is not None
    return read_stripe(frame.rgb)


def test_the_lead_cells_rate_wins_even_when_another_clip_opens_first(
    qtbot: QtBot, mixed: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 24 fps clip leads (first cell); its opening is held back until the 30 fps clip has opened and
    reached the player, as happens now and then on a busy machine. The clock must not take 30 fps then."""
    lead_opens = threading.Event()
    real_probe = review_media.probe

    def held_probe(path: Path) -> object:
        if Path(path) == mixed["24"]:
            assert lead_opens.wait(10), "the test never let the lead clip open"
        return real_probe(path)

    monkeypatch.setattr(review_media, "probe", held_probe)
    panel, _compare = open_panel(qtbot, 2, 2)
    try:
        panel.load([mixed["24"], mixed["30"]])
        lead, other = panel.controller.cells
        qtbot.waitUntil(lambda: other.source.info is not None, timeout=5000)
        qtbot.waitUntil(lambda: other.view.shown_index is not None, timeout=5000)  # the player has seen it open
        assert panel.controller.lead() is None  # still opening: the rate waits for it
        assert panel.controller.clock.frame_count == 1  # nor is anything counted in a rate not yet known
        lead_opens.set()
        qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
        clock = panel.controller.clock
        assert panel.controller.lead() is lead
        assert (clock.rate, clock.frame_count) == (Fraction(24), 72)  # 3 s of the 30 fps clip at 24 fps
        assert "24 fps (walk24.mp4)" in panel.status.text()
        assert (lead.view.state.info_text, other.view.state.info_text) == ("", "30 fps")
    finally:
        panel.close_player()


@pytest.mark.parametrize(("order", "rate"), [(("30", "24"), Fraction(30)), (("24", "30"), Fraction(24))])
def test_the_rate_follows_grid_order_and_the_pinned_reference_never_leads(
    qtbot: QtBot, mixed: dict[str, Path], order: tuple[str, str], rate: Fraction
) -> None:
    panel, compare = open_panel(qtbot, 2, 2)
    try:
        compare.show([mixed[order[0]], mixed[order[1]]])
        qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
        assert panel.controller.clock.rate == rate
        compare.pin(mixed[order[0]])  # the reference goes first; the other clip leads now
        qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
        assert panel.controller.cells[0].source.path == mixed[order[0]]
        assert panel.controller.clock.rate == Fraction(int(order[1]))
    finally:
        panel.close_player()


def test_mixed_rates_play_each_clip_at_its_own_time_on_exact_frames(qtbot: QtBot, mixed: dict[str, Path]) -> None:
    now = FakeTime()
    grid = ReviewGrid(1, 2, prefer_gl=False)
    qtbot.addWidget(grid)
    grid.resize(660, 200)
    grid.show()
    controller = PlayerController(now=now)
    for name in ("30", "24"):
        controller.add_source(mixed[name], grid.add_cell(name))
    try:
        qtbot.waitUntil(lambda: controller.ready and controller.clock.frame_count == 90, timeout=5000)
        thirty, twenty_four = grid.cells
        assert controller.clock.rate == Fraction(30)
        assert (thirty.state.info_text, twenty_four.state.info_text) == ("", "24 fps")
        controller.seek(45)  # 1.5 s
        qtbot.waitUntil(lambda: thirty.shown_index == 45 and twenty_four.shown_index == 36, timeout=5000)
        assert (stripe(thirty), stripe(twenty_four)) == (45, 36)
        controller.play()
        step = 10**9 // 9  # a ninth of a second: neither rate's frames line up with the steps
        for tick in range(1, 9):
            now.ns += step
            frame = controller.clock.frame()
            assert frame == 45 + tick * step * 30 // 10**9
            due = min(map_frame(frame, Fraction(30), Fraction(24)), 47)  # past its 2 s: its last frame stays
            qtbot.waitUntil(lambda f=frame, d=due: (thirty.shown_index, twenty_four.shown_index) == (f, d),
                            timeout=3000)  # fmt: skip
            assert (stripe(thirty), stripe(twenty_four)) == (frame, due)
        controller.stop()
        controller.seek(80)  # past the 24 fps clip's end (2 s): it holds its last frame
        qtbot.waitUntil(lambda: thirty.shown_index == 80 and twenty_four.shown_index == 47, timeout=5000)
        ready = controller.cached_everywhere()
        assert 80 in ready  # the 30 fps frame 80 and the 24 fps clip's last frame are both decoded
        assert all(0 <= f < 90 for f in ready)
    finally:
        controller.close()


def test_the_scene_rate_counts_the_clock_whatever_the_clips(qtbot: QtBot, mixed: dict[str, Path]) -> None:
    panel, _compare = open_panel(qtbot, 1, 2)
    try:
        panel.load([mixed["24"], mixed["30"]])
        panel.set_timeline_rate(Fraction(30000, 1001))
        controller = panel.controller
        qtbot.waitUntil(lambda: controller.ready and controller.clock.frame_count > 1, timeout=5000)
        clock = controller.clock
        assert clock.rate == Fraction(30000, 1001)
        assert clock.frame_count == 90  # 3 s at 29.97 fps: 89.9 frames
        assert "29.97 fps (scene rate)" in panel.status.text()
        assert [c.view.state.info_text for c in controller.cells] == ["24 fps", "30 fps"]
        panel.load([mixed["24"]])  # the next player counts in the scene's rate too
        qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
        assert panel.controller.clock.rate == Fraction(30000, 1001)
    finally:
        panel.close_player()
