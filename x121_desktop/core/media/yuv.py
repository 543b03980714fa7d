"""Decoded frames as their Y, U and V planes: no rgb24 conversion, for luma-based analysis.

A decoder delivers H.264/HEVC/VP9 frames as Y'CbCr planes; converting them to rgb24 costs more
than decoding them (1080p: ~2 ms per frame against ~1.3 ms of decode). Analyses that need luma
(SSIM, sharpness, flow, frozen frames, exposure) can read the Y plane in place, and colour
statistics need only the small chroma planes. ``YuvFrame`` carries the planes plus what is
needed to turn them into RGB correctly: the matrix and the range.

Matrix and range, as FFmpeg's swscale (and so ``to_ndarray("rgb24")``) chooses them:

* the frame's ``colorspace`` tag when it names BT.709, BT.601 (BT470BG / SMPTE 170M / FCC) or
  BT.2020; **untagged frames use BT.601 at every size** — swscale's default, and what FFmpeg's
  rgb24 → yuv420p conversion used when it wrote them (the ``ffmpeg`` CLI, ComfyUI's video
  nodes and our writer leave that tag out). Players such as mpv guess BT.709 for untagged HD;
  ``untagged_hd=YuvMatrix.BT709`` does that instead (measured: for our own untagged 1080p
  files it moves the rgb24 mean error from 1.1 to 2.2 levels, so it is not the default);
* full range for ``yuvj420p`` or a JPEG/full ``color_range`` tag, limited (16-235/240) otherwise.

Pixel formats read in place: ``yuv420p``, ``yuvj420p`` and ``nv12`` (hardware decoders). Other
formats are converted to ``yuv420p`` by swscale first (correct, but the saving is lost), so
callers with such input should rather use the rgb24 path (``yuv_native(pix_fmt)`` says which).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from typing import cast

import av.video.frame
import cv2
import numpy as np
import numpy.typing as npt
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter

Plane = npt.NDArray[np.uint8]

NATIVE_FORMATS = frozenset({"yuv420p", "yuvj420p", "nv12"})
_FULL_RANGE_FORMATS = frozenset({"yuvj420p", "yuvj422p", "yuvj444p"})

# FFmpeg's AVColorSpace and AVColorRange values (as PyAV reports them on frames).
_CS_BT709 = 1
_CS_BT601 = frozenset({4, 5, 6})  # FCC, BT470BG, SMPTE170M
_CS_BT2020 = frozenset({9, 10})  # BT2020 NCL (CL treated as NCL: no such content in practice)
_RANGE_FULL = 2


class YuvMatrix(enum.StrEnum):
    """The Y'CbCr ↔ R'G'B' matrix: luma weights Kr, Kb (Kg = 1 - Kr - Kb)."""

    BT601 = "bt601"
    BT709 = "bt709"
    BT2020 = "bt2020"

    @property
    def weights(self) -> tuple[float, float]:
        return _WEIGHTS[self]


_WEIGHTS = {YuvMatrix.BT601: (0.299, 0.114), YuvMatrix.BT709: (0.2126, 0.0722), YuvMatrix.BT2020: (0.2627, 0.0593)}


@dataclass(frozen=True, slots=True, eq=False)
class YuvFrame:
    """One decoded 4:2:0 frame as planes (uint8, do not mutate: they may view decoder memory).

    ``y`` is (H/scale, W/scale); ``u`` and ``v`` are half that in each direction (rounded up for
    odd sizes, as the codec stores them). ``size`` is the decoded frame's (width, height) before
    any ``scale``; ``full_range`` False means Y' 16-235 and Cb/Cr 16-240.
    """

    y: Plane
    u: Plane
    v: Plane
    matrix: YuvMatrix
    full_range: bool
    size: tuple[int, int]
    scale: int = 1

    def rgb_affine(self) -> npt.NDArray[np.float32]:
        """The 3x4 matrix (for ``cv2.transform``) from (Y', Cb, Cr) codes to R'G'B' on 0..255."""
        return rgb_affine(self.matrix, self.full_range)

    def to_rgb(self) -> npt.NDArray[np.uint8]:
        """RGB uint8 (H/scale, W/scale, 3): chroma upsampled bilinearly, this frame's matrix/range.

        Within ~1 level (mean) of FFmpeg's ``to_ndarray("rgb24")`` of the same frame.
        """
        h, w = self.y.shape
        u = cast("Plane", cv2.resize(self.u, (w, h), interpolation=cv2.INTER_LINEAR))
        v = cast("Plane", cv2.resize(self.v, (w, h), interpolation=cv2.INTER_LINEAR))
        return planes_to_rgb(self.y, u, v, self.matrix, self.full_range)


@cache
def rgb_affine(matrix: YuvMatrix, full_range: bool) -> npt.NDArray[np.float32]:
    kr, kb = matrix.weights
    kg = 1.0 - kr - kb
    if full_range:
        ys, yo, cs = 1.0, 0.0, 1.0
    else:
        ys, yo, cs = 255.0 / 219.0, -16.0 * 255.0 / 219.0, 255.0 / 224.0
    cr_r = 2.0 * (1.0 - kr) * cs
    cb_b = 2.0 * (1.0 - kb) * cs
    cb_g = -kb * cb_b / kg
    cr_g = -kr * cr_r / kg
    m = np.array(
        [
            [ys, 0.0, cr_r, yo - 128.0 * cr_r],
            [ys, cb_g + 0.0, cr_g, yo - 128.0 * (cb_g + cr_g)],
            [ys, cb_b, 0.0, yo - 128.0 * cb_b],
        ],
        dtype=np.float32,
    )
    m.setflags(write=False)
    return m


def planes_to_rgb(y: Plane, u: Plane, v: Plane, matrix: YuvMatrix, full_range: bool) -> npt.NDArray[np.uint8]:
    """Same-size Y', Cb, Cr planes → RGB uint8 (rounded, clipped) with ``matrix`` and range.

    cv2.transform on uint8 computes in float and saturates: 1.1 ms at 1080p (a float32 round trip
    through numpy took 13 ms).
    """
    return cast("npt.NDArray[np.uint8]", cv2.transform(cv2.merge([y, u, v]), rgb_affine(matrix, full_range)))


def yuv_native(pix_fmt: str) -> bool:
    """True when frames of ``pix_fmt`` are read as planes in place (no swscale conversion)."""
    return pix_fmt in NATIVE_FORMATS


def frame_matrix(frame: av.video.frame.VideoFrame, untagged_hd: YuvMatrix = YuvMatrix.BT601) -> YuvMatrix:
    """The matrix of a decoded frame from its colorspace tag; ``untagged_hd`` for untagged frames
    taller than 576 lines (BT.601 for smaller ones)."""
    cs = int(frame.colorspace)
    if cs == _CS_BT709:
        return YuvMatrix.BT709
    if cs in _CS_BT601:
        return YuvMatrix.BT601
    if cs in _CS_BT2020:
        return YuvMatrix.BT2020
    return untagged_hd if frame.height > 576 else YuvMatrix.BT601


def frame_full_range(frame: av.video.frame.VideoFrame) -> bool:
    return frame.format.name in _FULL_RANGE_FORMATS or int(frame.color_range) == _RANGE_FULL


def _plane(frame: av.video.frame.VideoFrame, i: int) -> Plane:
    p = frame.planes[i]
    arr = np.frombuffer(memoryview(p), dtype=np.uint8)
    return arr.reshape(p.height, p.line_size)[:, : p.width]


def _reduce(plane: Plane, scale: int) -> Plane:
    if scale == 1:
        return plane
    h, w = plane.shape
    size = (max(1, -(-w // scale)), max(1, -(-h // scale)))
    return cast("Plane", cv2.resize(plane, size, interpolation=cv2.INTER_AREA))


def _to_yuv420p(
    frame: av.video.frame.VideoFrame, name: str, matrix: YuvMatrix, full: bool
) -> av.video.frame.VideoFrame:
    """swscale to yuv420p with the matrix and range stated, so the tags we return are true."""
    rng = ColorRange.JPEG if full else ColorRange.MPEG
    if name.startswith("yuv"):  # subsampling only: same matrix, same range
        return VideoReformatter().reformat(frame, format="yuv420p", src_color_range=rng, dst_color_range=rng)
    return VideoReformatter().reformat(  # one per call: a reformatter is not thread-safe
        frame,
        format="yuv420p",
        src_colorspace=Colorspace.ITU601,
        dst_colorspace=Colorspace.ITU601,
        src_color_range=ColorRange.JPEG,
        dst_color_range=ColorRange.MPEG,
    )


def yuv_from_av(
    frame: av.video.frame.VideoFrame, *, scale: int = 1, untagged_hd: YuvMatrix = YuvMatrix.BT601
) -> YuvFrame:
    """The planes of a decoded frame (views into its buffers when ``scale`` is 1).

    ``scale`` (a positive integer) area-reduces every plane by that factor. Frames that are not
    yuv420p / yuvj420p / nv12 are converted to yuv420p by swscale first (see the module notes).
    """
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    name = frame.format.name
    if name.startswith(("yuv", "nv")):
        matrix, full = frame_matrix(frame, untagged_hd), frame_full_range(frame)
    else:  # RGB, grey, …: converted to limited-range BT.601 planes below
        matrix, full = YuvMatrix.BT601, False
    if name == "nv12":
        y = _plane(frame, 0)
        p = frame.planes[1]
        uv = np.frombuffer(memoryview(p), dtype=np.uint8).reshape(p.height, p.line_size)[:, : 2 * p.width]
        uv = uv.reshape(p.height, p.width, 2)
        u, v = np.ascontiguousarray(uv[..., 0]), np.ascontiguousarray(uv[..., 1])
    else:
        if name not in ("yuv420p", "yuvj420p"):
            frame = _to_yuv420p(frame, name, matrix, full)
        y, u, v = _plane(frame, 0), _plane(frame, 1), _plane(frame, 2)
    return YuvFrame(
        y=_reduce(y, scale),
        u=_reduce(u, scale),
        v=_reduce(v, scale),
        matrix=matrix,
        full_range=full,
        size=(frame.width, frame.height),
        scale=scale,
    )
