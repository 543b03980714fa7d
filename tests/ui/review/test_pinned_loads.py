"""A pinned reference stays pinned and on screen whichever way clips arrive: "Open clips…" (the real file
dialog, answered by typing names), `CompareController.show` and a plain `ReviewPanel.load` all put it in the
first cell and the chosen clips after it; the clock's rate comes from the first of those (the lead clip),
the sound plays from it, and A of a compare mode is the reference. Clips a layout has no room for wait and
are named under the transport line; a larger layout opens them. A take shown over the reference in 1x1
(`show_clip`) hides it, said so, until a larger layout puts it back in the first cell. Real clips, no DB."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from tests.media_factory import read_stripe
from tests.ui.review.test_seam_grid import counted, loose, open_clips, review_window
from tests.ui.review.test_show_take import names
from x121_desktop.core.review import map_frame
from x121_desktop.core.review.compare import CompareMode
from x121_desktop.ui.review.compare import CompareController
from x121_desktop.ui.review.panel import ReviewPanel

__all__ = ["loose"]


def pinned_panel(qtbot: QtBot, reference: Path) -> tuple[QMainWindow, ReviewPanel, CompareController]:
    """The 2x2 Review panel in its window (the dialog's parent; keep it: qtbot holds it weakly), `reference`
    pinned alone in it."""
    window, panel, _tools = review_window(qtbot, None)
    compare = CompareController(panel)
    compare.pin(reference)
    assert names(panel) == [reference.name]
    return window, panel, compare


def stripes(panel: ReviewPanel) -> list[int]:
    out = []
    for cell in panel.controller.cells:
        frame = cell.view.state.frame
        assert frame is not None
        assert frame.rgb is not None
        out.append(read_stripe(frame.rgb))
    return out


def test_open_clips_loads_around_the_pinned_reference(qtbot: QtBot, loose: Path, clips: dict[str, Path]) -> None:
    reference = clips["a"]  # 30 fps; the first clip chosen is 24 fps
    _window, panel, compare = pinned_panel(qtbot, reference)
    try:
        compare.set_mode(CompareMode.WIPE)
        open_clips(qtbot, panel, loose, ["walk24.mp4", "walk30.mp4"], shown=["a.mp4", "walk24.mp4", "walk30.mp4"])
        assert panel.paths == [reference, loose / "walk24.mp4", loose / "walk30.mp4"]
        assert (panel.pinned, compare.pinned) == (reference, reference)
        qtbot.waitUntil(counted(panel), timeout=5000)
        controller = panel.controller
        first, lead, _other = controller.cells
        assert controller.lead() is lead  # the first clip chosen leads: the clock counts in its rate
        assert controller.clock.rate == Fraction(24)
        assert "24 fps (walk24.mp4)" in panel.status.text()
        qtbot.waitUntil(lambda: panel.audible.cell is lead, timeout=3000)  # never the reference's sound
        canvas = compare.canvas
        assert canvas is not None
        assert (canvas.a, canvas.b) == (first.view, lead.view)  # A is the reference, B the lead clip
        assert panel.room_note.isHidden()
        controller.seek(20)
        due = [map_frame(20, Fraction(24), Fraction(30)), 20, map_frame(20, Fraction(24), Fraction(30))]
        qtbot.waitUntil(lambda: [c.view.shown_index for c in controller.cells] == due, timeout=5000)
        assert stripes(panel) == due  # one clock, each clip on its own exact frame
        assert "frame 20 / 72" in panel.status.text()  # the lead clip's frame, not the reference's 25

        compare.show([clips["b"], reference, clips["c"]])  # the reference's own file is not opened twice
        assert names(panel) == ["a.mp4", "b.mp4", "c.mp4"]
        panel.load([clips["c"]])  # nor can a plain load drop it
        assert names(panel) == ["a.mp4", "c.mp4"]
        compare.pin(None)  # unpinned, it stays where it is as any clip
        assert (names(panel), panel.pinned, compare.pinned) == (["a.mp4", "c.mp4"], None, None)
        qtbot.waitUntil(counted(panel), timeout=5000)
        assert panel.controller.lead() is panel.controller.cells[0]
    finally:
        panel.close_player()


def test_clips_with_no_room_wait_named_until_a_larger_layout(qtbot: QtBot, loose: Path, clips: dict[str, Path]) -> None:
    reference = clips["a"]
    _window, panel, compare = pinned_panel(qtbot, reference)
    try:
        compare.set_layout(1, 1)
        open_clips(qtbot, panel, loose, ["walk24.mp4", "walk30.mp4"], shown=["a.mp4"])
        assert panel.paths == [reference, loose / "walk24.mp4", loose / "walk30.mp4"]  # waiting, not dropped
        assert panel.room_note.isVisible()
        assert panel.room_note.text() == (
            "No room for walk24.mp4, walk30.mp4 in the 1x1 layout (the pinned reference a.mp4 keeps the first "
            "cell): a larger layout shows them."
        )
        compare.set_layout(1, 2)
        assert names(panel) == ["a.mp4", "walk24.mp4"]
        assert panel.room_note.text().startswith("No room for walk30.mp4 in the 1x2 layout")
        compare.set_layout(2, 2)
        assert names(panel) == ["a.mp4", "walk24.mp4", "walk30.mp4"]
        assert panel.room_note.isHidden()
        qtbot.waitUntil(counted(panel), timeout=5000)
        assert panel.controller.clock.rate == Fraction(24)  # the lead clip's, not the reference's 30 fps
    finally:
        panel.close_player()


def test_a_clip_shown_over_the_reference_in_1x1_brings_it_back_first(qtbot: QtBot, clips: dict[str, Path]) -> None:
    reference = clips["a"]
    _window, panel, compare = pinned_panel(qtbot, reference)
    try:
        compare.set_layout(1, 1)
        cell = panel.show_clip(clips["b"])  # a take from the review session: the one cell shows it
        assert names(panel) == ["b.mp4"]
        assert panel.paths == [clips["b"], reference]
        assert panel.pinned == reference
        assert panel.room_note.text() == (
            "No room for a.mp4 (the pinned reference) in the 1x1 layout: a larger layout shows it in the first cell."
        )
        panel.show_clip(clips["c"])  # the next take in the same cell; the reference still waits
        assert panel.paths == [clips["c"], reference]
        compare.set_layout(2, 2)
        assert names(panel) == ["a.mp4", "c.mp4"]
        assert panel.controller.cells[1] is cell  # the take's cell and decoder go on, one place further
        assert panel.grid.cells == [c.view for c in panel.controller.cells]
        assert panel.paths == [reference, clips["c"]]
        assert panel.room_note.isHidden()
        qtbot.waitUntil(counted(panel), timeout=5000)
        assert panel.controller.lead() is cell
        panel.controller.seek(33)
        qtbot.waitUntil(lambda: [c.view.shown_index for c in panel.controller.cells] == [33, 33], timeout=5000)
        assert stripes(panel) == [33, 33]
    finally:
        panel.close_player()
