"""probe(): exact counts, rational rates, GOP, B-frames, audio, rotation, metadata."""

from __future__ import annotations

from fractions import Fraction

from tests.core.media.conftest import MakeClip
from x121_desktop.core.media import probe
from x121_desktop.core.timebase import FrameRange


def test_probe_reports_a_ntsc_rate_exactly(clip: MakeClip) -> None:
    rate = Fraction(24000, 1001)
    info = probe(clip("ntsc.mp4", 30, rate=rate, gop=12, bframes=2, size=(160, 96)))
    assert info.codec == "h264"
    assert (info.width, info.height) == (160, 96)
    assert info.rate == rate
    assert isinstance(info.rate, Fraction)
    assert info.frame_count == 30
    assert info.duration == FrameRange(0, 30, rate)
    assert info.pix_fmt == "yuv420p"
    assert info.gop == 12
    assert info.keyframes == 3
    assert info.b_frames
    assert not info.is_vfr
    assert not info.truncated
    assert not info.has_audio
    assert info.bit_rate > 0
    assert info.rotation == 0


def test_matroska_has_no_frame_count_in_its_header_but_probe_counts_packets(clip: MakeClip) -> None:
    info = probe(clip("count.mkv", 37, gop=10))
    assert info.frame_count == 37
    assert info.rate == 24
    assert info.time_base == Fraction(1, 1000)
    assert not info.is_vfr, "millisecond rounding of 24 fps timestamps is not variable frame rate"


def test_audio_rotation_and_metadata(clip: MakeClip) -> None:
    info = probe(clip("meta.mp4", 24, audio=True, rotation=90, metadata={"title": "Seed A", "comment": '{"take": 3}'}))
    assert info.has_audio
    assert info.rotation == 90
    assert info.display_size == (96, 128)
    assert info.metadata["title"] == "Seed A"
    assert info.metadata["comment"] == '{"take": 3}'
    assert info.frame_count == 24


def test_intra_only_stream(clip: MakeClip) -> None:
    info = probe(clip("intra.mkv", 12, codec="mjpeg"))
    assert info.codec == "mjpeg"
    assert info.gop == 1
    assert info.keyframes == 12
    assert not info.b_frames
