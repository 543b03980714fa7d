"""Switching the sync grid's layout (1x2 / 2x2 / 3x3) keeps playback where it is: the frame on
screen, the in/out range, the pinned reference, the compare mode and the zoom region; the cells
that stay keep their decoders, and clips that fit again open in the new cells."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.media_factory import read_stripe
from tests.ui.review.conftest import CLIP_SIZE, review_threads
from tests.ui.review.test_roi import open_panel
from x121_desktop.core.review.compare import CompareMode
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.roi_math import Roi


def on_frame(qtbot: QtBot, panel: ReviewPanel, frame: int) -> None:
    """Every cell shows `frame` (its label and its picture's stripe agree)."""

    def shown() -> bool:
        return all(v.shown_index == frame for v in panel.grid.cells)

    qtbot.waitUntil(shown, timeout=5000)
    for view in panel.grid.cells:
        assert view.state.frame is not None
        assert view.state.frame.rgb is not None
        assert read_stripe(view.state.frame.rgb) == frame


def test_layout_switch_keeps_frame_in_out_pin_mode_and_region(qtbot: QtBot, clips: dict[str, Path]) -> None:
    panel, compare = open_panel(qtbot)

    def mode() -> CompareMode:
        return compare.mode

    try:
        compare.show([clips["a"], clips["b"], clips["c"]])
        compare.pin(clips["c"])
        player = panel.controller
        qtbot.waitUntil(lambda: player.ready and player.clock.frame_count == 90, timeout=5000)
        player.seek(30)
        player.mark_in()
        player.seek(60)
        player.mark_out()
        player.seek(44)
        on_frame(qtbot, panel, 44)
        compare.set_layout(3, 3)  # without a region: cells shrink, frames come at the new cell size
        assert (player.clock.frame(), player.clock.in_point, player.clock.out_point) == (44, 30, 60)

        def at_cell_size() -> bool:
            return all(
                v.state.frame is not None and v.state.frame.rgb is not None and v.shown_index == 44
                and v.state.frame.rgb.shape[1::-1] == v.rgb_size(CLIP_SIZE)
                for v in panel.grid.cells
            )  # fmt: skip

        qtbot.waitUntil(at_cell_size, timeout=5000)
        assert panel.grid.cells[0].width() < 900 // 3 + 2
        compare.set_layout(2, 2)
        qtbot.waitUntil(at_cell_size, timeout=5000)
        on_frame(qtbot, panel, 44)
        compare.set_mode(CompareMode.WIPE)
        compare.roi.set_roi(Roi(0.25, 0.25, 0.5, 0.5))
        sources = [c.source for c in player.cells]
        loaded: list[int] = []
        panel.loaded.connect(lambda: loaded.append(1))

        for rows, columns, shown in ((1, 2, 2), (3, 3, 3), (2, 2, 3), (1, 2, 2)):
            compare.set_layout(rows, columns)
            assert panel.grid_shape == (rows, columns)
            assert panel.controller is player  # the same clock and decoders: nothing reloaded
            clock = player.clock
            assert clock.frame() == 44
            assert (clock.in_point, clock.out_point) == (30, 60)
            assert clock.loop is True  # the region loops in/out
            assert [c.source.path for c in player.cells] == [clips["c"], clips["a"], clips["b"]][:shown]
            assert player.cells[0].source is sources[0]  # the pinned reference's cell kept its decoder
            assert player.cells[1].source is sources[1]
            assert mode() is CompareMode.WIPE
            assert compare.canvas is not None
            assert compare.canvas.roi == Roi(0.25, 0.25, 0.5, 0.5)
            assert all(v.state.roi == Roi(0.25, 0.25, 0.5, 0.5) for v in panel.grid.cells)
            assert len(panel.grid.cells) == shown
            on_frame(qtbot, panel, 44)
            assert compare.canvas.last_indices == (44, 44)
        assert loaded == []
        assert sum(1 for t in review_threads() if t.name.endswith("b.mp4")) == 0  # the dropped cell's thread ended

        compare.set_layout(1, 1)  # one cell has no B: the compare mode ends, the rest stays
        assert (mode(), compare.canvas) == (CompareMode.SIDE_BY_SIDE, None)
        assert player.clock.frame() == 44
        assert (player.clock.in_point, player.clock.out_point) == (30, 60)
        on_frame(qtbot, panel, 44)
        compare.set_mode(CompareMode.DIFFERENCE)  # back to two cells, still on the frame
        assert panel.grid_shape == (1, 2)
        assert compare.canvas is not None
        on_frame(qtbot, panel, 44)
        assert player.clock.frame() == 44
    finally:
        panel.close_player()
