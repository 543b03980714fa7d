"""A jump stops the decode worker's prefetch in flight (no Qt, real clip)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.media_factory import make_video, read_stripe
from x121_desktop.services.review_media import FrameSource, SourceWant


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 frames, one keyframe: reaching frame 280 means decoding 281 frames."""
    return make_video(tmp_path_factory.mktemp("jump") / "long.mp4", 300, rate=30, size=(640, 360), gop=300, bframes=0)


def test_a_jump_to_a_frame_not_decoded_cancels_the_decode_in_flight(long_gop: Path) -> None:
    states: list[set[int]] = []
    lock = threading.Lock()
    source: FrameSource | None = None

    def changed() -> None:
        if source is not None and source.info is not None:
            with lock:
                states.append(set(source.cached()))

    source = FrameSource(long_gop, budget_bytes=640 * 360 * 3 * 4, on_change=changed).start()
    try:
        deadline = time.monotonic() + 10
        while source.info is None:
            assert time.monotonic() < deadline, "the source did not open"
            time.sleep(0.005)
        source.want(SourceWant(280, 0, rgb_size=(640, 360)))  # a run of 281 frames from the keyframe
        time.sleep(0.03)  # the worker is inside that run (it takes far longer than this)
        assert 280 not in source.cached()
        source.want(SourceWant(5, 0, rgb_size=(640, 360)))  # the reviewer jumps elsewhere
        while not source.has(5):
            assert time.monotonic() < deadline, "frame 5 never came"
            time.sleep(0.002)
        frame = source.get(5)
        assert frame is not None
        assert frame.rgb is not None
        assert frame.index == 5
        with lock:
            first_with_5 = next(i for i, s in enumerate(states) if 5 in s)
            # the run towards 280 was abandoned: 280 was never finished on the way to 5
            assert all(280 not in s for s in states[: first_with_5 + 1])
    finally:
        source.close()
    assert read_stripe(frame.rgb) == 5  # the picture is frame 5
