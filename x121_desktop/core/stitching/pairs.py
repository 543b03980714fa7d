"""Cheap metrics between two frames (everything but identity), from per-frame features."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from x121_desktop.core.stitching.frames import AnalysisGeometry, Frame, FrameFeatures, extract
from x121_desktop.core.stitching.motion import flow_magnitude, mean_abs_difference
from x121_desktop.core.stitching.phash import hamming
from x121_desktop.core.stitching.ssim import ssim


@dataclass(frozen=True, slots=True)
class PairMetrics:
    """Every cheap metric between two frames a → b (no identity)."""

    ssim: float
    phash_distance: int
    delta_e_cast: float
    chroma_shift: float
    """ΔE76 between the mean colours on a*b* only (the L* part is graded as exposure)."""
    delta_e_pixels: float
    histogram_distance: float
    exposure_jump: float
    """Signed ΔL* with the largest magnitude among the 5th/50th/95th percentiles (+ = b brighter)."""
    difference: float
    """Mean absolute difference at ¼ size, 8-bit levels."""
    motion: float
    """Mean Farneback flow magnitude in full-size pixels (NaN when not computed)."""
    sharpness_a: float
    sharpness_b: float


def compare_features(
    a: FrameFeatures, b: FrameFeatures, geometry: AnalysisGeometry, *, motion: bool = True
) -> PairMetrics:
    """Pair metrics from already extracted features (same geometry)."""
    la, lb = np.asarray(a.lab_mean), np.asarray(b.lab_mean)
    diff = a.lab - b.lab
    delta_pixels = float(np.sqrt((diff * diff).sum(axis=2)).mean(dtype=np.float64))
    jumps = [pb - pa for pa, pb in zip(a.luma_percentiles, b.luma_percentiles, strict=True)]
    exposure = max(jumps, key=abs)
    scale = geometry.full[0] / geometry.eighth[0]
    return PairMetrics(
        ssim=ssim(a.gray, b.gray),
        phash_distance=hamming(a.phash, b.phash),
        delta_e_cast=float(np.linalg.norm(lb - la)),
        chroma_shift=float(np.linalg.norm(lb[1:] - la[1:])),
        delta_e_pixels=delta_pixels,
        histogram_distance=float(cv2.compareHist(a.histogram, b.histogram, cv2.HISTCMP_BHATTACHARYYA)),
        exposure_jump=float(exposure),
        difference=mean_abs_difference(a.gray, b.gray),
        motion=flow_magnitude(a.motion_gray, b.motion_gray, scale) if motion else math.nan,
        sharpness_a=a.sharpness,
        sharpness_b=b.sharpness,
    )


def compare_frames(a: Frame, b: Frame, *, motion: bool = True) -> PairMetrics:
    """Pair metrics between two frames (b is resized to a's size if they differ)."""
    geometry = AnalysisGeometry.for_frame(a)
    return compare_features(extract(a, geometry), extract(b, geometry), geometry, motion=motion)
