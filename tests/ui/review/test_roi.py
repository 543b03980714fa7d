"""Region-of-interest zoom on the sync grid, offscreen (QPainter path): a window dragged on one cell
is mirrored live in the others and then shown in every cell, pixel for pixel what an independent
PyAV decode of that frame cropped and scaled the same way gives; keys zoom, move and reset it; the
in/out range loops while it is set; the compare canvas shows the same region."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow, QWidget
from pytestqt.qtbot import QtBot

from tests.media_factory import decode_all, read_stripe
from x121_desktop.actions import build_registry, load_keymap
from x121_desktop.core.review.compare import CompareMode
from x121_desktop.ui.actions_qt import attach_scope, bind, connect
from x121_desktop.ui.review.compare import CompareController
from x121_desktop.ui.review.frame_view import FrameView, PainterFrameCanvas
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.roi_math import FULL, Roi, band_between, crop_box, zoom_rgb

FRAME = 37


def test_roi_geometry_without_qt() -> None:
    inner = Roi(0.5, 0.0, 0.5, 0.5).inner(Roi(0.5, 0.5, 0.5, 0.5))
    assert (inner.x, inner.y, inner.w, inner.h) == (0.75, 0.25, 0.25, 0.25)
    assert FULL.scaled(2.0) == Roi(0.25, 0.25, 0.5, 0.5)
    assert Roi(0.25, 0.25, 0.5, 0.5).scaled(0.5).is_full
    assert Roi(0.0, 0.0, 0.5, 0.5).scaled(0.5) == FULL  # zooming out near an edge stays inside
    assert Roi(0.6, 0.0, 0.4, 0.4).moved(0.25, -0.25) == Roi(0.6, 0.0, 0.4, 0.4)  # already at the edge
    assert Roi(0.2, 0.2, 0.4, 0.4).moved(-0.25, 0.25) == Roi(0.1, 0.30000000000000004, 0.4, 0.4)
    assert band_between(0.8, 0.9, 0.2, 0.3) == Roi(0.2, 0.3, 0.6000000000000001, 0.6000000000000001)
    assert band_between(0.5, 0.1, 0.5, 0.9) is None  # no width
    assert crop_box(Roi(0.25, 0.25, 0.5, 0.5), 320, 180) == (80, 45, 240, 135)
    assert crop_box(Roi(0.999, 0.999, 0.001, 0.001), 320, 180) == (319, 179, 320, 180)  # at least a pixel
    rgb = np.arange(180 * 320 * 3, dtype=np.uint32).reshape(180, 320, 3).astype(np.uint8)
    assert zoom_rgb(rgb, Roi(0.25, 0.25, 0.5, 0.5), (640, 640)).shape == (360, 640, 3)
    with pytest.raises(ValueError, match="outside the picture"):
        Roi(0.7, 0.0, 0.5, 0.5)


def open_panel(qtbot: QtBot, rows: int = 2, columns: int = 2) -> tuple[ReviewPanel, CompareController]:
    """A shown Review panel on the QPainter path, with its grid tools."""
    panel = ReviewPanel(rows=rows, columns=columns, prefer_gl=False)
    qtbot.addWidget(panel)
    panel.resize(900, 640)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, CompareController(panel)


def grid_panel(qtbot: QtBot, clips: dict[str, Path]) -> tuple[ReviewPanel, CompareController]:
    """Clips a, b, c in the 2x2 grid, every cell on FRAME."""
    panel, compare = open_panel(qtbot)
    compare.show([clips["a"], clips["b"], clips["c"]])
    qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
    panel.controller.seek(FRAME)
    qtbot.waitUntil(lambda: all(v.shown_index == FRAME for v in panel.grid.cells), timeout=5000)
    return panel, compare


def reference(clip: Path, frame: int, roi: Roi, size: tuple[int, int]) -> np.ndarray:
    """An independent decode of `frame`, cropped outwards to whole pixels and scaled to `size`."""
    rgb = decode_all(clip)[frame]
    h, w = rgb.shape[:2]
    x0, x1 = math.floor(roi.x * w + 1e-6), math.ceil((roi.x + roi.w) * w - 1e-6)
    y0, y1 = math.floor(roi.y * h + 1e-6), math.ceil((roi.y + roi.h) * h - 1e-6)
    crop = rgb[y0:y1, x0:x1]
    interpolation = cv2.INTER_AREA if size[0] < x1 - x0 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(crop, size, interpolation=interpolation), dtype=np.uint8)


def check_cell_pixels(view: FrameView, clip: Path, frame: int, roi: Roi) -> None:
    """The cell's picture (array and pixels on screen) is the reference crop of its clip's frame."""
    canvas = view.canvas
    assert isinstance(canvas, PainterFrameCanvas)
    assert view.state.frame is not None
    assert view.state.frame.rgb is not None
    assert view.state.frame.rgb.shape == (180, 320, 3)  # full-size frames under a region
    shown = canvas.shown
    assert shown is not None
    h, w = shown.shape[:2]
    assert w <= canvas.width()
    assert h <= canvas.height()
    assert w >= canvas.width() - 2 or h >= canvas.height() - 2  # fills the cell one way
    x0, y0, x1, y1 = crop_box(roi, 320, 180)
    assert abs(w / h - (x1 - x0) / (y1 - y0)) < 0.05  # the crop's aspect
    expected = reference(clip, frame, roi, (w, h))
    assert np.array_equal(shown, expected)
    picture = canvas.picture_rect()
    assert (picture.width(), picture.height()) == (w, h)
    rows = h - 24  # the label band covers the bottom 21 px of the cell
    on_screen = screen_pixels(canvas)[picture.top() : picture.top() + rows, picture.left() : picture.left() + w]
    assert np.array_equal(on_screen, expected[:rows])


def screen_pixels(widget: QWidget) -> np.ndarray:
    """What the widget paints, as an rgb24 array (one row per scan line)."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(bytes(image.constBits()), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, : image.width() * 3].reshape(image.height(), image.width(), 3)


def drag(view: FrameView, a: QPoint, b: QPoint) -> None:
    target = view.canvas  # events reach the canvas and pass up to the cell, as a mouse's do
    QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(target, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    QTest.mouseMove(target, b)


def test_dragged_window_is_mirrored_live_and_zoomed_exactly_in_every_cell(qtbot: QtBot, clips: dict[str, Path]) -> None:
    panel, compare = grid_panel(qtbot, clips)
    roi = compare.roi

    def current() -> Roi | None:  # read afresh each time (mypy would narrow a plain attribute)
        return roi.roi

    try:
        cells = panel.grid.cells
        source = cells[1]
        pic = source.picture_rect()
        a = QPoint(pic.left() + pic.width() // 4, pic.top() + pic.height() // 4)
        b = QPoint(pic.left() + pic.width() * 3 // 4, pic.top() + pic.height() * 3 // 5)
        drag(source, a, b)
        # live, before the release: the other cells show the window, the dragged one draws it
        preview = roi.preview
        assert preview is not None
        expected = band_between(
            (a.x() - pic.left()) / pic.width(),
            (a.y() - pic.top()) / pic.height(),
            (b.x() - pic.left()) / pic.width(),
            (b.y() - pic.top()) / pic.height(),
        )
        assert preview == expected
        assert preview.x == pytest.approx(0.25, abs=0.01)
        assert preview.w == pytest.approx(0.5, abs=0.01)
        assert preview.h == pytest.approx(0.35, abs=0.01)
        assert [v.state.roi for v in cells] == [preview, None, preview]
        assert source.state.band == preview
        assert current() is None
        for view in (cells[0], cells[2]):
            canvas = view.canvas
            assert isinstance(canvas, PainterFrameCanvas)
            assert canvas.shown is not None
            assert view.state.frame is not None
            assert view.state.frame.rgb is not None
            assert np.array_equal(
                canvas.shown, zoom_rgb(view.state.frame.rgb, preview, (canvas.width(), canvas.height()))
            )

        QTest.mouseRelease(source.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
        assert current() == preview
        assert [roi.preview, source.state.band] == [None, None]
        assert [v.state.roi for v in cells] == [preview] * 3

        def full_size_frames() -> bool:
            return all(
                v.shown_index == FRAME and v.state.frame is not None and v.state.frame.rgb is not None
                and v.state.frame.rgb.shape == (180, 320, 3)
                for v in cells
            )  # fmt: skip

        qtbot.waitUntil(full_size_frames, timeout=5000)
        for view, name in zip(cells, "abc", strict=True):
            check_cell_pixels(view, clips[name], FRAME, preview)

        # a drag on a zoomed cell picks a region inside the current one
        pic = cells[2].picture_rect()
        c = QPoint(pic.left() + pic.width() // 2, pic.top() + pic.height() // 2)
        d = QPoint(pic.right() - 2, pic.bottom() - 2)
        drag(cells[2], c, d)
        QTest.mouseRelease(cells[2].canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, d)
        nested = current()
        assert nested is not None
        assert nested.x == pytest.approx(preview.x + preview.w / 2, abs=0.01)
        assert nested.w == pytest.approx(preview.w / 2, abs=0.01)
        assert nested.x + nested.w <= preview.x + preview.w + 1e-9
        panel.controller.step(3)
        qtbot.waitUntil(lambda: all(v.shown_index == FRAME + 3 for v in cells), timeout=5000)
        for view, name in zip(cells, "abc", strict=True):
            check_cell_pixels(view, clips[name], FRAME + 3, nested)
            assert view.state.frame is not None
            assert view.state.frame.rgb is not None
            assert read_stripe(decode_all(clips[name])[FRAME + 3]) == FRAME + 3

        # a click is not a drag; a double click resets
        QTest.mouseClick(cells[0].canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, c)
        assert current() == nested
        QTest.mouseDClick(cells[0].canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, c)
        assert current() is None
        assert [v.state.roi for v in cells] == [None] * 3
    finally:
        panel.close_player()


def test_keys_zoom_move_and_reset_and_in_out_loops_while_zoomed(qtbot: QtBot, clips: dict[str, Path]) -> None:
    """The review.roi.* actions bound from the keymap, typed as keys into the panel."""
    window = QMainWindow()
    qtbot.addWidget(window)
    panel, compare = grid_panel(qtbot, clips)
    window.setCentralWidget(panel)
    registry = build_registry()
    qactions = bind(registry, load_keymap("default", registry), window)
    attach_scope(qactions, registry, "timeline", panel)
    connect(qactions, compare.handlers())
    for action in qactions.values():
        action.setEnabled(True)
    window.resize(900, 640)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus, timeout=2000)
    roi = compare.roi
    player = panel.controller

    def looping() -> bool:
        return player.clock.loop

    def current() -> Roi | None:
        return roi.roi

    try:
        player.set_loop(False)
        player.seek(10)
        player.mark_in()
        player.seek(19)
        player.mark_out()
        player.seek(12)
        assert looping() is False

        QTest.keyClick(panel, Qt.Key.Key_Equal, Qt.KeyboardModifier.AltModifier)  # Alt+= zoom in
        assert current() == Roi(0.25, 0.25, 0.5, 0.5)
        assert looping() is True  # loops in/out while zoomed
        QTest.keyClick(panel, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)  # Alt+Right
        assert current() == Roi(0.375, 0.25, 0.5, 0.5)
        QTest.keyClick(panel, Qt.Key.Key_Equal, Qt.KeyboardModifier.AltModifier)
        assert current() == Roi(0.5, 0.375, 0.25, 0.25)
        QTest.keyClick(panel, Qt.Key.Key_Minus, Qt.KeyboardModifier.AltModifier)  # Alt+- zoom out
        assert current() == Roi(0.375, 0.25, 0.5, 0.5)
        assert all(v.state.roi == current() for v in panel.grid.cells)

        seen: list[int] = []
        player.frame_changed.connect(seen.append)
        player.play()

        def wrapped_twice() -> bool:
            return sum(1 for x, y in itertools.pairwise(seen) if y < x) >= 2

        qtbot.waitUntil(wrapped_twice, timeout=8000)
        player.stop()
        assert seen
        assert all(10 <= f <= 19 for f in seen), seen  # never left the in/out range
        assert 19 in seen or 18 in seen
        frame = player.clock.frame()
        qtbot.waitUntil(lambda: all(v.shown_index == frame for v in panel.grid.cells), timeout=5000)
        for view, name in zip(panel.grid.cells, "abc", strict=True):
            check_cell_pixels(view, clips[name], frame, Roi(0.375, 0.25, 0.5, 0.5))

        QTest.keyClick(panel, Qt.Key.Key_0, Qt.KeyboardModifier.AltModifier)  # Alt+0 reset
        assert current() is None
        assert looping() is False  # the loop setting from before the zoom comes back
        assert (player.clock.in_point, player.clock.out_point) == (10, 19)
        assert all(v.state.roi is None for v in panel.grid.cells)
    finally:
        panel.close_player()


def test_the_compare_canvas_shows_the_same_region(qtbot: QtBot, clips: dict[str, Path]) -> None:
    panel, compare = grid_panel(qtbot, clips)
    try:
        region = Roi(0.5, 0.5, 0.5, 0.5)
        compare.roi.set_roi(region)
        compare.set_mode(CompareMode.DIFFERENCE)
        canvas = compare.canvas
        assert canvas is not None
        assert canvas.roi == region

        def composited() -> bool:  # from the full-size frames the region asks for
            last = canvas.last
            return last is not None and last.shape == (180, 320, 3) and canvas.last_indices == (FRAME, FRAME)

        qtbot.waitUntil(composited, timeout=5000)
        assert canvas.last is not None  # the composite stays whole; the canvas shows its region
        assert canvas.shown is not None
        assert np.array_equal(canvas.shown, zoom_rgb(canvas.last, region, (canvas.width(), canvas.height())))
        compare.roi.set_roi(None)
        assert canvas.shown is canvas.last
    finally:
        panel.close_player()
