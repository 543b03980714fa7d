"""Bad input: a clear MediaError naming the file and the fix, or a documented degraded result."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.core.media.conftest import MakeClip
from tests.media_factory import (
    decode_all,
    make_audio_only,
    make_video,
    photo_frames,
    psnr,
    read_stripe,
    truncate,
)
from x121_desktop.core.errors import MediaError, NotFound
from x121_desktop.core.media import DELIVERY, LOSSLESS, PROXY, FrameReader, probe, write_video

N = 48


def test_zero_length_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty.mp4 is empty \(0 bytes\)\. Re-export"):
        probe(empty)
    with pytest.raises(MediaError, match="is empty"):
        FrameReader(empty)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        probe(tmp_path / "nope.mp4")


def test_not_a_media_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("these are notes, not a video\n" * 50)
    with pytest.raises(MediaError, match=r"notes.mp4 cannot be read as video .*Re-export or re-download"):
        probe(text)


@pytest.mark.parametrize("suffix", [".m4a", ".wav"])
def test_audio_only_file(tmp_path: Path, suffix: str) -> None:
    audio = make_audio_only(tmp_path / f"voice{suffix}")
    with pytest.raises(MediaError, match=rf"voice{suffix} has no video stream\. Give a video file"):
        probe(audio)
    with pytest.raises(MediaError, match="has no video stream"):
        FrameReader(audio)


def test_truncated_mp4_without_its_index_is_an_error(clip: MakeClip, tmp_path: Path) -> None:
    # PyAV writes the mp4 index (moov) at the end: a cut file has no index at all.
    src = clip("whole.mp4", N, gop=12, bframes=2)
    cut = truncate(src, tmp_path / "cut.mp4", keep=0.6)
    with pytest.raises(MediaError, match=r"cut.mp4 cannot be read as video .*truncated"):
        probe(cut)


@pytest.mark.parametrize("name", ["whole.mkv", "faststart.mp4"])
@pytest.mark.parametrize("keep", [0.35, 0.8, 0.97, 0.99, 0.995])
def test_truncated_file_gives_its_complete_prefix(tmp_path: Path, clip: MakeClip, name: str, keep: float) -> None:
    """Documented degraded result: truncated=True, frame_count = the whole, gap-free prefix."""
    if name.endswith(".mp4"):  # index at the front, as our writer makes them
        src = tmp_path / "src.mp4"
        write_video(src, photo_frames(N), 24, PROXY)
    else:
        src = clip(name, N, gop=12, bframes=2)
    original = decode_all(src)
    cut = truncate(src, tmp_path / f"cut-{name}", keep)
    info = probe(cut)
    assert info.truncated
    assert 0 < info.frame_count < N
    with FrameReader(cut) as reader:
        frames = list(reader.frames())
        assert len(frames) == info.frame_count
        for i, frame in enumerate(frames):
            np.testing.assert_array_equal(frame, original[i])
        np.testing.assert_array_equal(reader.frame(info.frame_count - 1), original[info.frame_count - 1])
        np.testing.assert_array_equal(reader.frame(0), original[0])


def test_variable_frame_rate_is_flagged_and_indexed_in_presentation_order(tmp_path: Path) -> None:
    # 30 frames at 25 fps, but every 10th frame is held for 200 ms more.
    pts = [i * 40 + (i // 10) * 200 for i in range(30)]
    vfr = make_video(tmp_path / "vfr.mkv", 30, pts=pts, time_base=Fraction(1, 1000), rate=Fraction(25))
    info = probe(vfr)
    assert info.is_vfr
    assert info.frame_count == 30
    assert info.rate == Fraction(29, 1) / Fraction(pts[-1], 1000)  # the average rate
    with FrameReader(vfr) as reader:
        assert reader.info.is_vfr
        for i in (29, 0, 10, 9, 20, 15):
            assert read_stripe(reader.frame(i)) == i


def test_constant_rate_is_not_flagged(clip: MakeClip) -> None:
    assert not probe(clip("cfr.mkv", 30)).is_vfr


def test_odd_size_read_exactly(clip: MakeClip) -> None:
    path = clip("odd.mkv", 12, codec="ffv1", size=(513, 301))
    info = probe(path)
    assert (info.width, info.height) == (513, 301)
    reference = decode_all(path)
    with FrameReader(path) as reader:
        for i in (11, 0, 6):
            np.testing.assert_array_equal(reader.frame(i), reference[i])


def test_odd_size_lossless_write_keeps_the_size(tmp_path: Path) -> None:
    frames = photo_frames(6, size=(513, 301))
    result = write_video(tmp_path / "odd.mkv", frames, 24, LOSSLESS)
    assert (result.width, result.height, result.padded) == (513, 301, False)
    with FrameReader(result.path) as reader:
        for i in range(6):
            np.testing.assert_array_equal(reader.frame(i), frames[i])


def test_odd_size_yuv420_write_pads_one_edge_row_and_column(tmp_path: Path) -> None:
    frames = photo_frames(6, size=(513, 301))
    result = write_video(tmp_path / "odd.mp4", frames, 24, DELIVERY)
    assert (result.width, result.height, result.padded) == (514, 302, True)
    info = probe(result.path)
    assert (info.width, info.height) == (514, 302)
    with FrameReader(result.path) as reader:
        for i in range(6):
            got = reader.frame(i)
            assert read_stripe(got[:301, :513]) == i
            assert psnr(got[:301, :513], frames[i]) > 30.0
            # The padding repeats the edge pixels, so it holds no new content.
            assert np.abs(got[301].astype(int) - got[300]).mean() < 6.0
