"""The YUV path of frames.py: the reduced grays, ⅛-size RGB and L* percentiles from decoded planes.

See frames.py for what each value is and the tolerances against the rgb24 path
(tests/core/stitching/test_yuv_path.py). Also the area reductions both paths share.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.media.yuv import YuvFrame, YuvMatrix, rgb_affine
from x121_desktop.core.stitching.buffers import scratch

if TYPE_CHECKING:
    from x121_desktop.core.stitching.frames import AnalysisGeometry

type Frame = NDArray[np.uint8]


def area(img: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    """``img`` area-reduced to ``size`` (itself when it is that size already)."""
    if (img.shape[1], img.shape[0]) == size:
        return img
    return cast("NDArray[np.uint8]", cv2.resize(img, size, interpolation=cv2.INTER_AREA))


def area_into(img: NDArray[np.uint8], size: tuple[int, int], dst: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """``area`` written into ``dst`` (of shape ``size``; a copy when no resize is needed)."""
    if (img.shape[1], img.shape[0]) == size:
        np.copyto(dst, img)
        return dst
    return cast("NDArray[np.uint8]", cv2.resize(img, size, dst=dst, interpolation=cv2.INTER_AREA))


def halvings(geometry: AnalysisGeometry) -> bool:
    """True when ½ → ¼ → ⅛ size are exact halvings (1080p, 512², …)."""
    (hw, hh), (qw, qh), (ew, eh) = geometry.half, geometry.quarter, geometry.eighth
    return (hw, hh) == (2 * qw, 2 * qh) and (qw, qh) == (2 * ew, 2 * eh)


def _expand_lut() -> NDArray[np.uint8]:
    """Limited-range Y' (16-235) → full range 0-255, rounded and clipped."""
    codes = np.arange(256, dtype=np.float64)
    return np.clip(np.rint((codes - 16.0) * 255.0 / 219.0), 0, 255).astype(np.uint8)


def _lstar_table() -> NDArray[np.float64]:
    """L* of each full-range grey level, exactly as the rgb path's cv2 RGB→Lab computes it."""
    ramp = np.repeat(np.arange(256, dtype=np.float32)[:, None, None] / 255.0, 3, axis=2)
    lab = cv2.cvtColor(np.ascontiguousarray(ramp), cv2.COLOR_RGB2LAB)
    return np.asarray(lab[:, 0, 0], dtype=np.float64)


_EXPAND = _expand_lut()
_LSTAR = _lstar_table()
_LSTAR_VALUES: list[float] = _LSTAR.tolist()


def reduce_yuv(
    frame: YuvFrame, geometry: AnalysisGeometry
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]:
    """(½, ¼, ⅛-size gray) from the Y' plane: one area-resize, then the range expansion on the ¼
    size (a LUT on ½ size cost 0.17 ms at 1080p, 4x this). The ½-size gray stays as coded: it only
    feeds the sharpness, a ratio of two variances that the expansion scales alike. The ½ size is
    scratch memory (valid until the next frame); the ¼ size is the features' own."""
    hw, hh = geometry.half
    qw, qh = geometry.quarter
    half = frame.y
    if (frame.y.shape[1], frame.y.shape[0]) != geometry.half:
        half = area_into(frame.y, geometry.half, scratch("frames.half", (hh, hw), np.uint8))
    quarter = np.empty((qh, qw), np.uint8)
    if frame.full_range:
        area_into(half, geometry.quarter, quarter)
    else:
        coded = half
        if (half.shape[1], half.shape[0]) != geometry.quarter:
            coded = area_into(half, geometry.quarter, scratch("frames.quarter", (qh, qw), np.uint8))
        cv2.LUT(coded, _EXPAND, dst=quarter)
    return half, quarter, area(quarter, geometry.eighth)


def small_rgb_yuv(frame: YuvFrame, eighth: NDArray[np.uint8], geometry: AnalysisGeometry) -> Frame:
    """⅛-size RGB from the ⅛-size (expanded) luma and the area-reduced chroma planes."""
    u, v = _chroma_eighth(frame.u, geometry), _chroma_eighth(frame.v, geometry)
    m = _expanded_luma_affine(frame.matrix, frame.full_range)
    return cast("Frame", cv2.transform(cv2.merge([eighth, u, v]), m))  # uint8: rounded, saturated


def _chroma_eighth(plane: NDArray[np.uint8], geometry: AnalysisGeometry) -> NDArray[np.uint8]:
    """A 4:2:0 chroma plane (½ size) area-reduced to ⅛ size: by two exact 2x steps where the
    geometry halves exactly (7x cheaper than one 4x step in OpenCV, within one level of it)."""
    if (plane.shape[1], plane.shape[0]) == geometry.half and halvings(geometry):
        return area(area(plane, geometry.quarter), geometry.eighth)
    return area(plane, geometry.eighth)


@functools.cache
def _expanded_luma_affine(matrix: YuvMatrix, full_range: bool) -> NDArray[np.float32]:
    """``rgb_affine`` for luma that is already expanded to full range (chroma as coded)."""
    m = rgb_affine(matrix, full_range).copy()
    m[:, 0] = 1.0
    m[:, 3] = -128.0 * (m[:, 1] + m[:, 2])
    m.setflags(write=False)
    return m


def lstar_percentiles(gray: NDArray[np.uint8]) -> tuple[float, float, float]:
    """``frames._percentiles`` of L* per pixel, from a 256-bin histogram of the grey levels (L* is
    monotonic in the level, so the k-th smallest L* is the L* of the k-th smallest level).
    cv2.calcHist counts exactly in float32 below 2**24 pixels (4x cheaper than np.bincount); the
    six ranks are looked up in one searchsorted, the rest is float arithmetic as before."""
    cum = np.cumsum(cv2.calcHist([gray], [0], None, [256], [0, 256]), dtype=np.float64)
    last = float(cum[-1]) - 1.0
    pos = [0.05 * last, 0.5 * last, 0.95 * last]
    lo = [math.floor(p) for p in pos]
    ranks = np.searchsorted(cum, [*lo, *(min(x + 1.0, last) for x in lo)], side="right").tolist()
    levels = [_LSTAR_VALUES[r] for r in ranks]
    low, high = levels[:3], levels[3:]
    return (
        low[0] + (high[0] - low[0]) * (pos[0] - lo[0]),
        low[1] + (high[1] - low[1]) * (pos[1] - lo[1]),
        low[2] + (high[2] - low[2]) * (pos[2] - lo[2]),
    )
