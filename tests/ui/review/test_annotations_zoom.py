"""Notes on a zoomed cell (region of interest): a stroke drawn on the zoomed picture is stored, in the
real database, at its whole-frame coordinates; a stored note is drawn where that spot is in a cell
zoomed on another region, ghosted there on nearby frames, and back at the whole-frame spot once the
zoom is reset. Geometry is computed here independently: the crop box by floor/ceil on the clip's
pixels, the picture as that crop scaled to fit and centred in the cell."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import pytest
import qasync
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.db.security_studio import SUPERUSER
from tests.services.review_studio import CLIP_SIZE, ReviewStudio, review_studio, studio_as
from tests.ui.review.test_annotations import at_frame, is_red, noting, reopened
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.core.review.notes import Tool
from x121_desktop.services.bootstrap import Studio
from x121_desktop.ui.review.annotate import AnnotationOverlay
from x121_desktop.ui.review.frame_view import PainterFrameCanvas
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.roi import RoiController
from x121_desktop.ui.review.roi_math import Roi

__all__ = ["qloop", "review_studio", "studio_as"]

DRAWN_ON = Roi(0.3, 0.2, 0.45, 0.5)  # its top and bottom edges fall inside pixels of the 160x96 clip
SHOWN_ON = Roi(0.2, 0.3, 0.6, 0.6)


class Window:
    """What a zoomed cell shows, worked out from the clip's size and the cell alone: the crop's
    whole pixels and where the scaled crop lies in the cell (exact fractions)."""

    def __init__(self, roi: Roi, canvas: PainterFrameCanvas) -> None:
        w, h = CLIP_SIZE
        self.x0, self.y0 = math.floor(roi.x * w + 1e-6), math.floor(roi.y * h + 1e-6)
        self.x1, self.y1 = math.ceil((roi.x + roi.w) * w - 1e-6), math.ceil((roi.y + roi.h) * h - 1e-6)
        assert canvas.shown is not None
        self.ph, self.pw = canvas.shown.shape[:2]  # the scaled crop, drawn 1:1
        assert abs(self.pw / self.ph - (self.x1 - self.x0) / (self.y1 - self.y0)) < 0.05
        self.left = canvas.x() + (canvas.width() - self.pw) // 2
        self.top = canvas.y() + (canvas.height() - self.ph) // 2

    def to_frame(self, pos: QPoint) -> tuple[Fraction, Fraction]:
        """The whole-frame point (0..1) under a cell pixel position."""
        w, h = CLIP_SIZE
        u, v = Fraction(pos.x() - self.left, self.pw), Fraction(pos.y() - self.top, self.ph)
        return (self.x0 + u * (self.x1 - self.x0)) / w, (self.y0 + v * (self.y1 - self.y0)) / h

    def point(self, u: float, v: float) -> QPoint:
        """A cell pixel near (u, v) of the picture whose whole-frame point is not on a 1e-4 rounding
        edge (where float and exact arithmetic could round differently)."""
        pos = QPoint(self.left + round(u * self.pw), self.top + round(v * self.ph))
        while any(on_rounding_edge(c) for c in self.to_frame(pos)):
            pos += QPoint(1, 1)
        return pos

    def to_cell(self, p: tuple[float, float]) -> tuple[float, float]:
        """Where a whole-frame point lies in the cell."""
        w, h = CLIP_SIZE
        u = (Fraction(p[0]) * w - self.x0) / (self.x1 - self.x0)
        v = (Fraction(p[1]) * h - self.y0) / (self.y1 - self.y0)
        return float(self.left + u * self.pw), float(self.top + v * self.ph)


def on_rounding_edge(value: Fraction) -> bool:
    scaled = value * 10_000
    return abs(scaled - math.floor(scaled) - Fraction(1, 2)) < Fraction(1, 10**6)


def stored(value: Fraction) -> float:
    """A coordinate as notes store it (rounded to 1e-4)."""
    assert not on_rounding_edge(value)
    return round(float(value), 4)


def zoom(qloop: qasync.QEventLoop, panel: ReviewPanel, roi: RoiController, region: Roi | None) -> PainterFrameCanvas:
    """Set the region and wait for the cell to show frames at the size it asks for (full under a zoom)."""
    roi.set_roi(region)
    view = panel.grid.cells[0]
    canvas = view.canvas
    assert isinstance(canvas, PainterFrameCanvas)

    def settled() -> bool:
        frame = view.state.frame
        size = view.rgb_size(CLIP_SIZE)
        return frame is not None and frame.rgb is not None and (frame.rgb.shape[1], frame.rgb.shape[0]) == size

    run(qloop, until(settled, what="frames at the zoomed cell's size"))
    return canvas


def pixel(overlay: AnnotationOverlay, at: tuple[float, float], *, notes: bool) -> QColor:
    """The cell's pixel at `at`, with the notes (the view with its overlay) or without (the canvas alone)."""
    widget = overlay.view if notes else overlay.view.canvas
    return widget.grab().toImage().pixelColor(round(at[0]), round(at[1]))


def approx(expected: tuple[float, float]) -> object:
    return pytest.approx(expected, abs=1e-9)


def test_a_note_drawn_on_a_zoomed_cell_is_stored_and_shown_in_whole_frame_coordinates(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    take = review_studio.take_ids[0]
    _window, panel, session, notes = noting(qtbot, studio_as("reviewer"))
    roi = RoiController(panel)
    try:
        run(qloop, session.open_scene(review_studio.scene_id, take))
        overlay = at_frame(qloop, panel, notes, 10)
        canvas = zoom(qloop, panel, roi, DRAWN_ON)
        window = Window(DRAWN_ON, canvas)
        assert (window.x0, window.y0, window.x1, window.y1) == (48, 19, 120, 68)
        a, b = window.point(0.2, 0.3), window.point(0.7, 0.8)
        notes.set_tool(Tool.ARROW)
        QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
        QTest.mouseMove(overlay, (a + b) / 2)
        QTest.mouseMove(overlay, b)
        QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
        expected = [[stored(c) for c in window.to_frame(p)] for p in (a, b)]
        [shape] = overlay.pending
        assert [list(p) for p in shape.points] == expected
        assert shape.width == round(4.0 * 49 / 96, 4)  # as thin on the whole frame as it looked zoomed
        assert run(qloop, notes.save()) is not None
    finally:
        panel.close_player()
    with review_studio.secure.connect(SUPERUSER) as conn:
        row = conn.execute(
            "SELECT frame_start, data->'shapes'->0->'points' FROM annotations WHERE take_id = %s", (take,)
        ).fetchone()
    assert row == (10, expected)  # whole-frame coordinates in the database

    # Another reviewer's panel, zoomed on another region: the arrow is where that spot is on screen.
    _window2, panel, notes = reopened(qtbot, qloop, studio_as("reviewer2"), review_studio, take, 1)
    roi = RoiController(panel)
    try:
        overlay = at_frame(qloop, panel, notes, 10)
        canvas = zoom(qloop, panel, roi, SHOWN_ON)
        window = Window(SHOWN_ON, canvas)
        [(note, alpha, _side)] = overlay.visible_notes()
        assert alpha == 1.0
        points = note.shapes[0].points
        assert [list(p) for p in points] == expected
        for p in points:
            q = overlay.to_widget(p)
            assert (q.x(), q.y()) == approx(window.to_cell(p))
        mid = ((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2)
        on_screen, unzoomed = window.to_cell(mid), (window.left + mid[0] * window.pw, window.top + mid[1] * window.ph)
        assert abs(on_screen[1] - unzoomed[1]) > 40  # far apart: the old whole-cell mapping drew it there
        assert is_red(pixel(overlay, on_screen, notes=True))
        assert pixel(overlay, unzoomed, notes=True) == pixel(overlay, unzoomed, notes=False)

        overlay = at_frame(qloop, panel, notes, 12)  # two frames on: ghosted, at the same spot
        [(_note, alpha, side)] = overlay.visible_notes()
        assert (side, 0 < alpha < 1) == (-1, True)
        assert pixel(overlay, on_screen, notes=True) != pixel(overlay, on_screen, notes=False)
        assert pixel(overlay, unzoomed, notes=True) == pixel(overlay, unzoomed, notes=False)

        overlay = at_frame(qloop, panel, notes, 10)
        canvas = zoom(qloop, panel, roi, None)  # reset: the whole frame, the note at its whole-frame spot
        picture = overlay.picture_rect()
        whole = (picture.left() + mid[0] * picture.width(), picture.top() + mid[1] * picture.height())
        assert (overlay.to_widget(mid).x(), overlay.to_widget(mid).y()) == approx(whole)
        assert is_red(pixel(overlay, whole, notes=True))
    finally:
        panel.close_player()
