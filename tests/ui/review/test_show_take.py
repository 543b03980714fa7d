"""A take shown by the review session (auto-advance after a verdict, an x121:// link) goes to the working
cell: the grid layout, the pinned reference, the clips beside it and the compare mode stay; the clock counts
in the scene's rate. Real database (as a reviewer), real clips."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import qasync
from pytestqt.qtbot import QtBot

from tests.media_factory import read_stripe
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.core.enums import Verdict
from x121_desktop.core.review.compare import CompareMode
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.tools import ReviewTools

__all__ = ["qloop", "review_studio", "studio_as"]


def tools_on(qtbot: QtBot, studio: Studio, rows: int, columns: int) -> tuple[ReviewPanel, ReviewTools]:
    panel = ReviewPanel(rows=rows, columns=columns, prefer_gl=False)
    qtbot.addWidget(panel)
    tools = ReviewTools(panel, ReviewService(studio))
    panel.resize(900, 640)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, tools


def names(panel: ReviewPanel) -> list[str]:
    return [c.source.path.name for c in panel.controller.cells]


def opened(panel: ReviewPanel) -> Callable[[], bool]:
    def ready() -> bool:
        c = panel.controller
        return c.ready and all(cell.view.shown_index == c.clock.frame() for cell in c.cells)

    return ready


def test_takes_replace_the_working_cell_and_keep_the_grid_pin_and_compare_mode(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    review_studio: ReviewStudio,
    studio_as: Callable[[str], Studio],
    clips: dict[str, Path],
) -> None:
    panel, tools = tools_on(qtbot, studio_as("reviewer"), 2, 2)
    session, compare = tools.session, tools.compare
    takes = review_studio.take_ids
    try:
        compare.pin(clips["a"])  # a reference from elsewhere, at 30 fps like the scene
        run(qloop, session.open_scene(review_studio.scene_id))
        assert names(panel) == ["a.mp4", "take_0.mp4"]  # every cell was the reference: a free slot took it
        assert panel.controller.clock.rate == Fraction(30)  # the scene's rate
        assert "30 fps (scene rate)" in panel.status.text()
        run(qloop, until(opened(panel), what="both cells on frame 0"))
        compare.set_mode(CompareMode.WIPE)
        canvas = compare.canvas
        assert canvas is not None
        reference_view, take_view = (c.view for c in panel.controller.cells)
        panel.controller.seek(12)
        run(qloop, until(opened(panel), what="both cells on frame 12"))

        run(qloop, session.give(Verdict.APPROVE))  # auto-advance: the next take replaces take 0
        assert session.current is not None
        assert session.current.take_id == takes[1]
        assert names(panel) == ["a.mp4", "take_1.mp4"]
        assert panel.grid_shape == (2, 2)
        assert [c.view for c in panel.controller.cells] == [reference_view, take_view]  # the same cells
        assert (compare.mode, compare.canvas) == (CompareMode.WIPE, canvas)  # compare goes on, not rebuilt
        assert panel.controller.clock.frame() == 0  # a new take starts at its start
        run(qloop, until(opened(panel), what="take 1 on frame 0"))
        assert take_view.state.label == "take_1.mp4"
        run(qloop, until(lambda: canvas.last_indices == (0, 0), what="the wipe over the reference and take 1"))

        compare.show([clips["b"], clips["c"]])  # two other clips beside the reference (take 1 leaves)
        run(qloop, until(opened(panel), what="three cells"))
        third = panel.controller.cells[2]
        panel.grid.set_current(third.view)  # the reviewer works in the third cell
        run(qloop, tools.open_take(takes[2], 7))  # a link: take 2 at frame 7
        assert names(panel) == ["a.mp4", "b.mp4", "take_2.mp4"]
        assert panel.controller.cells[2] is third
        run(qloop, until(lambda: third.view.shown_index == 7, what="take 2 at frame 7"))
        frame = third.view.state.frame
        assert frame is not None
        assert frame.rgb is not None
        assert read_stripe(frame.rgb) == 7
        assert compare.mode is CompareMode.WIPE
        assert panel.controller.clock.frame() == 7
        assert panel.paths == [clips["a"], clips["b"], third.source.path]
        run(qloop, tools.notes.drain())  # the takes' notes and memos, read as each was shown
        run(qloop, tools.memos.drain())
    finally:
        panel.close_player()


def test_a_single_cell_shows_the_take_alone(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    review_studio: ReviewStudio,
    studio_as: Callable[[str], Studio],
    clips: dict[str, Path],
) -> None:
    panel, tools = tools_on(qtbot, studio_as("reviewer"), 1, 1)
    try:
        tools.compare.pin(clips["a"])
        assert names(panel) == ["a.mp4"]
        run(qloop, tools.session.open_scene(review_studio.scene_id, review_studio.take_ids[1]))
        assert names(panel) == ["take_1.mp4"]  # the one cell shows the take, not the reference
        assert panel.grid_shape == (1, 1)
        run(qloop, until(opened(panel), what="take 1"))
        run(qloop, tools.notes.drain())
        run(qloop, tools.memos.drain())
    finally:
        panel.close_player()
