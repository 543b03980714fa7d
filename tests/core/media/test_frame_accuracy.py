"""Frame-accurate random access, checked against an independent sequential decode of every frame."""

from __future__ import annotations

import random

import av
import cv2
import numpy as np
import pytest

from tests.core.media.conftest import MakeClip
from tests.media_factory import decode_all, read_stripe
from x121_desktop.core.media import FrameReader

N = 48
# (codec, container suffix, max B-frames): B-frames make decode order differ from display order.
CODECS = [
    ("libx264", ".mp4", 2),  # time base 1/12288: exact ticks per frame
    ("libx264", ".mkv", 2),  # time base 1/1000: pts rounded to the millisecond
    ("mpeg4", ".mp4", 2),
    ("libvpx-vp9", ".webm", None),
]
# Every codec at GOP 1 (all intra) and 24 (1 s); libx264 also at 250 (one keyframe per clip).
MATRIX = [(case, gop) for case in CODECS for gop in (1, 24)] + [(CODECS[0], 250), (CODECS[1], 250)]


@pytest.mark.parametrize(("case", "gop"), MATRIX, ids=[f"{c[0]}{c[1]}-gop{g}" for c, g in MATRIX])
def test_random_access_matches_sequential_decode(clip: MakeClip, case: tuple[str, str, int | None], gop: int) -> None:
    codec, suffix, bframes = case
    if codec not in av.codecs_available:
        pytest.fail(f"this PyAV wheel lacks {codec}; pick another codec for the acceptance matrix")
    path = clip(f"acc-{codec}-{gop}{suffix}", N, codec=codec, gop=gop, bframes=bframes, size=(128, 96))
    reference = decode_all(path)
    assert len(reference) == N
    assert [read_stripe(f) for f in reference] == list(range(N)), "the reference decode is itself in order"

    rng = random.Random(f"{codec}{suffix}{gop}")
    order = [0, N - 1, N - 2, 1, 0, N - 1]  # ends, and jumps between them
    order += rng.sample(range(N), N)  # every frame once, shuffled
    order += list(range(30, 19, -1))  # backward single steps across a GOP boundary
    order += [rng.randrange(N) for _ in range(20)]
    with FrameReader(path) as reader:
        assert reader.frame_count == N
        assert reader.info.gop == min(gop, N)
        for i in order:
            got = reader.frame(i)
            assert got.dtype == np.uint8
            assert got.shape == (96, 128, 3)
            np.testing.assert_array_equal(got, reference[i], err_msg=f"frame {i} of {path.name}")
        assert reader.frame(-1).tobytes() == reference[-1].tobytes()
        sequential = list(reader.frames())
    assert len(sequential) == N
    for i, (got, want) in enumerate(zip(sequential, reference, strict=True)):
        np.testing.assert_array_equal(got, want, err_msg=f"sequential frame {i} of {path.name}")


def test_backward_steps_come_from_the_gop_cache(clip: MakeClip) -> None:
    path = clip("cache.mp4", N, gop=24, bframes=2)
    with FrameReader(path, skip_nonref=False) as reader:
        reader.frame(40)
        decoded, seeks = reader.stats.decoded, reader.stats.seeks
        assert decoded == 40 - 24 + 1  # keyframe 24 … 40, each decoded once
        for i in range(39, 23, -1):  # back to the keyframe: no decode, no seek
            assert read_stripe(reader.frame(i)) == i
        assert (reader.stats.decoded, reader.stats.seeks) == (decoded, seeks)
        assert reader.stats.cache_hits == 16
        reader.frame(41)  # just ahead in the same GOP: continues decoding without a seek
        assert reader.stats.seeks == seeks


def test_a_jump_skips_non_reference_frames_and_stepping_back_re_decodes_the_gop_once(clip: MakeClip) -> None:
    path = clip("cache.mp4", N, gop=24, bframes=2)
    with FrameReader(path) as reader:
        reader.frame(40)  # a jump: the B-frames in front of 40 that nothing refers to are not decoded
        assert reader.stats.skipping_runs == 1
        jump_decoded, seeks = reader.stats.decoded, reader.stats.seeks
        assert jump_decoded < 40 - 24 + 1
        for i in range(39, 23, -1):  # steps back to the keyframe
            assert read_stripe(reader.frame(i)) == i
        # the first step onto a skipped frame re-decodes the GOP once, in full; the rest are cached
        assert reader.stats.seeks == seeks + 1
        assert reader.stats.skipping_runs == 1
        assert reader.stats.decoded - jump_decoded <= 39 - 24 + 1
        seeks = reader.stats.seeks
        reader.frame(41)  # ahead in the same GOP: continues the run without a seek
        assert reader.stats.seeks == seeks


def test_sub_ranges_and_index_errors(clip: MakeClip) -> None:
    path = clip("range.mp4", N, gop=12, bframes=2)
    with FrameReader(path) as reader:
        assert [read_stripe(f) for f in reader.frames(13, 20)] == list(range(13, 20))
        assert [read_stripe(f) for f in reader.frames(45, 999)] == [45, 46, 47]
        assert list(reader.frames(10, 10)) == []
        with pytest.raises(IndexError, match="outside"):
            reader.frame(N)


def test_downscaled_frames_for_seam_scans(clip: MakeClip) -> None:
    path = clip("scaled.mp4", 24, gop=12, size=(256, 192))
    reference = decode_all(path)
    with FrameReader(path, size=(64, 48)) as reader:
        for i in (0, 11, 23, 5):
            small = reader.frame(i)
            assert small.shape == (48, 64, 3)
            expected = cv2.resize(reference[i], (64, 48), interpolation=cv2.INTER_AREA)
            assert np.abs(small.astype(int) - expected).mean() < 3.0


def test_hardware_decode_is_tried_and_falls_back_to_software(clip: MakeClip) -> None:
    path = clip("hw.mp4", 24, gop=12)
    reference = decode_all(path)
    with FrameReader(path, hwaccel=True) as reader:
        assert reader.decode_path in ("cuda", "software")
        if "cuda" not in av.codec.hwaccel.hwdevices_available():
            assert reader.decode_path == "software"
        for i in (23, 0, 12):
            assert read_stripe(reader.frame(i)) == i
            if reader.decode_path == "software":
                np.testing.assert_array_equal(reader.frame(i), reference[i])
    with FrameReader(path, hwaccel=False) as reader:
        assert reader.decode_path == "software"
