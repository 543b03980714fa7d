"""Sync grid and compare modes offscreen: 1x2/2x2/3x3 in lockstep on exact frames, a pinned
reference staying in the first cell, and A/B, wipe (dragged), difference and blend composites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.media_factory import read_stripe
from tests.ui.review.test_roi import open_panel
from x121_desktop.core.review.compare import CompareMode, composite, fit_to
from x121_desktop.ui.review.compare import CompareCanvas, CompareController
from x121_desktop.ui.review.panel import ReviewPanel


def test_composites_without_qt() -> None:
    a = np.zeros((4, 8, 3), np.uint8)
    b = np.full((4, 8, 3), 100, np.uint8)
    wipe = composite(a, b, CompareMode.WIPE, wipe=0.25)
    assert (wipe[:, :2] == 0).all()
    assert (wipe[:, 2:] == 100).all()
    assert (composite(a, b, CompareMode.DIFFERENCE) == 255).all()  # 100 x gain 4, clipped
    assert (composite(b, b, CompareMode.DIFFERENCE) == 0).all()
    assert (composite(a, b, CompareMode.BLEND) == 50).all()
    assert composite(a, b, CompareMode.A) is a
    assert (composite(a, b, CompareMode.B) == b).all()
    assert fit_to(np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3), (4, 4, 3)).shape == (4, 4, 3)


def panel_with(qtbot: QtBot) -> tuple[ReviewPanel, CompareController]:
    return open_panel(qtbot, 1, 1)


def seek_all(qtbot: QtBot, panel: ReviewPanel, frame: int) -> None:
    qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
    panel.controller.seek(frame)
    qtbot.waitUntil(lambda: all(v.shown_index == frame for v in panel.grid.cells), timeout=5000)


def wait_indices(qtbot: QtBot, canvas: CompareCanvas, indices: tuple[int, int] | None) -> None:
    """Until the canvas has composited (frames `indices` of A and B, when given)."""

    def done() -> bool:
        return canvas.last is not None and (indices is None or canvas.last_indices == indices)

    qtbot.waitUntil(done, timeout=3000)


def stripes(panel: ReviewPanel) -> list[int]:
    out = []
    for view in panel.grid.cells:
        assert view.state.frame is not None
        assert view.state.frame.rgb is not None
        out.append(read_stripe(view.state.frame.rgb))
    return out


def test_grid_layouts_play_in_lockstep_with_a_pinned_reference(qtbot: QtBot, clips: dict[str, Path]) -> None:
    panel, compare = panel_with(qtbot)
    try:
        compare.show([clips["a"], clips["b"], clips["c"]])
        compare.set_layout(3, 3)
        assert panel.grid_shape == (3, 3)
        assert len(panel.grid.cells) == 3
        compare.pin(clips["c"])
        assert [c.source.path for c in panel.controller.cells] == [clips["c"], clips["a"], clips["b"]]
        compare.show([clips["b"]])  # new takes come and go; the reference stays first
        assert [c.source.path for c in panel.controller.cells] == [clips["c"], clips["b"]]
        compare.set_layout(2, 2)
        compare.show([clips["a"], clips["b"]])
        seek_all(qtbot, panel, 40)
        assert stripes(panel) == [40, 40, 40]  # every cell on the same exact frame
        panel.controller.step(7)
        qtbot.waitUntil(lambda: all(v.shown_index == 47 for v in panel.grid.cells), timeout=5000)
        assert stripes(panel) == [47, 47, 47]
        with pytest.raises(ValueError, match="layouts are"):
            compare.set_layout(4, 4)
    finally:
        panel.close_player()


def test_compare_modes_composite_the_two_cells_frame_aligned(qtbot: QtBot, clips: dict[str, Path]) -> None:
    panel, compare = panel_with(qtbot)
    try:
        compare.show([clips["a"], clips["a"]])
        compare.set_mode(CompareMode.DIFFERENCE)  # switches 1x1 to 1x2: A and B both decode
        assert panel.grid_shape == (1, 2)
        seek_all(qtbot, panel, 30)
        canvas = compare.canvas
        assert canvas is not None
        wait_indices(qtbot, canvas, (30, 30))
        assert canvas.last is not None
        assert int(canvas.last.max()) == 0  # a take against itself: no difference anywhere

        compare.show([clips["a"], clips["b"]])
        seek_all(qtbot, panel, 30)
        canvas = compare.canvas
        assert canvas is not None
        wait_indices(qtbot, canvas, (30, 30))
        a, b = (v.state.frame.rgb for v in panel.grid.cells if v.state.frame is not None)
        assert a is not None
        assert b is not None
        assert canvas.last is not None
        assert float(canvas.last.mean()) > 20  # two different takes differ

        compare.toggle(CompareMode.WIPE)
        canvas = compare.canvas
        assert canvas is not None
        wait_indices(qtbot, canvas, None)
        r = canvas.picture_rect()
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(r.left() + r.width() // 4, r.center().y()))  # fmt: skip
        assert compare.wipe == pytest.approx(0.25, abs=0.01)
        x = round(canvas.wipe * a.shape[1])
        assert canvas.last is not None
        assert np.array_equal(canvas.last[:, :x], a[:, :x])
        assert np.array_equal(canvas.last[:, x:], b[:, x:])

        compare.set_mode(CompareMode.BLEND)
        canvas = compare.canvas
        assert canvas is not None
        assert canvas.last is not None
        assert np.array_equal(canvas.last, composite(a, b, CompareMode.BLEND))

        compare.toggle_ab()
        assert compare.canvas is not None
        assert compare.canvas.last is a
        compare.toggle_ab()
        assert compare.canvas is not None
        assert np.array_equal(compare.canvas.last, b)
        compare.toggle(CompareMode.B)
        assert compare.mode is CompareMode.SIDE_BY_SIDE
        assert compare.canvas is None
    finally:
        panel.close_player()
