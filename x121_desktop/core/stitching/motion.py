"""Motion and stillness: DIS optical flow and runs of near-identical frames.

Flow is computed on the ⅛-size grayscale features (see frames.py) and reported in pixels at
full frame size (magnitude x the reduction factor), so figures read the same for any resolution.

The estimator is OpenCV's DIS optical flow (Kroeger et al. 2016) with ``PRESET_ULTRAFAST``:
0.2 ms at 240x135 (1080p / 8) against 3.3 ms for the Farneback flow used before (pyramid 0.5, 3
levels, 13 px window), which was the largest single cost of a segment scan. On the seam defect
set (tests/seam_fixtures.py) DIS gives the same grades; it measures the injected 8 % jumps closer
to their true size (5.4-5.5 px at ⅛ scale where 5.1 px is exact; Farneback read 2.5-5.6) and clean
seams the same (across/within ratios 0.6-1.0 with both).

One DIS instance is kept per thread and image shape: instances hold buffers and are not
thread-safe, and an instance first used on small images stays slow on larger ones (a 240x135 pair
took 3.8 ms instead of 0.26 ms after the instance had seen 64x64 images).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.stitching.report import FrameRun

_local = threading.local()


def _dis(shape: tuple[int, ...]) -> cv2.DISOpticalFlow:
    cache: dict[tuple[int, ...], cv2.DISOpticalFlow] | None = getattr(_local, "dis", None)
    if cache is None:
        cache = _local.dis = {}
    dis = cache.get(shape)
    if dis is None:
        if len(cache) >= 8:
            cache.clear()
        dis = cache[shape] = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    return dis


def flow_magnitude(a: NDArray[np.uint8], b: NDArray[np.uint8], scale: float = 1.0) -> float:
    """Mean optical-flow magnitude from grayscale ``a`` to ``b``, multiplied by ``scale``."""
    if a.shape != b.shape:
        raise ValueError(f"flow needs two images of one shape, got {a.shape} and {b.shape}")
    if a.ndim != 2:
        raise ValueError(f"flow needs grayscale images, got shape {a.shape}")
    flow = _dis(a.shape).calc(a, b, None)  # type: ignore[call-overload]
    mag = cv2.magnitude(flow[..., 0], flow[..., 1])
    return float(mag.mean(dtype=np.float64)) * scale


def mean_abs_difference(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    """Mean absolute difference of two same-shape uint8 images, in 8-bit levels."""
    return float(cv2.absdiff(a, b).mean(dtype=np.float64))


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
