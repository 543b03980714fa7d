"""Compare modes, pure numpy: A/B, wipe, difference, blend of two rgb24 frames.

    out = composite(a, b, CompareMode.WIPE, wipe=0.3)     # A left of 30 % of the width, B right
    out = composite(a, b, CompareMode.DIFFERENCE)         # |A - B| * gain (black where they agree)

B is fitted to A's size (nearest neighbour) when the two differ, so takes of different sizes
still compare pixel for pixel on A's grid.
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

Rgb = npt.NDArray[np.uint8]
DIFFERENCE_GAIN = 4


class CompareMode(enum.StrEnum):
    SIDE_BY_SIDE = "side_by_side"
    A = "a"
    B = "b"
    WIPE = "wipe"
    DIFFERENCE = "difference"
    BLEND = "blend"


def fit_to(b: Rgb, shape: tuple[int, ...]) -> Rgb:
    """`b` resampled (nearest neighbour) to `shape`'s height and width."""
    h, w = shape[:2]
    if b.shape[:2] == (h, w):
        return b
    ys = (np.arange(h) * b.shape[0] // h).clip(0, b.shape[0] - 1)
    xs = (np.arange(w) * b.shape[1] // w).clip(0, b.shape[1] - 1)
    return np.ascontiguousarray(b[ys][:, xs])


def composite(a: Rgb, b: Rgb, mode: CompareMode, *, wipe: float = 0.5, gain: int = DIFFERENCE_GAIN) -> Rgb:
    """The single picture a compare mode shows (SIDE_BY_SIDE is laid out by the grid, not composited: A)."""
    if mode in (CompareMode.A, CompareMode.SIDE_BY_SIDE):
        return a
    b = fit_to(b, a.shape)
    if mode is CompareMode.B:
        return b
    if mode is CompareMode.WIPE:
        x = round(min(max(wipe, 0.0), 1.0) * a.shape[1])
        out = b.copy()
        out[:, :x] = a[:, :x]
        return out
    if mode is CompareMode.DIFFERENCE:
        diff = np.abs(a.astype(np.int16) - b.astype(np.int16)) * gain
        return np.asarray(diff.clip(0, 255), dtype=np.uint8)
    mixed = (a.astype(np.uint16) + b.astype(np.uint16) + 1) // 2
    return np.asarray(mixed, dtype=np.uint8)
