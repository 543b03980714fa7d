"""Encoders: profiles do what they promise, and a failed write never leaves a half file."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.media_factory import decode_all, photo_frames, psnr, read_stripe
from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.errors import Cancelled, MediaError
from x121_desktop.core.media import (
    DELIVERY,
    INTERMEDIATE,
    LOSSLESS,
    PROXY,
    FrameReader,
    VideoWriter,
    probe,
    write_video,
)

FRAMES = photo_frames(48, size=(128, 96), photo_name="coffee")


def test_lossless_is_bit_exact(tmp_path: Path) -> None:
    result = write_video(tmp_path / "l.mkv", FRAMES, 24, LOSSLESS)
    assert result.frame_count == 48
    decoded = decode_all(result.path)
    for got, want in zip(decoded, FRAMES, strict=True):
        np.testing.assert_array_equal(got, want)


def test_intermediate_is_near_lossless(tmp_path: Path) -> None:
    result = write_video(tmp_path / "i.mkv", FRAMES, 24, INTERMEDIATE)
    decoded = decode_all(result.path)
    assert len(decoded) == 48
    worst = max(int(np.abs(g.astype(int) - w).max()) for g, w in zip(decoded, FRAMES, strict=True))
    assert worst <= 3, "only the rgb→yuv444 rounding may differ"


@pytest.mark.parametrize(("rate", "gop"), [(Fraction(24), 24), (Fraction(30000, 1001), 30)])
def test_proxy_has_a_keyframe_every_second_and_no_b_frames(tmp_path: Path, rate: Fraction, gop: int) -> None:
    result = write_video(tmp_path / "p.mp4", FRAMES * 2, rate, PROXY)
    info = probe(result.path)
    assert info.rate == rate
    assert info.gop == gop
    assert info.keyframes == -(-96 // gop)
    assert not info.b_frames


def test_delivery_keeps_rate_count_and_content(tmp_path: Path) -> None:
    rate = Fraction(24000, 1001)
    result = write_video(tmp_path / "d.mp4", FRAMES, rate, DELIVERY, metadata={"title": "Delivery"})
    info = probe(result.path)
    assert (info.codec, info.rate, info.frame_count, info.pix_fmt) == ("h264", rate, 48, "yuv420p")
    assert info.metadata["title"] == "Delivery"
    with FrameReader(result.path) as reader:
        for i in (0, 20, 47):
            got = reader.frame(i)
            assert read_stripe(got) == i
            assert psnr(got, FRAMES[i]) > 30.0


def _failing_frames() -> Iterator[np.ndarray]:
    yield from FRAMES[:10]
    raise RuntimeError("the generator died mid-write")


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"old version")
    with pytest.raises(RuntimeError, match="died"):
        write_video(target, _failing_frames(), 24, PROXY)
    assert target.read_bytes() == b"old version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_cancel_stops_the_write_and_removes_the_temp(tmp_path: Path) -> None:
    token = CancelToken()
    seen: list[float] = []

    def progress(done: float, total: float, message: str = "") -> None:
        seen.append(done)
        if done == 5:
            token.cancel()

    with pytest.raises(Cancelled, match="was cancelled"):
        write_video(tmp_path / "c.mp4", FRAMES, 24, PROXY, cancel=token, progress=progress)
    assert seen[:5] == [1, 2, 3, 4, 5]
    assert list(tmp_path.iterdir()) == []


def test_bad_frames_and_targets_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"Frame 1 .* is 64x48, but the video is 128x96"):
        write_video(tmp_path / "a.mp4", [FRAMES[0], FRAMES[1][:48, :64]], 24, PROXY)
    with pytest.raises(MediaError, match=r"Give rgb24 frames"):
        write_video(tmp_path / "b.mp4", [FRAMES[0].astype(np.float32)], 24, PROXY)  # type: ignore[list-item]
    with pytest.raises(MediaError, match=r"lossless profile cannot write a \.mp4 file"):
        write_video(tmp_path / "c.mp4", FRAMES, 24, LOSSLESS)
    with pytest.raises(MediaError, match="No frames were given"):
        write_video(tmp_path / "d.mp4", [], 24, PROXY)
    assert list(tmp_path.iterdir()) == []


def test_incremental_writer(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "w.mkv", 24, LOSSLESS, metadata={"comment": '{"k": 1}'}) as writer:
        for frame in FRAMES[:12]:
            writer.write(frame)
        assert not (tmp_path / "w.mkv").exists(), "nothing under the final name until close"
    info = probe(tmp_path / "w.mkv")
    assert info.frame_count == 12
    assert info.metadata["comment"] == '{"k": 1}'
