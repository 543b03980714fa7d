"""64-bit perceptual hash (DCT pHash) and Hamming distance, with OpenCV only.

The frame is reduced to 32x32 grayscale (INTER_AREA), transformed with a 2-D DCT, and
the top-left 8x8 low-frequency block (DC excluded from the median) is thresholded at its
median: bit = coefficient > median. This is the classic pHash also used by imagehash,
at ~0.1 ms per frame instead of 1-9 ms (PLATFORM.md). The hash is an ``int`` in
0..2**64-1 so it maps to PostgreSQL ``bit(64)`` and pgvector's Hamming operator.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

HASH_BITS = 64


def phash(image: NDArray[np.uint8]) -> int:
    """The 64-bit pHash of an RGB (HxWx3) or grayscale (HxW) uint8 image."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    h, w = gray.shape[:2]
    # Pre-shrink big frames so INTER_AREA does not average a 1080p frame in one pass.
    while min(h, w) >= 256:
        gray = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        h, w = gray.shape[:2]
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    dct = cv2.dct(small)[:8, :8]
    flat = dct.flatten()
    median = float(np.median(flat[1:]))
    bits = flat > median
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes (0 = same, 64 = opposite)."""
    return (a ^ b).bit_count()
