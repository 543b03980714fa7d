"""Cinema mode with Ambilight: border colours per zone (rgb and Y'CbCr agree), smoothing over time,
the full-screen player starting at the panel's frame with the glow painted around the picture."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.media_factory import read_stripe
from x121_desktop.core.media.yuv import yuv_from_av
from x121_desktop.core.review.ambilight import GlowSmoother, border_glow, border_glow_yuv
from x121_desktop.ui.review.cinema import CinemaMode
from x121_desktop.ui.review.panel import ReviewPanel


def bordered(h: int = 360, w: int = 640) -> np.ndarray:
    f = np.full((h, w, 3), 90, np.uint8)
    f[: h // 10] = (220, 30, 30)  # red along the top
    f[h - h // 10 :] = (30, 30, 220)  # blue along the bottom
    f[h // 10 : h - h // 10, : w // 2] = (30, 200, 40)  # left half green (left border)
    return f


def test_border_zones_from_rgb_and_yuv_agree() -> None:
    rgb = bordered()
    glow = border_glow(rgb)
    assert glow.top.shape == (12, 3)
    assert glow.left.shape == (7, 3)
    assert np.allclose(glow.top, (220, 30, 30), atol=1)
    assert np.allclose(glow.bottom, (30, 30, 220), atol=1)
    assert np.allclose(glow.left[3], (30, 200, 40), atol=1)  # mid-left zone
    assert np.allclose(glow.right[3], (90, 90, 90), atol=1)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    from_yuv = border_glow_yuv(yuv_from_av(frame))
    for a, b in zip(glow.sides(), from_yuv.sides(), strict=True):
        assert np.abs(a - b).max() < 12  # 4:2:0 chroma at colour edges, limited range rounding


def test_glow_is_smoothed_over_time() -> None:
    dark, bright = border_glow(np.zeros((90, 160, 3), np.uint8)), border_glow(np.full((90, 160, 3), 200, np.uint8))
    s = GlowSmoother(rise=0.5)
    assert s.update(dark) is dark
    steps = [float(s.update(bright).top[0, 0]) for _ in range(4)]
    assert steps == [100.0, 150.0, 175.0, 187.5]  # no jump on a cut: it eases in


def test_cinema_mode_glows_around_the_frame_and_returns_to_the_panel(qtbot: QtBot, clips: dict[str, Path]) -> None:
    panel = ReviewPanel(rows=1, columns=1, prefer_gl=False)
    qtbot.addWidget(panel)
    panel.resize(480, 320)
    panel.show()
    panel.load([clips["a"]])
    cinema = CinemaMode(panel)
    try:
        qtbot.waitUntil(lambda: panel.controller.clock.frame_count == 90, timeout=5000)
        panel.controller.seek(25)
        qtbot.waitUntil(lambda: panel.grid.cells[0].shown_index == 25, timeout=3000)
        cinema.enter()
        window = cinema.window
        assert window is not None
        assert window.isFullScreen()
        qtbot.waitUntil(lambda: window.view.shown_index == 25 and window.glow is not None, timeout=5000)
        frame = window.view.state.frame
        assert frame is not None
        assert frame.rgb is not None
        assert read_stripe(frame.rgb) == 25  # cinema starts on the panel's exact frame
        glow = window.glow
        assert glow is not None
        image = window.grab().toImage()
        pic = window.picture_rect()
        # just left of the picture, mid-height: the left border's colour, glowing on black
        c = image.pixelColor(pic.left() - 3, pic.center().y())
        expected = glow.left[len(glow.left) // 2]
        assert abs(c.red() - expected[0]) < 40
        assert abs(c.green() - expected[1]) < 40
        assert abs(c.blue() - expected[2]) < 40
        corner = image.pixelColor(1, 1)
        assert (corner.red(), corner.green(), corner.blue()) == (0, 0, 0)  # fades to black at the edge
        QTest.keyClick(window, Qt.Key.Key_Right)
        qtbot.waitUntil(lambda: window.view.shown_index == 26, timeout=3000)
        assert max(cinema.glow_ms) < 20
        QTest.keyClick(window, Qt.Key.Key_Escape)
        assert not cinema.active
        qtbot.waitUntil(lambda: panel.grid.cells[0].shown_index == 26, timeout=3000)
    finally:
        if cinema.active:
            cinema.leave()
        panel.close_player()
