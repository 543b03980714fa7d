"""Per-frame features shared by the seam and segment analyses.

Every frame is reduced once; the metrics then compare features, never full frames.

Scales (documented accuracy, see ARCHITECTURE/PLATFORM and the tests):

* **¼ size grayscale** (``ANALYSIS_DIVISOR``) for frozen-frame detection, pHash and SSIM.
  PLATFORM.md measured ¼-size SSIM at 0.3-1.2 ms; a 0.6 px shift or a colour cast still moves it
  by > 0.02. **SSIM on large frames**: when the ¼ size is taller than ``SSIM_MAX_SIDE`` (144 px:
  720p, 1080p, 4K) SSIM runs on the ⅛ size (halved again for 4K), so its 11-px window covers
  about as much of the picture as at the sizes the thresholds were calibrated on (320 px frames:
  80 px SSIM images) at a quarter of the cost (1080p: 0.48 → 0.14 ms a frame, terms + pair). The seam defect
  set rebuilt at 1080x1080 keeps recall 1.0 with no false alarm (test_large_frames.py, which prints
  the drops beside the ¼-size ones: jumps and zooms drop more, clean seams stay at ~0).
* **½ size grayscale** (``SHARPNESS_DIVISOR``) for the variance of the Laplacian: at ¼ size a
  visible blur (Gaussian sigma 2 px at full size) is averaged away, at ½ size it still halves the value.
  It is divided by the grey-level variance of the same image, so a darker or flatter frame (an
  exposure jump scales the raw value by the contrast squared) does not read as a blurred one.
* **⅛ size** (``COLOUR_DIVISOR``, ``MOTION_DIVISOR``) for Lab colour statistics, histograms and
  DIS optical flow (motion.py): colour casts and exposure are global, and flow magnitudes are compared
  as ratios across/within, which do not depend on scale. Where half the ⅛ size still has
  ``MIN_SIDE`` pixels (1080p: 120x67) the flow image is that half and DIS stops one pyramid level
  earlier: the flow is estimated on the same grid (1/32 of the frame) without building the level
  above it (1080p: 0.22 → 0.16 ms a pair; on the 1080x1080 defect set jump and zoom ratios stay
  within 6 % of the ⅛-size ones and clean seams read 0.0-1.0 either way).

No side is reduced below ``MIN_SIDE`` pixels, so small frames are analysed at (near) full size.
Frames are RGB ``uint8`` arrays of shape (H, W, 3), as PyAV's ``to_ndarray(format="rgb24")`` gives,
or decoded planes (``core.media.YuvFrame``, from ``FrameReader.frames_yuv``): the **YUV path**.

YUV path (no rgb24 conversion, which cost more than the analysis itself): grayscale is the Y'
plane, area-reduced and (from ¼ size on) expanded to full range (limited 16-235 → 0-255), so it equals
the rgb path's ``RGB2GRAY`` up to rounding for BT.601 streams (for BT.709 ones it is the true luma,
where the rgb path weighs 709-decoded RGB with 601 weights). L* percentiles map each Y' level
through OpenCV's L* of that grey level (exact for neutral pixels; for saturated ones luma is not
luminance: see tests/core/stitching/test_yuv_path.py for the measured tolerances). Colour statistics
(seam only) convert ⅛-size Y'/Cb/Cr to RGB with the frame's matrix and range, then follow the rgb
path. Mixing paths across one seam is allowed but adds their small offsets to the seam grades.
The YUV-path reductions live in yuv_path.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.media.yuv import YuvFrame
from x121_desktop.core.stitching.buffers import scratch
from x121_desktop.core.stitching.phash import phash
from x121_desktop.core.stitching.ssim import SsimStats, ssim_stats
from x121_desktop.core.stitching.yuv_path import area, halvings, lstar_percentiles, reduce_yuv, small_rgb_yuv

type Frame = NDArray[np.uint8]

ANALYSIS_DIVISOR = 4
SHARPNESS_DIVISOR = 2
COLOUR_DIVISOR = 8
MOTION_DIVISOR = 8
MIN_SIDE = 64
SSIM_MAX_SIDE = 144
"""SSIM's image is the ¼ size, halved further while its short side exceeds this (see the notes)."""
_HIST_BINS = 8
SHARPNESS_EPS = 1.0


@dataclass(frozen=True, slots=True)
class AnalysisGeometry:
    """The sizes (width, height) every frame of one analysis is reduced to."""

    full: tuple[int, int]
    half: tuple[int, int]
    quarter: tuple[int, int]
    eighth: tuple[int, int]
    ssim: tuple[int, int]
    """The SSIM image: ``quarter``, or for large frames ``eighth`` (or its halvings)."""
    motion: tuple[int, int]
    """The optical-flow image: ``eighth``, or its halving where that keeps ``MIN_SIDE``."""

    @classmethod
    def for_frame(cls, frame: Frame | YuvFrame) -> AnalysisGeometry:
        if isinstance(frame, YuvFrame):
            return cls.for_size(*frame.size)
        check_frame(frame)
        h, w = frame.shape[:2]
        return cls.for_size(w, h)

    @classmethod
    def for_size(cls, w: int, h: int) -> AnalysisGeometry:
        if w < 2 or h < 2:
            raise ValueError(f"a frame must be at least 2x2 pixels, got {w}x{h}")

        def reduced(divisor: int) -> tuple[int, int]:
            # Keep the aspect ratio; do not shrink the short side below MIN_SIDE.
            d = max(1.0, min(float(divisor), min(h, w) / MIN_SIDE))
            return max(1, round(w / d)), max(1, round(h / d))

        quarter, eighth = reduced(ANALYSIS_DIVISOR), reduced(COLOUR_DIVISOR)
        ssim = quarter
        if min(quarter) > SSIM_MAX_SIDE:
            ssim = eighth
            while min(ssim) > SSIM_MAX_SIDE and min(ssim) // 2 >= MIN_SIDE:
                ssim = _halved(ssim)
        motion = _halved(eighth) if min(eighth) // 2 >= MIN_SIDE else eighth
        return cls((w, h), reduced(SHARPNESS_DIVISOR), quarter, eighth, ssim, motion)

    @property
    def motion_scale(self) -> float:
        """Full-frame pixels per pixel of the optical-flow image."""
        return self.full[0] / self.motion[0]

    @property
    def motion_halvings(self) -> int:
        """How many times the optical-flow image is halved from the ⅛ size (0 or 1)."""
        return 0 if self.motion == self.eighth else 1


def _halved(size: tuple[int, int]) -> tuple[int, int]:
    return size[0] // 2, size[1] // 2


def _halve_to(img: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    """``img`` reduced to ``size`` by exact 2x area steps (an odd last row or column is dropped
    first: OpenCV's 2x area path is ~10x cheaper than a fractional one); ``img`` itself when it is
    that size already."""
    while (img.shape[1], img.shape[0]) != size:
        h, w = img.shape
        even = img[: h - h % 2, : w - w % 2]
        img = cast("NDArray[np.uint8]", cv2.resize(even, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
        if img.shape[1] < size[0] or img.shape[0] < size[1]:
            raise ValueError(f"{size} is not a halving of the image")
    return img


@dataclass(frozen=True, slots=True, eq=False)
class SegmentFeatures:
    """What the along-segment checks need of one frame (arrays are private to the analysis; do
    not mutate). The seam analysis uses the richer ``FrameFeatures``."""

    gray: NDArray[np.uint8]
    """Grayscale at ¼ size: frozen detection (and pHash)."""
    ssim: SsimStats
    """The per-frame SSIM terms of the SSIM image (``geometry.ssim``: ``gray`` itself, or the ⅛
    size for large frames), so a pair costs one blur, not five."""
    motion_gray: NDArray[np.uint8]
    """Grayscale at ``geometry.motion`` size (⅛, or half that), normalised to mean 128 / std 48:
    optical flow."""
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


def normalised(gray: NDArray[np.uint8]) -> NDArray[np.uint8]:
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
    rgb = frame if (frame.shape[1], frame.shape[0]) == geometry.full else area(frame, geometry.full)
    # One area-resize of the full frame; everything else comes from the half-size copy (cheap).
    half_rgb = area(rgb, geometry.half)
    half = cast("NDArray[np.uint8]", cv2.cvtColor(half_rgb, cv2.COLOR_RGB2GRAY))
    quarter = area(half, geometry.quarter)
    eighth = area(quarter, geometry.eighth)
    if halvings(geometry):
        # Exact halvings (1080p, 512², …): two 2x area steps average the same 4x4 blocks as one
        # 4x step, within one 8-bit level of rounding, at a third of the cost.
        small_rgb = area(area(half_rgb, geometry.quarter), geometry.eighth)
    else:  # e.g. 320 px frames, whose ⅛ size is held at MIN_SIDE: one area-resize
        small_rgb = area(half_rgb, geometry.eighth)
    return half, quarter, eighth, small_rgb


def _sharpness(half: NDArray[np.uint8]) -> float:
    # int16 holds the 3x3 Laplacian of uint8 exactly (|value| <= 1020), and is cheaper than float32.
    # Its variance from the sum and the sum of squares (exact in float64 at these sizes):
    # cv2.meanStdDev on int16 has no SIMD path and took 0.35 ms at 960x540, these take 0.03 ms.
    lap = cv2.Laplacian(half, cv2.CV_16S, dst=scratch("frames.laplacian", half.shape, np.int16))
    n = float(lap.size)
    mean = cv2.sumElems(lap)[0] / n
    lap_var = max(0.0, cv2.norm(lap, cv2.NORM_L2SQR) / n - mean * mean)
    _, gray_std = cv2.meanStdDev(half)
    return lap_var / (float(gray_std[0, 0]) ** 2 + SHARPNESS_EPS)


def _lab(small_rgb: Frame) -> NDArray[np.float32]:
    unit = scratch("frames.unit_rgb", small_rgb.shape, np.float32)
    np.multiply(small_rgb, np.float32(1.0 / 255.0), out=unit, dtype=np.float32)  # = astype * (1/255)
    return cast("NDArray[np.float32]", cv2.cvtColor(unit, cv2.COLOR_RGB2LAB))


def extract_segment(frame: Frame | YuvFrame, geometry: AnalysisGeometry) -> SegmentFeatures:
    """The along-segment features of one frame: the same values as ``extract`` gives for them,
    without the colour statistics and pHash (frames of another size are resized)."""
    if isinstance(frame, YuvFrame):
        half, quarter, eighth = reduce_yuv(frame, geometry)
        percentiles = lstar_percentiles(eighth)
    else:
        half, quarter, eighth, small_rgb = _reduce(frame, geometry)
        percentiles = _percentiles(_lab(small_rgb)[..., 0])
    stats, motion, sharpness = _shared(half, quarter, eighth, geometry)
    return SegmentFeatures(quarter, stats, motion, percentiles, sharpness)


def extract(frame: Frame | YuvFrame, geometry: AnalysisGeometry) -> FrameFeatures:
    """Reduce one frame to its features at ``geometry`` (as ``extract_segment``, plus colour and
    pHash)."""
    if isinstance(frame, YuvFrame):
        half, quarter, eighth = reduce_yuv(frame, geometry)
        small_rgb = small_rgb_yuv(frame, eighth, geometry)
        percentiles = lstar_percentiles(eighth)
    else:
        half, quarter, eighth, small_rgb = _reduce(frame, geometry)
        percentiles = None
    lab = _lab(small_rgb)
    mean = cv2.mean(lab)
    lab8 = cv2.cvtColor(small_rgb, cv2.COLOR_RGB2LAB)
    hist = cast("NDArray[np.float32]", cv2.calcHist([lab8], [0, 1, 2], None, [_HIST_BINS] * 3, [0, 256] * 3))
    cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)
    stats, motion, sharpness = _shared(half, quarter, eighth, geometry)
    return FrameFeatures(
        gray=quarter,
        ssim=stats,
        motion_gray=motion,
        luma_percentiles=percentiles or _percentiles(lab[..., 0]),
        sharpness=sharpness,
        lab=lab,
        lab_mean=(float(mean[0]), float(mean[1]), float(mean[2])),
        histogram=hist,
        phash=_phash(quarter, eighth),
    )


def _shared(
    half: NDArray[np.uint8],
    quarter: NDArray[np.uint8],
    eighth: NDArray[np.uint8],
    geometry: AnalysisGeometry,
) -> tuple[SsimStats, NDArray[np.uint8], float]:
    """SSIM terms, the normalised optical-flow image and the sharpness, from the reduced grays."""
    ssim_image = quarter if geometry.ssim == geometry.quarter else _halve_to(eighth, geometry.ssim)
    return ssim_stats(ssim_image), normalised(_halve_to(eighth, geometry.motion)), _sharpness(half)


def rgb_of(frame: Frame | YuvFrame) -> Frame:
    """An RGB uint8 frame (YUV frames converted with their own matrix and range)."""
    return frame.to_rgb() if isinstance(frame, YuvFrame) else frame


def _phash(quarter: NDArray[np.uint8], eighth: NDArray[np.uint8]) -> int:
    """``phash(quarter)``, starting from the ⅛ size when that is the first halving phash does
    itself (the same INTER_AREA step, so the same hash)."""
    h, w = quarter.shape
    if min(h, w) >= 256 and eighth.shape == (h // 2, w // 2):
        return phash(eighth)
    return phash(quarter)
