"""Review player fixtures: small real clips with frame-number stripes, and a no-threads-left check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.media_factory import make_video

CLIP_SIZE = (320, 180)


def review_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("x121-review-") and t.is_alive()]


@pytest.fixture(autouse=True)
def _no_decode_threads_left() -> Iterator[None]:
    """This test's review threads have ended by its teardown (a short grace for ones told to stop); threads
    an earlier test left are that test's failure, not this one's, so they do not cascade."""
    before = set(review_threads())
    yield
    deadline = time.monotonic() + 2.0
    while (left := [t for t in review_threads() if t not in before]) and time.monotonic() < deadline:
        left[0].join(0.05)
    assert left == [], f"a test left review threads running: {', '.join(t.name for t in left)}"


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three 90-frame 30 fps H.264 clips (GOP 30, no B-frames) and one file that is not video."""
    root = tmp_path_factory.mktemp("review-clips")
    out = {
        name: make_video(root / f"{name}.mp4", 90, rate=30, size=CLIP_SIZE, gop=30, bframes=0, photo_name=photo)
        for name, photo in (("a", "astronaut"), ("b", "chelsea"), ("c", "coffee"))
    }
    bad = root / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)
    out["broken"] = bad
    return out
