"""Assembly: master frame count = sum of cuts, frames match the sources, copy when possible."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.core.media.conftest import MakeClip
from tests.media_factory import decode_all, psnr, read_stripe
from x121_desktop.core.errors import MediaError
from x121_desktop.core.media import FrameReader, SegmentCut, assemble, probe


def _expected(cuts: list[SegmentCut]) -> list[np.ndarray]:
    frames: list[np.ndarray] = []
    for c in cuts:
        src = decode_all(c.path)
        frames += src[c.start : c.start + (c.length if c.length is not None else len(src) - c.start)]
    return frames


def _continuous(path: Path) -> None:
    info = probe(path)
    assert not info.is_vfr, "timestamps must advance one frame at a time across the joins"
    assert not info.truncated


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_keyframe_aligned_cuts_are_stream_copied(clip: MakeClip, tmp_path: Path, suffix: str) -> None:
    a = clip(f"seg-a{suffix}", 48, gop=12, bframes=2, photo_name="astronaut")
    b = clip(f"seg-b{suffix}", 36, gop=12, bframes=2, photo_name="chelsea")
    cuts = [SegmentCut(a), SegmentCut(b, start=12, length=12), SegmentCut(a, start=24, length=24)]
    comment = json.dumps({"project": 7, "segments": [1, 2, 3]})
    report = assemble(cuts, tmp_path / f"master{suffix}", metadata={"title": "Master", "comment": comment})
    assert report.method == "copy"
    assert all(s.method == "copy" for s in report.segments)
    assert report.frame_count == 48 + 12 + 24
    assert [s.master_start for s in report.segments] == [0, 48, 60]
    info = probe(report.path)
    assert info.frame_count == report.frame_count
    assert info.rate == 24
    assert info.metadata["title"] == "Master"
    assert json.loads(info.metadata["comment"]) == {"project": 7, "segments": [1, 2, 3]}
    _continuous(report.path)
    master = decode_all(report.path)
    expected = _expected(cuts)
    assert len(master) == len(expected)
    for i, (got, want) in enumerate(zip(master, expected, strict=True)):
        np.testing.assert_array_equal(got, want, err_msg=f"master frame {i}")
    with FrameReader(report.path) as reader:  # and random access into the master is exact too
        for i in (59, 48, 47, 0, 83, 60):
            np.testing.assert_array_equal(reader.frame(i), expected[i])


def test_cuts_off_keyframes_are_re_encoded(clip: MakeClip, tmp_path: Path) -> None:
    a = clip("re-a.mp4", 48, gop=12, bframes=2, photo_name="astronaut")
    b = clip("re-b.mp4", 36, gop=12, bframes=2, photo_name="chelsea")
    cuts = [SegmentCut(a, start=5, length=20), SegmentCut(b, start=0, length=31)]
    report = assemble(cuts, tmp_path / "master.mp4", metadata={"title": "Re"})
    assert report.method == "reencode"
    assert "5…24 of re-a.mp4 does not start and end on a keyframe" in report.reason
    assert report.frame_count == 51
    info = probe(report.path)
    assert info.frame_count == 51
    assert info.metadata["title"] == "Re"
    _continuous(report.path)
    master = decode_all(report.path)
    expected = _expected(cuts)
    assert [read_stripe(f) for f in master] == [*range(5, 25), *range(31)]
    assert min(psnr(g, w) for g, w in zip(master, expected, strict=True)) > 30.0


def test_different_codec_settings_force_a_re_encode(clip: MakeClip, tmp_path: Path) -> None:
    a = clip("x264.mp4", 24, gop=12)
    b = clip("mpeg4.mp4", 24, gop=12, codec="mpeg4")
    report = assemble([SegmentCut(a), SegmentCut(b)], tmp_path / "m.mp4")
    assert report.method == "reencode"
    assert "mpeg4" in report.reason
    assert probe(report.path).frame_count == 48


def test_forced_re_encode_and_audio_is_reported_dropped(clip: MakeClip, tmp_path: Path) -> None:
    a = clip("aud.mp4", 24, gop=12, audio=True)
    report = assemble([SegmentCut(a)], tmp_path / "m.mkv", force_reencode=True)
    assert (report.method, report.reason, report.audio_dropped) == ("reencode", "forced by the caller", True)
    info = probe(report.path)
    assert not info.has_audio
    assert info.frame_count == 24


def test_mismatched_or_out_of_range_segments_are_clear_errors(clip: MakeClip, tmp_path: Path) -> None:
    a = clip("r24.mp4", 24, gop=12)
    b = clip("r30.mp4", 24, gop=12, rate=Fraction(30))
    c = clip("big.mp4", 24, gop=12, size=(160, 96))
    with pytest.raises(MediaError, match=r"r30.mp4 runs at 30 fps but .*r24.mp4 at 24 fps"):
        assemble([SegmentCut(a), SegmentCut(b)], tmp_path / "m.mp4")
    with pytest.raises(MediaError, match=r"big.mp4 is 160x96 but .* is 128x96"):
        assemble([SegmentCut(a), SegmentCut(c)], tmp_path / "m.mp4")
    with pytest.raises(MediaError, match=r"has frames 0…23, so frames 20…29 cannot be kept"):
        assemble([SegmentCut(a, start=20, length=10)], tmp_path / "m.mp4")
    with pytest.raises(MediaError, match="No segments"):
        assemble([], tmp_path / "m.mp4")
    assert list(tmp_path.iterdir()) == []
