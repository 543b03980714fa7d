"""Cinema mode with Ambilight: border colours per zone (rgb and Y'CbCr agree), smoothing over time,
the full-screen player starting at the panel's frame with the glow painted around the picture."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.media_factory import photo_frames, read_stripe
from tests.ui.review.glow_reference import render_glow
from x121_desktop.core.media.yuv import yuv_from_av
from x121_desktop.core.review.ambilight import DEPTH, STEP, ZONES, Glow, GlowSmoother, border_glow, border_glow_yuv
from x121_desktop.ui.review.cinema import CinemaMode, GlowSurround
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


def _plain_zone_means(strip: np.ndarray, zones: int, along_rows: bool) -> np.ndarray:
    """Zone means the slow, obvious way (float64, one zone at a time)."""
    length = strip.shape[0] if along_rows else strip.shape[1]
    run = length // zones
    out = []
    for z in range(zones):
        part = strip[z * run : (z + 1) * run] if along_rows else strip[:, z * run : (z + 1) * run]
        out.append(part.reshape(-1, 3).astype(np.float64).mean(0))
    return np.array(out)


def test_border_zones_equal_plain_means_of_the_sampled_strips() -> None:
    rng = np.random.default_rng(9)
    for h, w in ((1080, 1920), (357, 641), (90, 160)):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        glow = border_glow(rgb)
        dy, dx = max(1, round(h * DEPTH)), max(1, round(w * DEPTH))
        strips = (
            rgb[:dy:STEP, ::STEP],
            rgb[h - dy :: STEP, ::STEP],
            rgb[::STEP, :dx:STEP],
            rgb[::STEP, w - dx :: STEP],
        )
        for got, strip, zones, along_rows in zip(
            glow.sides(), strips, (ZONES[0], ZONES[0], ZONES[1], ZONES[1]), (False, False, True, True), strict=True
        ):
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, _plain_zone_means(strip, zones, along_rows), atol=1e-3)


def _rgb_of(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    words = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return words[:, : image.width(), 2::-1].astype(int)


def _margins(shape: tuple[int, ...], picture: QRect, div: int) -> np.ndarray:
    mask = np.ones(shape[:2], bool)
    mask[picture.top() // div : (picture.bottom() + 1) // div, picture.left() // div : (picture.right() + 1) // div] = (
        False
    )
    return mask


def test_surround_matches_what_qpainter_gradients_draw() -> None:
    glow = border_glow(photo_frames(1, (640, 360), "coffee")[0])
    surround = GlowSurround(div=4)
    # picture edges on the 1/4 grid: the reference's geometry is the same, so every margin pixel agrees
    size, picture = QSize(1000, 600), QRect(100, 60, 800, 480)
    ref = _rgb_of(render_glow(QRect(QPoint(0, 0), size), picture, glow, 4))
    got = _rgb_of(surround.render(size, picture, glow))[: ref.shape[0], : ref.shape[1]]
    margins = _margins(ref.shape, picture, 4)
    assert ref[margins].max() > 100, "the reference glows"
    assert np.abs(got - ref)[margins].max() <= 2
    # edges between grid lines (2340x1316 around 1080p): the reference rounds the picture to the grid
    size, picture = QSize(2340, 1316), QRect(210, 118, 1920, 1080)
    ref = _rgb_of(render_glow(QRect(QPoint(0, 0), size), picture, glow, 4))
    got = _rgb_of(surround.render(size, picture, glow))[: ref.shape[0], : ref.shape[1]]
    diff = np.abs(got - ref)[_margins(ref.shape, picture, 4)]
    assert diff.mean() < 1.5
    assert np.percentile(diff, 99) <= 4


def test_surround_reuses_its_buffer_until_the_geometry_changes() -> None:
    glows = [border_glow(f) for f in photo_frames(3, (320, 180), "rocket")]
    surround = GlowSurround(div=4)
    size, picture = QSize(800, 450), QRect(72, 40, 656, 370)
    first = surround.render(size, picture, glows[0])
    before = _rgb_of(first)
    second = surround.render(size, picture, glows[2])
    assert second is first  # the same image over the same pixels, repainted in place
    assert np.abs(_rgb_of(second) - before).max() > 10  # with the new glow
    other = surround.render(QSize(1000, 450), QRect(172, 40, 656, 370), glows[2])
    assert (other.width(), other.height()) == (250, 113)
    flat = Glow(*(np.full((n, 3), 200, np.float32) for n in (ZONES[0], ZONES[0], ZONES[1], ZONES[1])))
    rgb = _rgb_of(surround.render(size, picture, flat))
    left_of_picture = rgb[picture.center().y() // 4, picture.left() // 4 - 1]
    assert np.abs(left_of_picture - 200 * 235 / 255).max() <= 6  # full glow next to the picture
    assert rgb[0, 0].tolist() == [0, 0, 0]  # black at the screen's corner


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
