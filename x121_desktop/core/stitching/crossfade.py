"""Overlap crossfades between the tail of segment N and the head of N+1.

The k tail frames of N and the k head frames of N+1 are treated as the same k moments and
blended into k frames, so the joined clip is k frames shorter than the two segments laid
end to end. Blending happens in one of three spaces (after KJNodes ImageBatchExtendWithOverlap):

* `srgb`: straight on the encoded values (cheapest, darkens mid-blend);
* `linear`: in linear light using the exact sRGB transfer curve (physically a dissolve);
* `lab`: in CIE Lab (perceptually even; keeps skin tones from greying).

Weights ramp from N to N+1: w_i = (i + 1) / (k + 1), optionally eased with smoothstep.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.stitching.colour import Frame, from_lab, to_lab

F32 = npt.NDArray[np.float32]


class BlendSpace(enum.Enum):
    SRGB = "srgb"
    LINEAR = "linear"
    LAB = "lab"


class BlendCurve(enum.Enum):
    LINEAR = "linear"
    SMOOTHSTEP = "smoothstep"


_LEVELS = np.arange(256, dtype=np.float64) / 255.0
_DECODE = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4).astype(np.float32)


def srgb_to_linear(frame: Frame) -> F32:
    return np.asarray(_DECODE[frame], dtype=np.float32)


def linear_to_srgb(linear: F32) -> Frame:
    x = np.clip(linear, 0.0, 1.0)
    encoded = np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)
    return np.asarray(np.clip(np.rint(encoded * 255.0), 0, 255), dtype=np.uint8)


def blend_weights(k: int, curve: BlendCurve = BlendCurve.LINEAR) -> tuple[float, ...]:
    """Weight of N+1 in each of the k blended frames (strictly between 0 and 1, rising)."""
    ts = [(i + 1) / (k + 1) for i in range(k)]
    if curve is BlendCurve.SMOOTHSTEP:
        ts = [t * t * (3.0 - 2.0 * t) for t in ts]
    return tuple(ts)


def blend(a: Frame, b: Frame, weight: float, space: BlendSpace) -> Frame:
    """(1 - weight) * a + weight * b in the chosen space."""
    if space is BlendSpace.SRGB:
        mixed = (1.0 - weight) * a.astype(np.float32) + weight * b.astype(np.float32)
        return np.asarray(np.clip(np.rint(mixed), 0, 255), dtype=np.uint8)
    if space is BlendSpace.LINEAR:
        return linear_to_srgb((1.0 - weight) * srgb_to_linear(a) + weight * srgb_to_linear(b))
    return from_lab((1.0 - weight) * to_lab(a) + weight * to_lab(b))


def crossfade(
    tail: Sequence[Frame],
    head: Sequence[Frame],
    space: BlendSpace = BlendSpace.LINEAR,
    curve: BlendCurve = BlendCurve.LINEAR,
) -> list[Frame]:
    """Blend k tail frames of N with k head frames of N+1 into k frames."""
    if len(tail) != len(head) or not tail:
        raise InvalidInput(
            f"A crossfade needs the same number of tail and head frames, got {len(tail)} and {len(head)}",
            "Pass k >= 1 frames from each side.",
        )
    for a, b in zip(tail, head, strict=True):
        if a.shape != b.shape:
            raise InvalidInput(
                f"Frames of size {a.shape[1]}x{a.shape[0]} and {b.shape[1]}x{b.shape[0]} cannot be blended",
                "Conform both segments to one size first.",
            )
    weights = blend_weights(len(tail), curve)
    return [blend(a, b, w, space) for a, b, w in zip(tail, head, weights, strict=True)]


def join_with_crossfade(
    first: Sequence[Frame],
    second: Sequence[Frame],
    k: int,
    space: BlendSpace = BlendSpace.LINEAR,
    curve: BlendCurve = BlendCurve.LINEAR,
) -> list[Frame]:
    """N[:-k] + crossfade(N[-k:], N+1[:k]) + N+1[k:]: len(N) + len(N+1) - k frames."""
    if not 1 <= k <= min(len(first), len(second)):
        raise InvalidInput(
            f"A {k}-frame crossfade does not fit segments of {len(first)} and {len(second)} frames",
            "Use a shorter crossfade.",
        )
    mixed = crossfade(first[len(first) - k :], second[:k], space, curve)
    return [*first[: len(first) - k], *mixed, *second[k:]]
