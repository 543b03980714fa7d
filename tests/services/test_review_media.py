"""Decode workers and review proxies on real clips (no Qt)."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media_factory import decode_all, make_video, read_stripe
from x121_desktop.core.media import FrameReader, probe
from x121_desktop.core.review.clock import PlayOrder
from x121_desktop.services.review_media import FrameSource, SourceWant, make_review_proxy


def wait_for(predicate: object, timeout: float = 5.0) -> None:
    assert callable(predicate)
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.005)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("rm") / "clip.mp4", 60, rate=30, size=(160, 96), gop=12, bframes=2)


def test_source_fills_a_bounded_window_around_the_playhead(clip: Path) -> None:
    changes = threading.Event()
    # 160x96 rgb24 is 46 KB a frame: a 0.5 MB budget holds 11 frames.
    source = FrameSource(clip, budget_bytes=160 * 96 * 3 * 11, on_change=changes.set).start()
    try:
        wait_for(lambda: source.info is not None)
        source.want(SourceWant(30, 1, PlayOrder(0, 60, True, 60), rgb_size=(160, 96)))
        # (not "11 frames cached": under load the first plan, Y/U/V around frame 0, may reach 11 first)
        wait_for(lambda: source.idle and source.cached() == [*range(26, 37)])  # the playhead, 6 ahead, 4 behind
        assert len(source.cached()) == 11  # and no more: the worker is idle with the window full
        frame = source.get(30)
        assert frame is not None
        assert frame.rgb is not None
        assert read_stripe(frame.rgb) == 30
        source.want(SourceWant(57, -1, PlayOrder(0, 60, True, 60), rgb_size=None))  # planes now
        wait_for(lambda: source.has(50) and source.get(57) is not None and source.get(57).yuv is not None)  # type: ignore[union-attr]
        assert max(source.cached()) <= 59
        assert changes.is_set()
    finally:
        source.close()
    assert not source.alive


def test_a_new_size_gets_frames_decoded_at_that_size_never_the_cached_ones(clip: Path) -> None:
    """rgb24 frames are handed out only at the size asked for: after a new size the source drops the
    frames of the old one and decodes again (the same as a decode resized straight to the new size)."""
    reference = decode_all(clip)[20]
    order = PlayOrder(0, 60, False, 60)
    source = FrameSource(clip, budget_bytes=160 * 96 * 3 * 11).start()
    try:
        wait_for(lambda: source.info is not None)
        for size, interpolation in (((80, 48), cv2.INTER_AREA), ((120, 72), cv2.INTER_LINEAR)):
            source.want(SourceWant(20, 0, order, rgb_size=size))
            wait_for(lambda size=size: source.usable(20, size) is not None and source.idle)
            frame = source.usable(20, size)
            assert frame is not None
            assert frame.rgb is not None
            expected = cv2.resize(reference, size, interpolation=interpolation)
            assert np.array_equal(frame.rgb, expected)
            assert all(
                (f := source.get(i)) is not None and f.rgb is not None and f.rgb.shape == (size[1], size[0], 3)
                for i in source.cached()
            )  # nothing of the other size is kept
        assert source.usable(20, (80, 48)) is None
        assert source.usable(20, None) is None  # no Y/U/V planes were asked for
    finally:
        source.close()


def test_a_file_that_cannot_be_decoded_reports_a_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    source = FrameSource(bad).start()
    wait_for(lambda: not source.alive)
    assert source.error is not None
    assert "bad.mp4" in str(source.error)
    source.close()


def test_review_proxy_has_a_one_second_gop_and_the_same_frames(clip: Path, tmp_path: Path) -> None:
    result = make_review_proxy(clip, tmp_path / "proxy.mp4")
    info = probe(result.path)
    assert info.rate == Fraction(30)
    assert (info.frame_count, info.gop, info.b_frames) == (60, 30, False)
    with FrameReader(result.path) as reader:
        assert [read_stripe(reader.frame(i)) for i in (0, 29, 30, 59)] == [0, 29, 30, 59]
