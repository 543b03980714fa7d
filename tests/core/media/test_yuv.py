"""FrameReader.frames_yuv: decoded planes in place, with the matrix and range FFmpeg would use.

Checked against an independent PyAV decode of the same files (planes bit for bit) and against
FFmpeg's own rgb24 conversion (``to_ndarray("rgb24")``) for the colour maths.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import av.video.stream
import numpy as np
import pytest

from tests.core.media.conftest import MakeClip
from tests.media_factory import photo_frames, read_stripe
from x121_desktop.core.media import FrameReader, YuvFrame, YuvMatrix, yuv_from_av
from x121_desktop.core.media.yuv import rgb_affine, yuv_native


def _independent_planes(path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            arr = f.to_ndarray()  # yuv420p: (H * 3/2, W) with U and V stacked under Y
            h, w = f.height, f.width
            u = arr[h : h + h // 4].reshape(h // 2, w // 2)
            v = arr[h + h // 4 :].reshape(h // 2, w // 2)
            out.append((arr[:h], u, v))
    return out


def _rgb_error(frame: YuvFrame, rgb: np.ndarray) -> float:
    return float(np.abs(frame.to_rgb().astype(np.int16) - rgb.astype(np.int16)).mean())


def test_planes_are_the_decoded_planes_in_order(clip: MakeClip) -> None:
    path = clip("yuv-gop.mp4", 30, size=(128, 96), gop=12, bframes=2)
    expected = _independent_planes(path)
    with FrameReader(path) as reader:
        assert reader.yuv_native
        got = list(reader.frames_yuv())
        middle = list(reader.frames_yuv(13, 17))
    assert len(got) == len(expected) == 30
    for f, (y, u, v) in zip(got, expected, strict=True):
        assert (f.size, f.scale, f.full_range, f.matrix) == ((128, 96), 1, False, YuvMatrix.BT601)
        np.testing.assert_array_equal(f.y, y)
        np.testing.assert_array_equal(f.u, u)
        np.testing.assert_array_equal(f.v, v)
    assert [read_stripe(f.to_rgb()) for f in middle] == [13, 14, 15, 16]


def test_untagged_yuv420p_converts_as_ffmpeg_does(clip: MakeClip) -> None:
    for size in ((320, 240), (1280, 720)):  # untagged: BT.601 at every size, as swscale
        path = clip(f"yuv-untagged-{size[0]}.mp4", 3, size=size)
        with FrameReader(path) as reader:
            rgb, yuv = list(reader.frames()), list(reader.frames_yuv())
            guessed = next(reader.frames_yuv(untagged_hd=YuvMatrix.BT709))
        assert all(f.matrix is YuvMatrix.BT601 for f in yuv)
        errors = [_rgb_error(f, r) for f, r in zip(yuv, rgb, strict=True)]
        assert max(errors) < 1.5, errors
        if size[1] > 576:  # the player-style guess for HD differs from what FFmpeg does here
            assert guessed.matrix is YuvMatrix.BT709
            assert _rgb_error(guessed, rgb[0]) > max(errors) + 0.5
        else:
            assert guessed.matrix is YuvMatrix.BT601


def test_bt709_tagged_stream(tmp_path: Path) -> None:
    path = tmp_path / "bt709.mp4"
    frames = photo_frames(3, (320, 240), "coffee")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(24), options={"preset": "veryfast", "crf": "18"})
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.colorspace = 1
        stream.codec_context.color_range = 1
        for img in frames:
            vf = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p", dst_colorspace="ITU709")
            vf.colorspace, vf.color_range = 1, 1
            out.mux(stream.encode(vf))
        out.mux(stream.encode())
    with FrameReader(path) as reader:
        rgb, yuv = list(reader.frames()), list(reader.frames_yuv())
    assert all(f.matrix is YuvMatrix.BT709 and not f.full_range for f in yuv)
    assert max(_rgb_error(f, r) for f, r in zip(yuv, rgb, strict=True)) < 1.5
    # and they are closer to what was encoded than the BT.601 matrix would make them
    for f, original in zip(yuv, frames, strict=True):
        assert _rgb_error(f, original) + 0.5 < _rgb_error(dataclasses.replace(f, matrix=YuvMatrix.BT601), original)


def test_full_range_mjpeg(clip: MakeClip) -> None:
    path = clip("yuvj.mkv", 3, codec="mjpeg", size=(160, 120))
    with FrameReader(path) as reader:
        assert reader.info.pix_fmt == "yuvj420p"
        assert reader.yuv_native
        rgb, yuv = list(reader.frames()), list(reader.frames_yuv())
    assert all(f.full_range for f in yuv)
    assert max(_rgb_error(f, r) for f, r in zip(yuv, rgb, strict=True)) < 1.5


def test_other_formats_are_converted(clip: MakeClip) -> None:
    for name, kwargs in (
        ("yuv444.mkv", {"codec": "ffv1", "size": (96, 64)}),
        ("rgb.mkv", {"codec": "libx264rgb", "size": (96, 64)}),
    ):
        path = clip(name, 3, **kwargs)
        with FrameReader(path) as reader:
            assert not reader.yuv_native
            assert not yuv_native(reader.info.pix_fmt)
            rgb, yuv = list(reader.frames()), list(reader.frames_yuv())
        for f, r in zip(yuv, rgb, strict=True):
            assert (f.y.shape, f.u.shape, f.v.shape) == ((64, 96), (32, 48), (32, 48))
            assert _rgb_error(f, r) < 8.0  # 4:2:0 chroma of a 4:4:4 / RGB source: edges blur


def test_odd_size_and_scale(clip: MakeClip) -> None:
    path = clip("yuv-odd.mkv", 2, codec="ffv1", pix_fmt="yuv420p", size=(97, 61))
    with FrameReader(path) as reader:
        full = next(reader.frames_yuv())
        half = next(reader.frames_yuv(scale=2))
        rgb = reader.frame(0)
        with pytest.raises(ValueError, match="scale"):
            next(reader.frames_yuv(scale=0))
    assert (full.y.shape, full.u.shape) == ((61, 97), (31, 49))
    assert (half.y.shape, half.u.shape, half.size, half.scale) == ((31, 49), (16, 25), (97, 61), 2)
    assert _rgb_error(full, rgb) < 1.5
    assert abs(float(half.y.mean()) - float(full.y.mean())) < 1.0


def test_affine_maps_reference_colours() -> None:
    # Limited-range BT.601 and BT.709 codes of pure red, and grey levels in both ranges.
    red = {YuvMatrix.BT601: (81, 90, 240), YuvMatrix.BT709: (63, 102, 240)}
    for matrix, (y, u, v) in red.items():
        rgb = rgb_affine(matrix, False) @ np.array([y, u, v, 1.0])
        np.testing.assert_allclose(rgb, [255, 0, 0], atol=2.5)
    np.testing.assert_allclose(
        rgb_affine(YuvMatrix.BT709, False) @ np.array([235, 128, 128, 1.0]), [255] * 3, atol=1e-3
    )
    np.testing.assert_allclose(rgb_affine(YuvMatrix.BT2020, True) @ np.array([77, 128, 128, 1.0]), [77] * 3, atol=1e-3)


def test_nv12_frames_as_hardware_decoders_deliver_them() -> None:
    rgb = photo_frames(1, (96, 64), "chelsea")[0]
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="nv12")
    planar = yuv_from_av(frame.reformat(format="yuv420p"))  # swscale de-interleaves, exactly
    nv12 = yuv_from_av(frame)
    assert (nv12.matrix, nv12.full_range) == (YuvMatrix.BT601, False)
    np.testing.assert_array_equal(nv12.y, planar.y)
    np.testing.assert_array_equal(nv12.u, planar.u)
    np.testing.assert_array_equal(nv12.v, planar.v)
