"""Per-frame features shared by the seam and segment analyses.

Every frame is reduced once; the metrics then compare features, never full frames.

Scales (documented accuracy, see ARCHITECTURE/PLATFORM and the tests):

* **¼ size grayscale** (``ANALYSIS_DIVISOR``) for SSIM and frozen-frame detection. PLATFORM.md
  measured ¼-size SSIM at 0.3-1.2 ms; a 0.6 px shift or a colour cast still moves it by > 0.02.
* **½ size grayscale** (``SHARPNESS_DIVISOR``) for the variance of the Laplacian: at ¼ size a
  visible blur (Gaussian sigma 2 px at full size) is averaged away, at ½ size it still halves the value.
  It is divided by the grey-level variance of the same image, so a darker or flatter frame (an
  exposure jump scales the raw value by the contrast squared) does not read as a blurred one.
* **⅛ size** (``COLOUR_DIVISOR``, ``MOTION_DIVISOR``) for Lab colour statistics, histograms and
  Farneback optical flow: colour casts and exposure are global, and flow magnitudes are compared
  as ratios across/within, which do not depend on scale.

No side is reduced below ``MIN_SIDE`` pixels, so small frames are analysed at (near) full size.
Frames are RGB ``uint8`` arrays of shape (H, W, 3), as PyAV's ``to_ndarray(format="rgb24")`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.stitching.phash import phash
from x121_desktop.core.stitching.ssim import SsimStats, ssim_stats

type Frame = NDArray[np.uint8]

ANALYSIS_DIVISOR = 4
SHARPNESS_DIVISOR = 2
COLOUR_DIVISOR = 8
MOTION_DIVISOR = 8
MIN_SIDE = 64
_HIST_BINS = 8
SHARPNESS_EPS = 1.0


@dataclass(frozen=True, slots=True)
class AnalysisGeometry:
    """The sizes (width, height) every frame of one analysis is reduced to."""

    full: tuple[int, int]
    half: tuple[int, int]
    quarter: tuple[int, int]
    eighth: tuple[int, int]

    @classmethod
    def for_frame(cls, frame: Frame) -> AnalysisGeometry:
        check_frame(frame)
        h, w = frame.shape[:2]

        def reduced(divisor: int) -> tuple[int, int]:
            # Keep the aspect ratio; do not shrink the short side below MIN_SIDE.
            d = max(1.0, min(float(divisor), min(h, w) / MIN_SIDE))
            return max(1, round(w / d)), max(1, round(h / d))

        return cls((w, h), reduced(SHARPNESS_DIVISOR), reduced(ANALYSIS_DIVISOR), reduced(COLOUR_DIVISOR))


@dataclass(frozen=True, slots=True, eq=False)
class SegmentFeatures:
    """What the along-segment checks need of one frame (arrays are private to the analysis; do
    not mutate). The seam analysis uses the richer ``FrameFeatures``."""

    gray: NDArray[np.uint8]
    """Grayscale at ¼ size: SSIM and frozen detection."""
    ssim: SsimStats
    """The per-frame SSIM terms of ``gray`` (so a pair costs one blur, not five)."""
    motion_gray: NDArray[np.uint8]
    """Grayscale at ⅛ size, normalised to mean 128 / std 48: optical flow."""
    luma_percentiles: tuple[float, float, float]
    """L* at the 5th, 50th and 95th percentile."""
    sharpness: float
    """Variance of the Laplacian at ½ size divided by the grey-level variance (contrast-free)."""


@dataclass(frozen=True, slots=True, eq=False)
class FrameFeatures(SegmentFeatures):
    """Everything the seam analysis compares: the segment features plus colour and pHash."""

    lab: NDArray[np.float32]
    """CIE L*a*b* (L* 0..100) at ⅛ size: per-pixel ΔE."""
    lab_mean: tuple[float, float, float]
    histogram: NDArray[np.float32]
    """Normalised 8x8x8 Lab histogram for cv2.compareHist."""
    phash: int


def check_frame(frame: object) -> None:
    """Raise ValueError unless ``frame`` is an RGB uint8 (H, W, 3) array with H, W >= 2."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise ValueError(f"a frame must be an RGB uint8 array of shape (H, W, 3), got {shape} {dtype}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise ValueError(f"a frame must be at least 2x2 pixels, got {frame.shape[1]}x{frame.shape[0]}")


def _resize(img: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    if (img.shape[1], img.shape[0]) == size:
        return img
    return cast("NDArray[np.uint8]", cv2.resize(img, size, interpolation=cv2.INTER_AREA))


def _normalise(gray: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Mean 128, standard deviation 48: a brightness change must not read as optical flow."""
    mean, std = cv2.meanStdDev(gray)
    alpha = 48.0 / max(float(std[0, 0]), 1.0)
    return cast("NDArray[np.uint8]", cv2.convertScaleAbs(gray, alpha=alpha, beta=128.0 - alpha * float(mean[0, 0])))


def _percentiles(values: NDArray[np.float32]) -> tuple[float, float, float]:
    """The 5th, 50th and 95th percentile exactly as ``np.percentile`` (linear) computes them, from
    one vectorised sort: numpy's multi-kth partition inside ``np.percentile`` is ~6x slower."""
    ordered = np.sort(values, axis=None)
    last = ordered.size - 1
    out: list[float] = []
    for q in (0.05, 0.5, 0.95):
        pos = q * last
        lo = int(pos)
        hi = min(lo + 1, last)
        low = float(ordered[lo])
        out.append(low + (float(ordered[hi]) - low) * (pos - lo))
    return out[0], out[1], out[2]


type _Reduced = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8], Frame]


def _reduce(frame: Frame, geometry: AnalysisGeometry) -> _Reduced:
    """(½, ¼ and ⅛-size gray, ⅛-size RGB) from one area-resize of the full frame."""
    check_frame(frame)
    rgb = frame if (frame.shape[1], frame.shape[0]) == geometry.full else _resize(frame, geometry.full)
    # One area-resize of the full frame; everything else comes from the half-size copy (cheap).
    half_rgb = _resize(rgb, geometry.half)
    half = cast("NDArray[np.uint8]", cv2.cvtColor(half_rgb, cv2.COLOR_RGB2GRAY))
    quarter = _resize(half, geometry.quarter)
    eighth = _resize(quarter, geometry.eighth)
    if geometry.half == (2 * geometry.quarter[0], 2 * geometry.quarter[1]) and geometry.quarter == (
        2 * geometry.eighth[0],
        2 * geometry.eighth[1],
    ):
        # Exact halvings (1080p, 512², …): two 2x area steps average the same 4x4 blocks as one
        # 4x step, within one 8-bit level of rounding, at a third of the cost.
        small_rgb = _resize(_resize(half_rgb, geometry.quarter), geometry.eighth)
    else:  # e.g. 320 px frames, whose ⅛ size is held at MIN_SIDE: one area-resize
        small_rgb = _resize(half_rgb, geometry.eighth)
    return half, quarter, eighth, small_rgb


def _sharpness(half: NDArray[np.uint8]) -> float:
    # int16 holds the 3x3 Laplacian of uint8 exactly (|value| <= 1020), and is cheaper than float32.
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(half, cv2.CV_16S))
    _, gray_std = cv2.meanStdDev(half)
    return float(lap_std[0, 0]) ** 2 / (float(gray_std[0, 0]) ** 2 + SHARPNESS_EPS)


def _lab(small_rgb: Frame) -> NDArray[np.float32]:
    return cast("NDArray[np.float32]", cv2.cvtColor(small_rgb.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2LAB))


def extract_segment(frame: Frame, geometry: AnalysisGeometry) -> SegmentFeatures:
    """The along-segment features of one frame: the same values as ``extract`` gives for them,
    without the colour statistics and pHash (frames of another size are resized)."""
    half, quarter, eighth, small_rgb = _reduce(frame, geometry)
    lum = _lab(small_rgb)[..., 0]
    return SegmentFeatures(
        gray=quarter,
        ssim=ssim_stats(quarter),
        motion_gray=_normalise(eighth),
        luma_percentiles=_percentiles(lum),
        sharpness=_sharpness(half),
    )


def extract(frame: Frame, geometry: AnalysisGeometry) -> FrameFeatures:
    """Reduce one frame to its features at ``geometry`` (as ``extract_segment``, plus colour and
    pHash)."""
    half, quarter, eighth, small_rgb = _reduce(frame, geometry)
    lab = _lab(small_rgb)
    mean = cv2.mean(lab)
    lab8 = cv2.cvtColor(small_rgb, cv2.COLOR_RGB2LAB)
    hist = cast("NDArray[np.float32]", cv2.calcHist([lab8], [0, 1, 2], None, [_HIST_BINS] * 3, [0, 256] * 3))
    cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)
    return FrameFeatures(
        gray=quarter,
        ssim=ssim_stats(quarter),
        motion_gray=_normalise(eighth),
        luma_percentiles=_percentiles(lab[..., 0]),
        sharpness=_sharpness(half),
        lab=lab,
        lab_mean=(float(mean[0]), float(mean[1]), float(mean[2])),
        histogram=hist,
        phash=phash(quarter),
    )
