"""Run by test_roi_gl.py under Xvfb (offscreen Qt has no OpenGL): the region-of-interest zoom on the
GL path. Drags a window on a GLFrameCanvas cell of a 1x2 grid, then reads each cell's framebuffer
and compares the picture with an independent PyAV decode of the frame, cropped to the region and
scaled (cv2, rgb24) to the picture's size on screen. Prints one JSON line of findings.

    QT_QPA_PLATFORM=xcb xvfb-run -a python -m tests.ui.review.gl_roi_probe A.mp4 B.mp4 FRAME
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.media_factory import decode_all, psnr
from x121_desktop.ui.review.compare import CompareController
from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.roi_math import Roi, crop_box

BAND = 24  # the label band along a cell's bottom edge


def wait(app: QApplication, done: Callable[[], bool], seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.005)
    return done()


def framebuffer(view: FrameView) -> np.ndarray:
    canvas = view.canvas
    assert isinstance(canvas, QOpenGLWidget)
    image = canvas.grabFramebuffer().convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(bytes(image.constBits()), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, : image.width() * 3].reshape(image.height(), image.width(), 3)


def compare_cell(view: FrameView, clip: Path, frame: int, roi: Roi) -> dict[str, Any]:
    pic = view.canvas.picture_rect()  # type: ignore[attr-defined]  # GLFrameCanvas defines it
    shot = framebuffer(view)[pic.top() : pic.top() + pic.height() - BAND, pic.left() : pic.left() + pic.width()]
    rgb = decode_all(clip)[frame]
    x0, y0, x1, y1 = crop_box(roi, rgb.shape[1], rgb.shape[0])

    def ref(dx: int) -> np.ndarray:
        crop = rgb[y0:y1, x0 + dx : x1 + dx]
        out = cv2.resize(crop, (pic.width(), pic.height()), interpolation=cv2.INTER_LINEAR)
        return np.asarray(out[: pic.height() - BAND], dtype=np.uint8)

    return {
        "picture": [pic.left(), pic.top(), pic.width(), pic.height()],
        "crop": [x0, y0, x1, y1],
        "psnr": psnr(shot, ref(0)),
        "psnr_shifted_8px": psnr(shot, ref(8)),
        "uploads": int(getattr(view.canvas, "uploads", 0)),
    }


def main(argv: list[str]) -> int:
    app = QApplication(argv[:1])
    clips, frame = [Path(argv[1]), Path(argv[2])], int(argv[3])
    panel = ReviewPanel(rows=1, columns=2, prefer_gl=True)
    panel.resize(1000, 460)
    panel.show()
    compare = CompareController(panel)
    compare.show(clips)
    out: dict[str, Any] = {"platform": app.platformName()}
    try:
        cells = panel.grid.cells
        wait(app, lambda: panel.controller.ready and panel.controller.clock.frame_count > frame)
        panel.controller.seek(frame)
        shown = wait(app, lambda: all(v.shown_index == frame for v in cells))
        out["gpu"] = [v.uses_gpu for v in cells]
        out["shown"] = shown
        uploads = [int(getattr(v.canvas, "uploads", 0)) for v in cells]
        source = cells[1]
        pic = source.picture_rect()
        a = QPoint(pic.left() + pic.width() // 4, pic.top() + pic.height() // 4)
        b = QPoint(pic.left() + pic.width() * 3 // 4, pic.top() + pic.height() * 3 // 4)
        QTest.mousePress(source.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
        QTest.mouseMove(source.canvas, b)
        preview = compare.roi.preview
        out["live"] = preview is not None and cells[0].state.roi == preview and source.state.band == preview
        QTest.mouseRelease(source.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
        roi = compare.roi.roi
        out["roi"] = None if roi is None else [roi.x, roi.y, roi.w, roi.h]
        if roi is not None:
            paints = [int(getattr(v.canvas, "paints", 0)) for v in cells]
            wait(app, lambda: all(int(getattr(v.canvas, "paints", 0)) > n for v, n in zip(cells, paints, strict=True)))
            out["cells"] = [compare_cell(v, c, frame, roi) for v, c in zip(cells, clips, strict=True)]
            for cell, before in zip(out["cells"], uploads, strict=True):
                cell["uploads_before_zoom"] = before
    finally:
        panel.close_player()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
