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
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.stitching.buffers import scratch

_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
_SIGMA = 1.5
# scikit-image's window for gaussian_weights=True: int(2 * truncate(3.5) * sigma + 0.5) -> 11.
_WINDOW = 11
_CROP = (_WINDOW - 1) // 2
_KERNEL = cv2.getGaussianKernel(_WINDOW, _SIGMA, cv2.CV_32F)


type Gray = NDArray[np.uint8] | NDArray[np.float32]


def _blur(x: Gray, dst: NDArray[np.float32]) -> NDArray[np.float32]:
    """The Gaussian window as two 1-D passes into ``dst`` (float32). ``cv2.sepFilter2D`` with the
    kernel ``GaussianBlur`` builds gives bit-identical results, and reads uint8 directly."""
    cv2.sepFilter2D(x, cv2.CV_32F, _KERNEL, _KERNEL, dst=dst, borderType=cv2.BORDER_REFLECT)
    return dst


@dataclass(frozen=True, slots=True, eq=False)
class SsimStats:
    """The per-image half of SSIM: the image (uint8 as given, else float32) and its local mean /
    variance terms.

    ``luminance`` is mu² + C1/2 and ``contrast`` is sigma² + C2/2, so the SSIM denominator of a
    pair is (luminance_a + luminance_b) * (contrast_a + contrast_b). Do not mutate the arrays.
    """

    x: Gray
    mu: NDArray[np.float32]
    luminance: NDArray[np.float32]
    contrast: NDArray[np.float32]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape)


def ssim_stats(a: NDArray[np.generic]) -> SsimStats:
    """Precompute the per-image SSIM terms of grayscale ``a`` (uint8 or float on 0..255);
    uint8 input is kept by reference (do not mutate it)."""
    if a.ndim != 2:
        raise ValueError(f"ssim needs a grayscale image, got shape {a.shape}")
    x = cast("Gray", a if a.dtype == np.uint8 else a.astype(np.float32, copy=False))
    shape = (int(x.shape[0]), int(x.shape[1]))
    mu = _blur(x, np.empty(shape, np.float32))
    luminance = np.empty(shape, np.float32)
    cv2.multiply(mu, mu, dst=luminance)
    # x² of uint8 is exact in float32 (<= 65025), as is x * x of float32 input.
    squares = scratch("ssim.squares", shape, np.float32)
    cv2.multiply(x, x, dst=squares, dtype=cv2.CV_32F)
    contrast = _blur(squares, np.empty(shape, np.float32))
    np.subtract(contrast, luminance, out=contrast)  # sigma² = E[x²] - mu²
    np.add(contrast, np.float32(_C2 / 2), out=contrast)
    np.add(luminance, np.float32(_C1 / 2), out=luminance)
    return SsimStats(x, mu, luminance, contrast)


def _ssim_map_into(a: SsimStats, b: SsimStats, crop: int) -> NDArray[np.float32]:
    """The SSIM map of the pair (its central part, ``crop`` pixels in from each edge) in scratch
    memory: valid until the next call on this thread. Ten element-wise passes and one blur."""
    if a.shape != b.shape:
        raise ValueError(f"ssim needs two grayscale images of one shape, got {a.shape} and {b.shape}")
    h, w = a.shape
    full = (h, w)
    xa, xb = (a.x, b.x) if a.x.dtype == b.x.dtype else (a.x.astype(np.float32), b.x.astype(np.float32))
    products = scratch("ssim.products", full, np.float32)
    cv2.multiply(xa, xb, dst=products, dtype=cv2.CV_32F)
    e_xy = _blur(products, scratch("ssim.e_xy", full, np.float32))
    inner = (slice(crop, h - crop), slice(crop, w - crop))
    shape = (h - 2 * crop, w - 2 * crop)
    num = scratch("ssim.num", shape, np.float32)
    den = scratch("ssim.den", shape, np.float32)
    tmp = scratch("ssim.tmp", shape, np.float32)
    # num = (2 mu_a mu_b + C1)(2 cov + C2) = 4 (mu_a mu_b + C1/2)(cov + C2/2), in the same float32
    # steps as the per-image terms, so an image compared with itself gives exactly 1.
    cv2.multiply(a.mu[inner], b.mu[inner], dst=num)  # mu_a mu_b
    cv2.subtract(e_xy[inner], num, dst=tmp)  # cov
    np.add(tmp, np.float32(_C2 / 2), out=tmp)
    np.add(num, np.float32(_C1 / 2), out=num)
    cv2.multiply(num, tmp, dst=num, scale=4.0)
    cv2.add(a.luminance[inner], b.luminance[inner], dst=den)
    cv2.add(a.contrast[inner], b.contrast[inner], dst=tmp)
    cv2.multiply(den, tmp, dst=den)
    cv2.divide(num, den, dst=num)
    return num


def _crop_of(shape: tuple[int, ...]) -> int:
    h, w = shape
    return _CROP if h > 2 * _CROP and w > 2 * _CROP else 0


def ssim_map(a: NDArray[np.generic], b: NDArray[np.generic]) -> NDArray[np.float32]:
    """Per-pixel SSIM of two same-shape grayscale images on a 0..255 scale."""
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim needs two grayscale images of one shape, got {a.shape} and {b.shape}")
    return _ssim_map_into(ssim_stats(a), ssim_stats(b), 0).copy()


def ssim_from_stats(a: SsimStats, b: SsimStats) -> float:
    """Mean SSIM from two images' precomputed ``ssim_stats`` (same value as ``ssim``): the mean
    over the map without its ``(win_size - 1) // 2`` border, as scikit-image crops it."""
    return float(cv2.mean(_ssim_map_into(a, b, _crop_of(a.shape)))[0])  # float64 accumulation


def ssim(a: NDArray[np.generic], b: NDArray[np.generic]) -> float:
    """Mean SSIM of two same-shape grayscale images (uint8 or float on 0..255); 1.0 = identical."""
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim needs two grayscale images of one shape, got {a.shape} and {b.shape}")
    return ssim_from_stats(ssim_stats(a), ssim_stats(b))
