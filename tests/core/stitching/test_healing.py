"""Healing ladder: colour/exposure matching, crossfades, and the ladder on the defect set."""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest

from tests.media_factory import photo_frames
from tests.seam_fixtures import PHOTOS, Defect, SeamCase, animate, default_path, lab_shift, make_case, photo, seed_a
from x121_desktop.cli.output import to_jsonable
from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.errors import Cancelled, InvalidInput
from x121_desktop.core.likeness import IdentityReference, reference_from_image
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
from x121_desktop.core.stitching.healing import HealRequest, HealVerdict, RemedyKind, heal_seam
from x121_desktop.core.stitching.score import Grade

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


# ------------------------------------------------------------------ the ladder on the defect set

HEALABLE = (Defect.COLOUR, Defect.EXPOSURE_UP, Defect.EXPOSURE_DOWN)


@pytest.fixture(scope="module")
def seed_ref() -> IdentityReference:
    return reference_from_image(seed_a())


def _ref_for(case: SeamCase, seed_ref: IdentityReference) -> IdentityReference | None:
    return seed_ref if case.photo == "astronaut" else None


def test_healer_fixes_every_colour_and_exposure_defect(seed_ref: IdentityReference) -> None:
    rows = []
    for case in (make_case(p, d) for p in PHOTOS for d in HEALABLE):
        result = heal_seam(HealRequest(case.tail, case.head, boundary=3, reference=_ref_for(case, seed_ref)))
        r = result.report
        rows.append(f"{case.name:26s} {r.grade_before.value:>5s} -> {r.grade_after.value:5s} {r.remedy}")
        assert r.grade_before is not Grade.GREEN, case.name  # the fixture really is a defect
        assert r.verdict is HealVerdict.HEALED, (case.name, r.reason, [a.reasons_after for a in r.attempts])
        assert r.grade_after is Grade.GREEN, case.name
        assert r.after.grade is Grade.GREEN
        assert r.score_after > r.score_before
        assert r.applied[0].remedy is RemedyKind.COLOUR_MATCH
        assert r.applied[-1].passed
        assert r.regenerate_boundary is None
        assert len(result.tail) + len(result.head) == len(case.tail) + len(case.head) - (
            r.applied[-1].parameters["frames"] if r.applied[-1].remedy is RemedyKind.CROSSFADE else 0
        )
    print("\nhealer on colour/exposure defects:\n" + "\n".join(rows))


@pytest.mark.parametrize(("photo_name", "defect"), [("astronaut", Defect.CLEAN), ("coffee", Defect.CLEAN_DUPLICATE),
                                                    ("astronaut", Defect.IDENTITY_CONTROL)])  # fmt: skip
def test_healer_leaves_clean_seams_alone(photo_name: str, defect: Defect, seed_ref: IdentityReference) -> None:
    case = make_case(photo_name, defect)
    result = heal_seam(HealRequest(case.tail, case.head, reference=_ref_for(case, seed_ref)))
    assert result.report.verdict is HealVerdict.CLEAN
    assert result.report.remedy == "none"
    assert result.report.attempts == ()
    assert result.tail is case.tail
    assert result.head is case.head


@pytest.mark.parametrize(
    ("photo_name", "defect", "variant", "why"),
    [
        ("astronaut", Defect.IDENTITY, 0, "face changed"),
        ("astronaut", Defect.IDENTITY, 2, "face changed"),
        ("astronaut", Defect.JUMP, 0, "picture jumps"),
        ("chelsea", Defect.ZOOM, 0, "picture jumps"),
        ("coffee", Defect.FROZEN, 0, "stalls"),
    ],
)
def test_healer_asks_for_regeneration_when_it_cannot_fix(
    photo_name: str, defect: Defect, variant: int, why: str, seed_ref: IdentityReference
) -> None:
    case = make_case(photo_name, defect, variant)
    result = heal_seam(HealRequest(case.tail, case.head, boundary=5, reference=_ref_for(case, seed_ref)))
    r = result.report
    assert r.verdict is HealVerdict.NEEDS_REGENERATION
    assert r.regenerate_boundary == 5
    assert r.reason.startswith("boundary 5 needs regeneration")
    assert why in r.reason
    assert r.applied == ()
    assert result.head is case.head  # nothing was changed


def test_blur_climbs_the_whole_ladder_then_needs_regeneration() -> None:
    case = make_case("chelsea", Defect.BLUR)
    r = heal_seam(HealRequest(case.tail, case.head, crossfade_frames=(4,))).report
    assert r.verdict is HealVerdict.NEEDS_REGENERATION
    assert [a.remedy for a in r.attempts] == [RemedyKind.COLOUR_MATCH, RemedyKind.COLOUR_MATCH, RemedyKind.CROSSFADE]
    assert not any(a.passed for a in r.attempts)
    assert "no colour match or crossfade" in r.reason


def _overlapped(name: str, overlap: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Segment N+1 generated over N's last `overlap` frames, 12 % brighter (an exposure flash)."""
    img, path = photo(name), default_path(name)
    tail = tuple(animate(img, path, 0, 20))
    head = tuple(lab_shift(f, 1.12) for f in animate(img, path, 20 - overlap, 20))
    return tail, head


@pytest.mark.parametrize("space", list(BlendSpace))
def test_crossfade_rung_heals_an_overlapping_exposure_jump(space: BlendSpace) -> None:
    tail, head = _overlapped("chelsea", 8)
    result = heal_seam(HealRequest(tail, head, overlap=8, methods=(), crossfade_frames=(4, 8), blend_space=space))
    r = result.report
    assert r.grade_before is not Grade.GREEN
    assert r.verdict is HealVerdict.HEALED
    assert r.remedy == "crossfade"
    assert dict(r.applied[0].parameters) == {"frames": 4, "space": space.value, "curve": "linear"}
    assert r.grade_after is Grade.GREEN
    assert len(result.tail) == 16
    assert len(result.head) == 16  # 4 blended + the 12 frames after the overlap


def test_colour_match_decay_and_progress_and_cancel() -> None:
    case = make_case("rocket", Defect.COLOUR)
    calls: list[tuple[float, float, str]] = []
    result = heal_seam(
        HealRequest(case.tail, case.head, decay_frames=40, strength=1.0),
        progress=lambda done, total, msg="": calls.append((done, total, msg)),
    )
    params = result.report.applied[0].parameters
    assert params["decay_frames"] == 40
    assert calls[0][2] == "scoring the seam"
    assert any("colour match" in c[2] for c in calls)
    # The correction fades: later frames are closer to the original head than early ones.
    early = float(np.abs(result.head[0].astype(int) - case.head[0].astype(int)).mean())
    late = float(np.abs(result.head[-1].astype(int) - case.head[-1].astype(int)).mean())
    assert late < early
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        heal_seam(HealRequest(case.tail, case.head), cancel=token)


def test_heal_report_is_plain_json() -> None:
    case = make_case("coffee", Defect.EXPOSURE_DOWN)
    report = heal_seam(HealRequest(case.tail, case.head)).report
    data = json.loads(json.dumps(to_jsonable(report)))
    assert data["verdict"] == "healed"
    assert data["applied"][0]["remedy"] == "colour_match"
    assert data["applied"][0]["parameters"]["method"] in ("reinhard", "histogram")
    assert data["before"]["grade"] != "green"
    assert data["after"]["grade"] == "green"


def test_heal_rejects_empty_sides() -> None:
    case = make_case("coffee", Defect.CLEAN)
    with pytest.raises(InvalidInput, match="frames on both sides"):
        heal_seam(HealRequest(case.tail, ()))
