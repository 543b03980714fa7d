"""The region-of-interest zoom on the GL path (QOpenGLWidget, Y/U/V planes sampled in a shader).

Offscreen Qt has no OpenGL, so this runs gl_roi_probe.py in its own process under Xvfb + Mesa:
a window dragged on a GL cell is mirrored live and then shown in both cells, and each cell's
framebuffer matches an independent PyAV decode cropped to the region and scaled to the picture.
The GL path converts Y/U/V with bilinear chroma on the GPU, so the match is measured as PSNR
(exactness is checked on the QPainter path in test_roi.py); a crop off by 8 pixels scores far lower.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.review.xvfb_probe import run_probe

FRAME = 37


def test_gl_cells_show_the_dragged_region(clips: dict[str, Path]) -> None:
    found = run_probe("tests.ui.review.gl_roi_probe", str(clips["a"]), str(clips["b"]), str(FRAME))
    assert found["gpu"] == [True, True]  # both cells really drew with OpenGL
    assert found["shown"] is True
    assert found["live"] is True  # the other cell followed the window while it was dragged
    x, y, w, h = found["roi"]
    assert (x, y, w, h) == pytest.approx((0.25, 0.25, 0.5, 0.5), abs=0.01)
    for cell in found["cells"]:
        _, _, pw, ph = cell["picture"]
        x0, y0, x1, y1 = cell["crop"]
        assert abs(pw / ph - (x1 - x0) / (y1 - y0)) < 0.05  # the region's aspect, filling the cell
        assert cell["psnr"] > 32, cell  # measured 37-42 dB on Mesa llvmpipe
        assert cell["psnr_shifted_8px"] < cell["psnr"] - 10, cell
        assert cell["uploads"] == cell["uploads_before_zoom"]  # a texture window: no re-decode, no re-upload
