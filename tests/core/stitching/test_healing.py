"""Healing ladder: colour/exposure matching, crossfades, and the ladder on the defect set."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from tests.media_factory import photo_frames
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.stitching.colour import (
    ColourMethod,
    apply_transfer,
    fit_transfer,
    lab_stats,
    match_segment,
    strength_at,
    to_lab,
)
from x121_desktop.core.stitching.crossfade import (
    BlendCurve,
    BlendSpace,
    blend,
    blend_weights,
    crossfade,
    join_with_crossfade,
    linear_to_srgb,
    srgb_to_linear,
)

SIZE = (128, 96)


def _shifted(frame: np.ndarray, gain: float, tint: tuple[float, float, float]) -> np.ndarray:
    out = frame.astype(np.float32) * gain + np.asarray(tint, dtype=np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def _mean_delta_e(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(to_lab(a) - to_lab(b), axis=2).mean())


@pytest.mark.parametrize("method", list(ColourMethod))
def test_transfer_undoes_a_colour_shift_on_every_frame(method: ColourMethod) -> None:
    clean = photo_frames(6, SIZE, stripe=False)
    shifted = [_shifted(f, 0.8, (12.0, -6.0, -4.0)) for f in clean]  # no clipping: invertible
    transfer = fit_transfer(clean[:1], shifted[:1], method)
    fixed = match_segment(shifted, transfer)
    for c, s, f in zip(clean, shifted, fixed, strict=True):
        before, after = _mean_delta_e(c, s), _mean_delta_e(c, f)
        assert after < before / 5, (method, before, after)


def test_reinhard_matches_lab_statistics() -> None:
    clean = photo_frames(1, SIZE, photo_name="coffee", stripe=False)
    dark = [_shifted(clean[0], 0.55, (0.0, 0.0, 0.0))]
    transfer = fit_transfer(clean, dark, ColourMethod.REINHARD)
    got = lab_stats([apply_transfer(dark[0], transfer)])
    want = lab_stats(clean)
    assert got.mean[0] == pytest.approx(want.mean[0], abs=1.5)
    assert got.std[0] == pytest.approx(want.std[0], rel=0.08)


def test_strength_zero_is_identity_and_decay_fades() -> None:
    clean = photo_frames(1, SIZE, stripe=False)
    shifted = [_shifted(clean[0], 0.8, (0.0, 10.0, 0.0))]
    transfer = fit_transfer(clean, shifted, ColourMethod.HISTOGRAM)
    assert apply_transfer(shifted[0], transfer, 0.0) is shifted[0]
    assert [strength_at(i, 1.0, 4) for i in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert strength_at(50, 0.7, None) == 0.7
    half = apply_transfer(shifted[0], transfer, 0.5)
    full = apply_transfer(shifted[0], transfer, 1.0)
    assert _mean_delta_e(clean[0], full) < _mean_delta_e(clean[0], half) < _mean_delta_e(clean[0], shifted[0])


def test_transfer_rejects_non_rgb_frames() -> None:
    gray = np.zeros((8, 8), dtype=np.uint8)
    with pytest.raises(InvalidInput, match="not an RGB image"):
        fit_transfer([gray], [gray], ColourMethod.REINHARD)


def test_srgb_linear_round_trip_is_exact() -> None:
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    assert np.array_equal(linear_to_srgb(srgb_to_linear(levels)), levels)
    # Linear-light midpoint of black and white is brighter than the sRGB midpoint.
    black, white = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)
    assert blend(black, white, 0.5, BlendSpace.LINEAR)[0, 0, 0] == 188
    assert blend(black, white, 0.5, BlendSpace.SRGB)[0, 0, 0] == 128


def test_blend_weights_rise_strictly_inside_zero_one() -> None:
    for curve in BlendCurve:
        w = blend_weights(5, curve)
        assert all(0 < a < b < 1 for a, b in itertools.pairwise(w))
    assert blend_weights(3) == (0.25, 0.5, 0.75)


def _level(frame: np.ndarray, space: BlendSpace) -> float:
    """Mean brightness measured in the space the blend works in."""
    if space is BlendSpace.LINEAR:
        return float(srgb_to_linear(frame).mean())
    if space is BlendSpace.LAB:
        return float(to_lab(frame)[..., 0].mean())
    return float(frame.mean())


@pytest.mark.parametrize("space", list(BlendSpace))
def test_crossfade_spreads_a_jump_over_k_frames(space: BlendSpace) -> None:
    a = photo_frames(10, SIZE, stripe=False)
    b = [_shifted(f, 1.4, (0.0, 0.0, 0.0)) for f in photo_frames(10, SIZE, stripe=False)]
    joined = join_with_crossfade(a, b, 4, space)
    assert len(joined) == 16
    assert joined[5] is a[5]
    assert joined[10] is b[4]
    levels = [_level(f, space) for f in joined[5:11]]
    jump = levels[-1] - levels[0]
    steps = [y - x for x, y in itertools.pairwise(levels)]
    # Five even steps of a fifth of the jump each (the pan adds a little), all upward.
    assert all(0 < st < jump * 0.35 for st in steps), (steps, jump)


def test_crossfade_errors_are_sentences() -> None:
    a = photo_frames(3, SIZE, stripe=False)
    with pytest.raises(InvalidInput, match="same number"):
        crossfade(a[:2], a[:1])
    with pytest.raises(InvalidInput, match="does not fit"):
        join_with_crossfade(a, a, 4)
    small = [cv2.resize(f, (64, 48)) for f in a]
    with pytest.raises(InvalidInput, match="cannot be blended"):
        crossfade(a[:1], small[:1])
