"""Vinyl mode plays the cell the reviewer works in: with a pinned reference in the first cell and no
cell chosen, the first other clip; after a click on a cell, that cell's clip (and the cell is marked);
a click on the pinned reference leaves the sound where it was; a layout switch that removes the
working cell falls back to the first other clip. Grains are checked against the samples written
into each file (three clips, each with its own sound per frame)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.core.media.test_audio import make_clip, pcm_stereo
from tests.ui.review.test_vinyl import PER_FRAME, RATE, RecordingOut, frame_audio, next_grain
from x121_desktop.ui.review.colors import color
from x121_desktop.ui.review.compare import CompareController
from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.vinyl import AudioOut

Sound = dict[str, tuple[Path, npt.NDArray[np.int16]]]


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Sound:
    """Three 3 s clips (24 fps): a tone per frame, the same backwards, and shifted by seven frames."""
    root = tmp_path_factory.mktemp("vinyl-focus")
    tone = pcm_stereo(3.0, RATE)
    out: Sound = {}
    for name, samples in (("ref", tone), ("back", tone[::-1].copy()), ("late", np.roll(tone, 7 * PER_FRAME, axis=0))):
        out[name] = (make_clip(root / f"{name}.mov", RATE, samples, 48000, "pcm_s16le"), samples)
    return out


def click(view: FrameView) -> None:
    """A click on the cell's picture, as the reviewer makes it (a click is no zoom drag)."""
    QTest.mouseClick(view.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.rect().center())


def marked(view: FrameView) -> bool:
    """The working cell's label band carries the accent line (painted pixels)."""
    image = view.grab().toImage()
    return bool(image.pixelColor(10, image.height() - 21) == color("timeline.in_out"))


def test_vinyl_plays_the_cell_the_reviewer_works_in_never_the_pinned_reference(qtbot: QtBot, sounds: Sound) -> None:
    panel = ReviewPanel(rows=2, columns=2, prefer_gl=False)
    qtbot.addWidget(panel)
    panel.resize(900, 640)
    panel.show()
    qtbot.waitExposed(panel)
    compare = CompareController(panel)
    out = RecordingOut()

    def make(parent: QObject) -> AudioOut:
        return out

    panel.vinyl.make_output = make
    try:
        compare.show([sounds["back"][0], sounds["late"][0], sounds["ref"][0]])
        compare.pin(sounds["ref"][0])
        player = panel.controller
        qtbot.waitUntil(lambda: player.ready and player.clock.frame_count > 1, timeout=5000)
        ref, back, late = panel.grid.cells
        assert [c.source.path for c in player.cells] == [sounds[n][0] for n in ("ref", "back", "late")]
        panel.vinyl.toggle()
        assert panel.vinyl.enabled

        player.seek(10)  # no cell chosen: the first clip that is not the pinned reference
        np.testing.assert_array_equal(next_grain(qtbot, out, 1), frame_audio(sounds["back"][1], 10))

        click(late)
        assert panel.grid.current is late
        assert marked(late)
        assert not marked(back)
        player.step(1)  # exactly frame 11 of the clip in the chosen cell
        np.testing.assert_array_equal(next_grain(qtbot, out, 2), frame_audio(sounds["late"][1], 11))

        click(ref)  # the pinned reference: the sound stays with the cell heard so far
        assert panel.grid.current is ref
        player.step(1)
        np.testing.assert_array_equal(next_grain(qtbot, out, 3), frame_audio(sounds["late"][1], 12))

        click(back)
        player.step(1)
        np.testing.assert_array_equal(next_grain(qtbot, out, 4), frame_audio(sounds["back"][1], 13))

        click(late)
        compare.set_layout(1, 2)  # the working cell goes: back to the first other clip
        assert panel.grid.current is None
        player.seek(40)
        np.testing.assert_array_equal(next_grain(qtbot, out, 5), frame_audio(sounds["back"][1], 40))
        assert panel.vinyl.enabled
    finally:
        panel.close_player()
