"""Colour/exposure matching of a segment to an anchor frame (the first rung of the healing ladder).

Frames are RGB uint8 arrays (H, W, 3), as decoded by core.media. A transfer is fitted once
(anchor vs the head of the new segment) and then applied to every frame of the segment, so
the whole segment moves together and nothing flickers. Two methods, as in KJNodes ColorMatch:

* `reinhard`: mean/std transfer per channel in CIE Lab (Reinhard et al. 2001).
* `histogram`: per-channel histogram matching of RGB via a 256-entry lookup table.

Strength blends between the original (0) and the full transfer (1); `decay_frames` lets the
correction fade out along the segment, hiding the seam while keeping the segment's own look later.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from x121_desktop.core.errors import InvalidInput

Frame = npt.NDArray[np.uint8]

# A channel whose spread shrank to almost nothing is not stretched by more than this (noise would
# blow up); shrinking is safe and may go much further (a colour cast on a grey picture: a*/b*
# spread must fall back to ~0).
MAX_STD_RATIO = 3.0
MIN_STD_RATIO = 0.02


class ColourMethod(enum.Enum):
    REINHARD = "reinhard"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class LabStats:
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class ColourTransfer:
    """A fitted transfer. `lut` is set for histogram matching, `scale`/`shift` (Lab) for Reinhard."""

    method: ColourMethod
    source: LabStats  # statistics of the frames it was fitted on
    target: LabStats  # statistics of the anchor
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lut: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None = None


def to_lab(frame: Frame) -> npt.NDArray[np.float32]:
    """RGB uint8 → Lab float32 (L 0..100, a/b about -128..127)."""
    rgb = frame.astype(np.float32) / 255.0
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab), dtype=np.float32)


def from_lab(lab: npt.NDArray[np.float32]) -> Frame:
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.asarray(np.clip(np.rint(rgb * 255.0), 0, 255), dtype=np.uint8)


def lab_stats(frames: Sequence[Frame]) -> LabStats:
    """Pooled Lab mean/std over the given frames."""
    _check_frames(frames, "fit a colour transfer")
    pixels = np.concatenate([to_lab(f).reshape(-1, 3) for f in frames], axis=0)
    mean = pixels.mean(axis=0)
    std = pixels.std(axis=0)
    return LabStats((float(mean[0]), float(mean[1]), float(mean[2])), (float(std[0]), float(std[1]), float(std[2])))


def fit_transfer(anchor: Sequence[Frame], source: Sequence[Frame], method: ColourMethod) -> ColourTransfer:
    """Fit the transfer that makes `source` frames look like the `anchor` frames."""
    target_stats = lab_stats(anchor)
    source_stats = lab_stats(source)
    if method is ColourMethod.REINHARD:
        scale = tuple(
            float(np.clip(t / s if s > 1e-6 else 1.0, MIN_STD_RATIO, MAX_STD_RATIO))
            for t, s in zip(target_stats.std, source_stats.std, strict=True)
        )
        shift = tuple(t - k * s for t, k, s in zip(target_stats.mean, scale, source_stats.mean, strict=True))
        return ColourTransfer(method, source_stats, target_stats, _triple(scale), _triple(shift))
    luts = tuple(_histogram_lut(anchor, source, ch) for ch in range(3))
    return ColourTransfer(method, source_stats, target_stats, lut=(luts[0], luts[1], luts[2]))


def apply_transfer(frame: Frame, transfer: ColourTransfer, strength: float = 1.0) -> Frame:
    """Apply a fitted transfer at `strength` (0: unchanged, 1: full)."""
    s = float(np.clip(strength, 0.0, 1.0))
    if s == 0.0:
        return frame
    if transfer.method is ColourMethod.REINHARD:
        lab = to_lab(frame)
        scale = np.asarray([1.0 + s * (k - 1.0) for k in transfer.scale], dtype=np.float32)
        shift = np.asarray([s * b for b in transfer.shift], dtype=np.float32)
        return from_lab(lab * scale + shift)
    assert transfer.lut is not None  # histogram transfers always carry their LUT
    lut = np.asarray(transfer.lut, dtype=np.float32)  # (3, 256)
    identity = np.arange(256, dtype=np.float32)
    blended = np.clip(np.rint(identity + s * (lut - identity)), 0, 255).astype(np.uint8)
    out = np.empty_like(frame)
    for ch in range(3):
        out[..., ch] = cv2.LUT(np.ascontiguousarray(frame[..., ch]), blended[ch])
    return out


def strength_at(index: int, strength: float, decay_frames: int | None) -> float:
    """Strength for frame `index` of the segment: constant, or fading linearly to 0 over `decay_frames`."""
    if decay_frames is None:
        return strength
    if decay_frames <= 0:
        return 0.0
    return strength * max(0.0, 1.0 - index / decay_frames)


def match_segment(
    frames: Sequence[Frame], transfer: ColourTransfer, strength: float = 1.0, decay_frames: int | None = None
) -> list[Frame]:
    """Apply one transfer to every frame of a segment (optionally decaying)."""
    return [apply_transfer(f, transfer, strength_at(i, strength, decay_frames)) for i, f in enumerate(frames)]


def _histogram_lut(anchor: Sequence[Frame], source: Sequence[Frame], channel: int) -> tuple[int, ...]:
    """LUT mapping source values so their CDF follows the anchor's (classic histogram specification)."""
    src_hist = sum(np.bincount(f[..., channel].ravel(), minlength=256) for f in source)
    ref_hist = sum(np.bincount(f[..., channel].ravel(), minlength=256) for f in anchor)
    src_cdf = np.cumsum(np.asarray(src_hist, dtype=np.float64))
    src_cdf /= src_cdf[-1]
    ref = np.asarray(ref_hist, dtype=np.float64)
    levels = np.flatnonzero(ref)  # only levels the anchor uses, so its CDF is strictly increasing
    ref_cdf = np.cumsum(ref[levels]) / ref.sum()
    # For each source level, the anchor level at the same cumulative share (interpolated).
    mapped = np.interp(src_cdf, ref_cdf, levels.astype(np.float64))
    return tuple(int(v) for v in np.clip(np.rint(mapped), 0, 255))


def _triple(values: tuple[float, ...]) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


def _check_frames(frames: Sequence[Frame], what: str) -> None:
    if len(frames) == 0:
        raise InvalidInput(f"No frames were given to {what}", "Pass at least one frame.")
    for f in frames:
        if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
            raise InvalidInput(
                f"A frame of shape {f.shape} and type {f.dtype} is not an RGB image", "Decode frames as rgb24."
            )
