"""Run by test_gl_context.py under Xvfb (offscreen Qt has no OpenGL): GL cells whose context goes away.

1. A 2x2 GL grid plays clip A; "Open clips…" is clicked and the real file dialog answered with clip B:
   the new player replaces the grid, and the old GL cells die while the dialog's context is current.
2. The panel moves into another window (as a dock floated or docked again): its GL cells get a new context
   and must draw their frame again without a new decode.
Prints one JSON line of findings; a crash ends the process with a signal instead.

    QT_QPA_PLATFORM=xcb xvfb-run -a python -m tests.ui.review.gl_context_probe A.mp4 B.mp4
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QApplication, QMainWindow

from tests.ui.review.file_dialog import click_open_clips
from tests.ui.review.gl_roi_probe import wait
from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.panel import ReviewPanel


def picture_mean(view: FrameView) -> float:
    """The mean brightness of the cell's picture as its framebuffer holds it (the background is near black)."""
    canvas = view.canvas
    assert isinstance(canvas, QOpenGLWidget)
    image = canvas.grabFramebuffer().convertToFormat(QImage.Format.Format_Grayscale8)
    raw = np.frombuffer(bytes(image.constBits()), np.uint8).reshape(image.height(), image.bytesPerLine())
    pic = canvas.picture_rect()  # type: ignore[attr-defined]  # GLFrameCanvas defines it
    return float(raw[pic.top() : pic.bottom(), pic.left() : pic.right()].mean())


def shown(app: QApplication, panel: ReviewPanel, name: str) -> bool:
    def done() -> bool:
        cells = panel.controller.cells
        return [c.source.path.name for c in cells] == [name] and cells[0].view.shown_index == 0

    return wait(app, done)


def main(argv: list[str]) -> int:
    app = QApplication(argv[:1])
    a, b = Path(argv[1]), Path(argv[2])
    window = QMainWindow()
    panel = ReviewPanel(rows=2, columns=2, prefer_gl=True)
    window.setCentralWidget(panel)
    window.resize(900, 600)
    window.show()
    out: dict[str, Any] = {"platform": app.platformName()}
    try:
        panel.load([a])
        out["first"] = shown(app, panel, a.name)
        out["gpu"] = panel.grid.cells[0].uses_gpu
        out["dialog"] = click_open_clips(panel, b.parent, [b.name])
        out["second"] = shown(app, panel, b.name)
        wait(app, lambda: False, 0.3)  # the old cells' deferred deletes, then their Python wrappers
        gc.collect()
        view = panel.grid.cells[0]
        canvas = view.canvas
        wait(app, lambda: picture_mean(view) > 40, 3.0)
        uploads = int(getattr(canvas, "uploads", 0))
        out["mean_before_move"] = picture_mean(view)
        other = QMainWindow()
        other.resize(900, 600)
        other.setCentralWidget(panel)  # a new top-level window: the GL cells get a new context
        other.show()
        window.close()
        wait(app, lambda: int(getattr(canvas, "paints", 0)) > 0 and picture_mean(view) > 40, 5.0)
        out["mean_after_move"] = picture_mean(view)
        out["uploads_after_move"] = int(getattr(canvas, "uploads", 0)) - uploads
    finally:
        panel.close_player()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
