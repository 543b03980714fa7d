"""Jumps skip non-reference pictures in front of their target: every frame must still be exact.

Each target below is reached by a jump that starts a fresh run at its keyframe (so the skipping
path is the one that delivers it) and is compared with an independent full sequential decode.
The matrix covers B-pyramids (x264 normal and strict, x265), open GOPs (x264 open-gop, x265
CRA with leading pictures, MPEG-2 in MPEG-TS), MPEG-4 part 2 B-frames, and VP9 (never skipped).
"""

from __future__ import annotations

from typing import Any

import av
import numpy as np
import pytest

from tests.core.media.conftest import MakeClip
from tests.media_factory import decode_all, read_stripe
from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.errors import Cancelled
from x121_desktop.core.media import FrameReader

N = 48
X265_QUIET = "log-level=error"
# id: (file name, make_video kwargs, skipping expected)
CASES: dict[str, tuple[str, dict[str, Any], bool]] = {
    "x264-pyramid-gop24": (
        "pyr.mp4",
        {"codec": "libx264", "gop": 24, "bframes": 3, "options": {"x264-params": "b-pyramid=normal:b-adapt=0"}},
        True,
    ),
    "x264-strict-pyramid-gop12": (
        "strict.mp4",
        {"codec": "libx264", "gop": 12, "bframes": 3, "options": {"x264-params": "b-pyramid=strict:b-adapt=0"}},
        True,
    ),
    "x264-open-gop12-mkv": (
        "open.mkv",
        {
            "codec": "libx264",
            "gop": 12,
            "bframes": 3,
            "options": {"x264-params": "b-pyramid=normal:open-gop=1:b-adapt=0"},
        },
        True,
    ),
    "x265-pyramid-gop24": (
        "hevc.mp4",
        {"codec": "libx265", "gop": 24, "bframes": 4, "options": {"x265-params": X265_QUIET}},
        True,
    ),
    "x265-open-gop12-mkv": (
        "hevc-open.mkv",
        {
            "codec": "libx265",
            "gop": 12,
            "bframes": 4,
            "options": {"x265-params": f"{X265_QUIET}:open-gop=1:keyint=12:min-keyint=12"},
        },
        True,
    ),
    "mpeg4-gop12": ("mpeg4.mp4", {"codec": "mpeg4", "gop": 12, "bframes": 2}, True),
    "mpeg2-open-gop12-ts": ("mpeg2.ts", {"codec": "mpeg2video", "gop": 12, "bframes": 2}, True),
    "vp9-gop24": ("vp9.webm", {"codec": "libvpx-vp9", "gop": 24}, False),
}


def _far(i: int, n: int) -> int:
    """A frame in another GOP than `i`, more than one frame away, never the one used for i - 1
    (so it is not in the reader's 2-frame cache and its run moves the decoder off i's GOP)."""
    return (n - 1 - 2 * (i % 2)) if i < n // 2 else 2 * (i % 2)


@pytest.mark.parametrize("case", list(CASES))
def test_every_frame_reached_by_a_skipping_jump_is_exact(clip: MakeClip, case: str) -> None:
    name, kwargs, skips = CASES[case]
    if kwargs["codec"] not in av.codecs_available:
        pytest.fail(f"this PyAV wheel lacks {kwargs['codec']}; pick another codec for the skip matrix")
    path = clip(f"skip-{name}", N, size=(128, 96), **kwargs)
    reference = decode_all(path)
    assert [read_stripe(f) for f in reference] == list(range(N)), "the reference decode is itself in order"

    with FrameReader(path, cache_bytes=0) as reader:  # a 2-frame cache: every target is decoded
        for i in range(N):
            reader.frame(_far(i, N))
            seeks, runs = reader.stats.seeks, reader.stats.skipping_runs
            got = reader.frame(i)
            np.testing.assert_array_equal(got, reference[i], err_msg=f"frame {i} of {case} after a jump")
            assert reader.stats.seeks > seeks, "the jump started a fresh run at its keyframe"
            assert reader.stats.skipping_runs == runs + (1 if skips else 0)
        skipping_decoded = reader.stats.decoded
        forward_jumps = list(range(0, N, 3)) + list(range(1, N, 5))  # runs continued with skipping
        for i in forward_jumps:
            np.testing.assert_array_equal(reader.frame(i), reference[i], err_msg=f"frame {i} of {case}")

    with FrameReader(path, cache_bytes=0, skip_nonref=False) as full:
        for i in range(N):
            full.frame(_far(i, N))
            np.testing.assert_array_equal(full.frame(i), reference[i])
        assert full.stats.skipping_runs == 0
        full_decoded = full.stats.decoded
    if skips:  # the same requests decoded fewer pictures
        assert skipping_decoded < full_decoded
    else:
        assert skipping_decoded == full_decoded


def test_a_jump_to_the_end_of_a_pyramid_gop_decodes_only_references(clip: MakeClip) -> None:
    name, kwargs, _ = CASES["x264-pyramid-gop24"]
    path = clip(f"skip-{name}", N, size=(128, 96), **kwargs)
    reference = decode_all(path)
    with av.open(str(path)) as c:
        types = [f.pict_type for f in c.decode(video=0)][:24]
    b_frames = sum(1 for t in types if t == av.video.frame.PictureType.B)
    assert b_frames >= 12, "the clip has the B-pyramid this test is about"
    with FrameReader(path) as reader:
        np.testing.assert_array_equal(reader.frame(23), reference[23])
        # I and P frames and the pyramid's middle B-frames; not the B-frames nothing refers to
        assert reader.stats.decoded <= 24 - b_frames // 2


def test_mpeg_ts_seeks_by_decode_time(clip: MakeClip) -> None:
    """MPEG-TS seeks by dts: asked for a keyframe's pts it lands one GOP late (frame 0 was lost)."""
    name, kwargs, _ = CASES["mpeg2-open-gop12-ts"]
    path = clip(f"skip-{name}", N, size=(128, 96), **kwargs)
    reference = decode_all(path)
    with FrameReader(path) as reader:
        np.testing.assert_array_equal(reader.frame(0), reference[0])
        assert reader.stats.seeks == 2  # by pts (landed late), then by the keyframe's dts
        for i in (47, 13, 30):
            np.testing.assert_array_equal(reader.frame(i), reference[i])
        assert reader.stats.seeks == 5  # one seek per jump from then on


def test_requests_next_to_the_span_since_the_last_jump_are_steps(clip: MakeClip) -> None:
    name, kwargs, _ = CASES["x264-pyramid-gop24"]
    path = clip(f"skip-{name}", N, size=(128, 96), **kwargs)
    with FrameReader(path) as reader:
        reader.frame(30)  # a jump
        assert reader.stats.skipping_runs == 1
        for i in range(31, 41):  # a player's prefetch ahead of its playhead: steps
            assert read_stripe(reader.frame(i)) == i
        assert read_stripe(reader.frame(29)) == 29  # behind the playhead, next to the span: a step
        assert reader.stats.skipping_runs == 1
        assert read_stripe(reader.frame(10)) == 10  # far from the span: a jump
        assert reader.stats.skipping_runs == 2


def test_a_cancelled_request_stops_within_a_frame_and_leaves_its_run_open(clip: MakeClip) -> None:
    name, kwargs, _ = CASES["x264-pyramid-gop24"]
    path = clip(f"skip-{name}", N, size=(128, 96), **kwargs)
    reference = decode_all(path)
    stale = CancelToken()
    stale.cancel()
    with FrameReader(path, skip_nonref=False) as reader:
        with pytest.raises(Cancelled):
            reader.av_frame(47, cancel=stale)
        assert reader.stats.decoded == 1  # the keyframe, then the token was seen
        seeks = reader.stats.seeks
        np.testing.assert_array_equal(reader.frame(47), reference[47])
        assert reader.stats.seeks == seeks  # continued the open run
        assert reader.stats.decoded == 47 - 24 + 1  # nothing decoded twice
        np.testing.assert_array_equal(reader.frame(5), reference[5])  # a cancelled reader stays usable
