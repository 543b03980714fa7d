"""Seam-centric review, pure: the ±k window around a seam, transition ghosting, seam stepping.

A seam joins the last frame of take N (`left_count` frames) to the first of take N+1. The seam
clip plays ``left[L-k … L-1]`` then ``right[0 … k-1]``; the seam sits at clip frame
`SeamWindow.seam_frame` (the first frame of N+1). Ghosting lays the tail of N over the head of
N+1 at 50 %: clip frame ``seam_frame + i`` shows ``right[i]`` blended with ``left[L-k+i]``, so
the outgoing motion is visible as an onion skin where the new take starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Rgb = npt.NDArray[np.uint8]
DEFAULT_REACH = 12


@dataclass(frozen=True, slots=True)
class SeamWindow:
    left_count: int
    right_count: int
    k: int = DEFAULT_REACH

    def __post_init__(self) -> None:
        if self.left_count < 1 or self.right_count < 1 or self.k < 1:
            raise ValueError(f"a seam window needs frames on both sides and k ≥ 1, got {self}")

    @property
    def left(self) -> range:
        """Frames of take N in the clip (its last k)."""
        return range(max(0, self.left_count - self.k), self.left_count)

    @property
    def right(self) -> range:
        """Frames of take N+1 in the clip (its first k)."""
        return range(min(self.k, self.right_count))

    @property
    def seam_frame(self) -> int:
        """The clip frame where take N+1 begins."""
        return len(self.left)

    @property
    def length(self) -> int:
        return len(self.left) + len(self.right)

    def source_of(self, clip_frame: int) -> tuple[int, int]:
        """(side, source frame) of a clip frame: side 0 = take N, 1 = take N+1."""
        if not 0 <= clip_frame < self.length:
            raise IndexError(f"clip frame {clip_frame} is outside 0…{self.length - 1}")
        if clip_frame < self.seam_frame:
            return 0, self.left[clip_frame]
        return 1, self.right[clip_frame - self.seam_frame]

    def ghost_partner(self, clip_frame: int) -> int | None:
        """The frame of take N laid over a clip frame of take N+1 (None before the seam or past N's tail)."""
        side, frame = self.source_of(clip_frame)
        if side == 0:
            return None
        tail = self.left
        return tail[frame] if frame < len(tail) else None


def blend(over: Rgb, under: Rgb, opacity: float = 0.5) -> Rgb:
    """`over` at `opacity` on `under` (same shape), rounded to the nearest level."""
    if over.shape != under.shape:
        raise ValueError(f"cannot blend frames of shapes {over.shape} and {under.shape}")
    a = np.float32(opacity)
    mixed = over.astype(np.float32) * a + under.astype(np.float32) * (np.float32(1) - a)
    return np.asarray(np.clip(mixed + 0.5, 0, 255), dtype=np.uint8)


def step_seam(count: int, current: int | None, direction: int) -> int | None:
    """The seam index after (`direction` +1) or before (-1) `current` among `count` seams, clamped;
    from no seam, +1 goes to the first and -1 to the last. None when there are no seams."""
    if count <= 0:
        return None
    if current is None:
        return 0 if direction > 0 else count - 1
    return min(max(current + (1 if direction > 0 else -1), 0), count - 1)


def seam_after(positions: Sequence[int], take_position: int) -> int | None:
    """The index of the first seam at or after segment `take_position` (seams listed by left position)."""
    return next((i for i, p in enumerate(positions) if p >= take_position), None)
