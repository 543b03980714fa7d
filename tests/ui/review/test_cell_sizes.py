"""A QPainter cell that is resized shows the frame decoded at its new size: pixel for pixel what an
independent PyAV decode of that frame resized to the cell gives (INTER_LINEAR when it magnifies or
shrinks less than 2x, INTER_AREA from 2x down, as the decode worker does), with the same decoder,
never the old frame stretched. Before the fix the source kept frames cached at the old size and
the cell drew them scaled (a layout switch reopened the decoder to work around it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from pytestqt.qtbot import QtBot

from tests.media_factory import decode_all
from tests.ui.review.conftest import CLIP_SIZE
from tests.ui.review.test_roi import screen_pixels
from x121_desktop.ui.review.frame_view import FrameView, PainterFrameCanvas
from x121_desktop.ui.review.player import PlayerController

FRAME = 41
LABEL_BAND = 24  # the label band covers the bottom 21 px of the cell


def resized(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The reference: a full decode resized straight to `size` (w, h)."""
    shrink = rgb.shape[1] >= 2 * size[0]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(rgb, size, interpolation=interpolation), dtype=np.uint8)


def painted_at_size(view: FrameView, frame: int) -> bool:
    decoded = view.state.frame
    size = view.rgb_size(CLIP_SIZE)
    return (
        view.shown_index == frame
        and decoded is not None
        and decoded.rgb is not None
        and (decoded.rgb.shape[1], decoded.rgb.shape[0]) == size
    )


def check_painted(view: FrameView, expected: np.ndarray) -> None:
    """What the cell paints is `expected`, drawn 1:1 and centred (rows above the label band)."""
    canvas = view.canvas
    assert isinstance(canvas, PainterFrameCanvas)
    assert canvas.shown is not None
    assert np.array_equal(canvas.shown, expected)
    picture = canvas.picture_rect()
    h, w = expected.shape[:2]
    assert (picture.width(), picture.height()) == (w, h)
    rows = min(h, canvas.height() - LABEL_BAND - picture.top())
    on_screen = screen_pixels(canvas)[picture.top() : picture.top() + rows, picture.left() : picture.left() + w]
    assert np.array_equal(on_screen, expected[:rows])


def test_a_resized_cell_paints_the_frame_decoded_at_its_new_size(qtbot: QtBot, clips: dict[str, Path]) -> None:
    reference = decode_all(clips["b"])[FRAME]
    view = FrameView("b", prefer_gl=False)
    qtbot.addWidget(view)
    view.resize(640, 400)
    view.show()
    qtbot.waitExposed(view)
    controller = PlayerController()
    controller.add_source(clips["b"], view)
    try:
        qtbot.waitUntil(lambda: controller.ready and controller.clock.frame_count > 1, timeout=5000)
        controller.seek(FRAME)
        qtbot.waitUntil(lambda: painted_at_size(view, FRAME), timeout=5000)
        big = view.rgb_size(CLIP_SIZE)
        assert big == (640, 360)  # magnified: INTER_LINEAR
        check_painted(view, resized(reference, big))
        source = controller.cells[0].source

        for box, expected_size in (((150, 120), (150, 84)), ((400, 300), (400, 224))):
            view.resize(*box)  # as a layout or a dock does it: nobody calls the player
            qtbot.waitUntil(lambda: painted_at_size(view, FRAME), timeout=5000)
            size = view.rgb_size(CLIP_SIZE)
            assert size == expected_size
            check_painted(view, resized(reference, size))
            assert controller.cells[0].source is source  # the same decoder: nothing reopened
            assert source.usable(FRAME, big) is None  # frames of another size are not handed out
            cached = source.usable(FRAME, size)
            assert cached is not None
            assert cached.rgb is not None
            assert np.array_equal(cached.rgb, resized(reference, size))
        assert controller.clock.frame() == FRAME
    finally:
        controller.close()
