"""Motion and stillness: DIS optical flow and runs of near-identical frames.

Flow is computed on the ⅛-size grayscale features (see frames.py) and reported in pixels at
full frame size (magnitude x the reduction factor), so figures read the same for any resolution.

The estimator is OpenCV's DIS optical flow (Kroeger et al. 2016) with ``PRESET_ULTRAFAST``:
0.2 ms at 240x135 (1080p / 8) against 3.3 ms for the Farneback flow used before (pyramid 0.5, 3
levels, 13 px window), which was the largest single cost of a segment scan. On the seam defect
set (tests/seam_fixtures.py) DIS gives the same grades; it measures the injected 8 % jumps closer
to their true size (5.4-5.5 px at ⅛ scale where 5.1 px is exact; Farneback read 2.5-5.6) and clean
seams the same (across/within ratios 0.6-1.0 with both).

DIS works from a coarsest pyramid level down to ``finest_scale`` (2 in the preset: flow is
estimated at ¼ of the image it is given and upsampled). When the image is too small for that
(coarsest level < 2, e.g. the 64x64 motion image of a 512² frame), OpenCV silently falls back to
finest scale 0 and 5x the cost (0.32 ms instead of 0.06 ms at 64x64, the largest per-frame cost
at 512²). We set the finest scale to the coarsest level the image allows, capped at the preset's 2:
1 at 64-95 px, the same 2 as before from 96 px. At 64x64 that reads slow pans ~10 % lower than
scale 0 did (0.20 vs 0.22 px at ⅛ size); motion is graded as a ratio, and on the defect set (320 px
frames → 64x64) every motion grade stayed the same: clean ratios 0.5-1.2 (were 0.6-1.0), jumps
14-17 (15-17), zooms 4.0-7.6 (5.3-9.0: the coarser flow smooths a zoom's spatially varying field).

Large frames (frames.py): where half the ⅛ size keeps ``MIN_SIDE`` pixels (1080p: 120x67 instead
of 240x135) the flow image is that half and ``coarser=1`` lowers the finest scale by one, so DIS
estimates on the same 60x33 grid as before and skips building and upsampling the level above it.
On the 1080x1080 defect set (tests/core/stitching/test_large_frames.py) jump ratios read 14.2-16.7
(13.4-16.5 at ⅛ size), zooms 5.1-7.6 (5.3-7.5), clean seams 0.0-1.0 (0.0-1.0).

One DIS instance is kept per thread, image shape and ``coarser``: instances hold buffers and are not
thread-safe, and an instance first used on small images stays slow on larger ones (a 240x135 pair
took 3.8 ms instead of 0.26 ms after the instance had seen 64x64 images).
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.stitching.report import FrameRun

_local = threading.local()


def _dis(shape: tuple[int, ...], coarser: int) -> cv2.DISOpticalFlow:
    cache: dict[tuple[tuple[int, ...], int], cv2.DISOpticalFlow] | None = getattr(_local, "dis", None)
    if cache is None:
        cache = _local.dis = {}
    dis = cache.get((shape, coarser))
    if dis is None:
        if len(cache) >= 8:
            cache.clear()
        dis = cache[(shape, coarser)] = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        finest = _finest_scale(shape, dis.getPatchSize(), max(0, dis.getFinestScale() - coarser))
        if finest is not None:
            dis.setFinestScale(finest)
    return dis


def _finest_scale(shape: tuple[int, ...], patch: int, preset: int) -> int | None:
    """The preset's finest scale, or the coarsest level OpenCV allows for this shape when that is
    smaller (its own formula, modules/video/src/dis_flow.cpp); None when no level fits."""
    h, w = shape[:2]
    if min(h, w) < patch:
        return None
    coarsest = min(int(math.log2(max(w, h) / (4.0 * patch)) + 0.5), int(math.log2(min(w, h) / patch)))
    return max(0, min(preset, coarsest)) if coarsest >= 0 else None


def flow_magnitude(a: NDArray[np.uint8], b: NDArray[np.uint8], scale: float = 1.0, coarser: int = 0) -> float:
    """Mean optical-flow magnitude from grayscale ``a`` to ``b``, multiplied by ``scale``.

    ``coarser`` n > 0 says the images are already 2**n times smaller than the ⅛ size the preset's
    finest scale was chosen for: DIS then stops n levels earlier, so the flow is estimated on the
    same grid as from the ⅛ size (the pyramid above it is just not built)."""
    if a.shape != b.shape:
        raise ValueError(f"flow needs two images of one shape, got {a.shape} and {b.shape}")
    if a.ndim != 2:
        raise ValueError(f"flow needs grayscale images, got shape {a.shape}")
    flow = _dis(a.shape, coarser).calc(a, b, None)  # type: ignore[call-overload]
    mag = cv2.magnitude(flow[..., 0], flow[..., 1])
    return float(cv2.mean(mag)[0]) * scale  # float64 accumulation, 3x cheaper than numpy's mean


def mean_abs_difference(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    """Mean absolute difference of two same-shape uint8 images, in 8-bit levels."""
    return float(cv2.mean(cv2.absdiff(a, b))[0])


def frozen_runs(differences: list[float] | tuple[float, ...], limit: float) -> tuple[FrameRun, ...]:
    """Runs of >= 2 frames whose consecutive differences are all below ``limit``.

    ``differences[i]`` compares frames i and i+1; a run of n frames has n-1 small differences.
    """
    runs: list[FrameRun] = []
    start: int | None = None
    for i, d in enumerate(differences):
        if d < limit:
            if start is None:
                start = i
        elif start is not None:
            runs.append(FrameRun(start, i - start + 1))
            start = None
    if start is not None:
        runs.append(FrameRun(start, len(differences) - start + 1))
    return tuple(runs)
