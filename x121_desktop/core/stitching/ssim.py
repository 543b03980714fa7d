"""Structural similarity (SSIM) with OpenCV Gaussian filters.

This is the Wang et al. (2004) formulation with an 11-tap Gaussian window (sigma 1.5),
K1 = 0.01, K2 = 0.03 and population (not sample) covariance. It is the same
definition as ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255)``; a test checks the two
agree to 1e-3. cv2 filtering is 5-10x faster than scikit-image (see PLATFORM.md).

Border handling differs: cv2 reflects the border and averages the whole map, while
scikit-image crops ``(win_size - 1) // 2`` pixels before averaging. We crop the same
margin, so the means agree.

Of the five Gaussian blurs in one SSIM, four depend on one image only (its mean and its
variance). ``ssim_stats`` computes them once per image, so comparing a stream of frames pair by
pair (frame i with i+1) costs one blur per pair instead of five: ``ssim_from_stats``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
_SIGMA = 1.5
# scikit-image's window for gaussian_weights=True: int(2 * truncate(3.5) * sigma + 0.5) -> 11.
_WINDOW = 11
_CROP = (_WINDOW - 1) // 2


def _blur(x: NDArray[np.float32]) -> NDArray[np.float32]:
    return cv2.GaussianBlur(x, (_WINDOW, _WINDOW), _SIGMA, borderType=cv2.BORDER_REFLECT)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True, eq=False)
class SsimStats:
    """The per-image half of SSIM: the image as float32 and its local mean / variance terms.

    ``luminance`` is mu² + C1/2 and ``contrast`` is sigma² + C2/2, so the SSIM denominator of a
    pair is (luminance_a + luminance_b) * (contrast_a + contrast_b). Do not mutate the arrays.
    """

    x: NDArray[np.float32]
    mu: NDArray[np.float32]
    luminance: NDArray[np.float32]
    contrast: NDArray[np.float32]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape)


def ssim_stats(a: NDArray[np.generic]) -> SsimStats:
    """Precompute the per-image SSIM terms of grayscale ``a`` (uint8 or float on 0..255)."""
    if a.ndim != 2:
        raise ValueError(f"ssim needs a grayscale image, got shape {a.shape}")
    x = a.astype(np.float32, copy=False)
    mu = _blur(x)
    mu_sq = mu * mu
    var = _blur(x * x) - mu_sq
    luminance = mu_sq + np.float32(_C1 / 2)
    contrast = var + np.float32(_C2 / 2)
    return SsimStats(x, mu, luminance, contrast)


def _ssim_map_from_stats(a: SsimStats, b: SsimStats) -> NDArray[np.float32]:
    if a.shape != b.shape:
        raise ValueError(f"ssim needs two grayscale images of one shape, got {a.shape} and {b.shape}")
    mu_xy = a.mu * b.mu
    cov = _blur(a.x * b.x) - mu_xy
    num = (2.0 * mu_xy + np.float32(_C1)) * (2.0 * cov + np.float32(_C2))
    den = (a.luminance + b.luminance) * (a.contrast + b.contrast)
    return (num / den).astype(np.float32, copy=False)


def ssim_map(a: NDArray[np.generic], b: NDArray[np.generic]) -> NDArray[np.float32]:
    """Per-pixel SSIM of two same-shape grayscale images on a 0..255 scale."""
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim needs two grayscale images of one shape, got {a.shape} and {b.shape}")
    return _ssim_map_from_stats(ssim_stats(a), ssim_stats(b))


def _cropped_mean(full: NDArray[np.float32]) -> float:
    h, w = full.shape
    if h > 2 * _CROP and w > 2 * _CROP:
        full = full[_CROP : h - _CROP, _CROP : w - _CROP]
    return float(cv2.mean(full)[0])  # float64 accumulation, 2x cheaper than numpy's mean


def ssim_from_stats(a: SsimStats, b: SsimStats) -> float:
    """Mean SSIM from two images' precomputed ``ssim_stats`` (same value as ``ssim``)."""
    return _cropped_mean(_ssim_map_from_stats(a, b))


def ssim(a: NDArray[np.generic], b: NDArray[np.generic]) -> float:
    """Mean SSIM of two same-shape grayscale images (uint8 or float on 0..255); 1.0 = identical."""
    return _cropped_mean(ssim_map(a, b))
