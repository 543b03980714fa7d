"""Elastic duration: stopping-frame choice and the segment planner (hypothesis properties)."""

from __future__ import annotations

from fractions import Fraction

import cv2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.seam_fixtures import animate, chained_segments, default_path, photo, seed_a
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness import reference_from_image
from x121_desktop.core.stitching.duration import (
    ANY_COUNT,
    WAN_RULE,
    FrameCountRule,
    FrameMeasures,
    ModelLimits,
    PlanRequest,
    StopRequest,
    choose_stop_frame,
    frames_in,
    plan_segments,
)
from x121_desktop.core.stitching.elastic import choose_stop_for_frames, measures_from_segment
from x121_desktop.core.stitching.segment import analyze_segment

NTSC = Fraction(24000, 1001)
R16 = Fraction(16)


def _busy_segment(n: int) -> list[FrameMeasures]:
    return [FrameMeasures(motion=3.0 + (i % 3), sharpness=100.0, face_present=True, likeness=0.2) for i in range(n)]


def test_rule_lists_wan_counts() -> None:
    assert list(WAN_RULE.valid_between(30, 50)) == [33, 37, 41, 45, 49]
    assert WAN_RULE.is_valid(81)
    assert not WAN_RULE.is_valid(80)
    assert list(ANY_COUNT.valid_between(3, 5)) == [3, 4, 5]
    assert FrameCountRule(8, 1).describe() == "8n+1"


def test_seconds_become_exact_frames() -> None:
    assert frames_in(Fraction(3), NTSC, round_up=True) == 72  # 71.928… → 72
    assert frames_in(Fraction(5), NTSC, round_up=False) == 119  # 119.88 → 119
    req = StopRequest.from_seconds(tuple(_busy_segment(130)), NTSC, Fraction(3), Fraction(5))
    assert (req.min_frames, req.max_frames) == (72, 119)


def test_stop_frame_prefers_calm_sharp_face_frame_on_the_rule() -> None:
    measures = _busy_segment(90)
    # A calm, sharp, close-likeness stretch around index 64 (length 65 = 4*16+1).
    for i in (63, 64, 65):
        measures[i] = FrameMeasures(motion=0.1, sharpness=120.0, face_present=True, likeness=0.05)
    # A calm frame off the rule (length 62) must not win.
    for i in (60, 61, 62):
        measures[i] = FrameMeasures(motion=0.05, sharpness=130.0, face_present=True, likeness=0.04)
    choice = choose_stop_frame(StopRequest(tuple(measures), R16, min_frames=48, max_frames=80))
    assert WAN_RULE.is_valid(choice.length)
    assert (choice.frame, choice.length) == (64, 65)
    assert choice.duration == Fraction(65, 16)
    assert len(choice.candidates) == 3
    assert choice.candidates[0].score > choice.candidates[1].score
    assert any("motion 0.10" in r for r in choice.reasons)
    assert "face present" in choice.reasons


def test_stop_frame_avoids_frames_without_face_or_far_from_seed() -> None:
    measures = [FrameMeasures(motion=0.5, sharpness=100.0, face_present=True, likeness=0.1) for _ in range(50)]
    measures[44] = FrameMeasures(motion=0.0, sharpness=100.0, face_present=False)  # length 45: no face
    measures[40] = FrameMeasures(motion=0.0, sharpness=100.0, face_present=True, likeness=0.9)  # someone else
    choice = choose_stop_frame(StopRequest(tuple(measures), R16, min_frames=41, max_frames=49))
    assert choice.length == 49
    no_face = next(c for c in choice.candidates if c.length == 45)
    assert "no face detected" in no_face.reasons


def test_stop_frame_range_clipped_to_segment_and_errors_are_sentences() -> None:
    choice = choose_stop_frame(StopRequest(tuple(_busy_segment(40)), R16, min_frames=30, max_frames=200))
    assert choice.length <= 40
    assert WAN_RULE.is_valid(choice.length)
    with pytest.raises(InvalidInput, match="fits the rule 4n"):
        choose_stop_frame(StopRequest(tuple(_busy_segment(40)), R16, min_frames=34, max_frames=36))
    with pytest.raises(InvalidInput, match="no frames"):
        choose_stop_frame(StopRequest((), R16, min_frames=1, max_frames=5))


def test_plan_five_seconds_at_16fps_is_one_wan_segment() -> None:
    plan = plan_segments(PlanRequest.from_seconds(R16, Fraction(4), Fraction(5)))
    assert plan.count == 1
    assert plan.lengths[0] in (65, 69, 73, 77)
    assert plan.starts == (0,)


def test_plan_twenty_seconds_splits_evenly() -> None:
    plan = plan_segments(PlanRequest.from_seconds(R16, Fraction(19), Fraction(21)))
    assert plan.count == 4
    assert max(plan.lengths) - min(plan.lengths) <= 4
    assert plan.total_frames == sum(plan.lengths) - 3
    assert plan.starts == (0, plan.lengths[0] - 1, plan.lengths[0] + plan.lengths[1] - 2, plan.starts[3])
    assert 19 * 16 <= plan.total_frames <= 21 * 16


def test_plan_impossible_range_is_one_sentence() -> None:
    # With 4n+1 segments chained on one shared frame, every total is 1 mod 4.
    with pytest.raises(InvalidInput, match="adds up to 102-104 frames") as info:
        plan_segments(PlanRequest(R16, 102, 104))
    assert info.value.sentence.count(".") >= 1
    assert "\n" not in info.value.sentence


def test_limits_reject_huge_overlap() -> None:
    with pytest.raises(InvalidInput, match="third"):
        ModelLimits(min_frames=33, max_frames=81, overlap=20)


@st.composite
def _plan_cases(draw: st.DrawFn) -> tuple[PlanRequest, ModelLimits]:
    step = draw(st.sampled_from([1, 2, 4, 8]))
    offset = draw(st.integers(0, 3))
    rule = FrameCountRule(step, offset)
    min_frames = draw(st.integers(max(1, offset), 60))
    max_frames = draw(st.integers(min_frames + step, min_frames + 120))
    shortest = rule.valid_between(min_frames, max_frames)[0]
    overlap = draw(st.integers(0, shortest // 3))
    limits = ModelLimits(min_frames, max_frames, rule, overlap)
    lo = draw(st.integers(1, 1500))
    hi = draw(st.integers(lo, lo + draw(st.sampled_from([0, 3, 40, 400]))))
    return PlanRequest(R16, lo, hi, limits), limits


def _reachable(limits: ModelLimits, count: int, lo: int, hi: int) -> bool:
    valid = list(limits.rule.valid_between(limits.min_frames, limits.max_frames))
    totals = {0}
    for _ in range(count):
        totals = {t + v for t in totals for v in valid if t + v <= hi + count * limits.overlap}
    return any(lo <= t - (count - 1) * limits.overlap <= hi for t in totals)


@settings(max_examples=150, deadline=None)
@given(_plan_cases())
def test_plan_properties(case: tuple[PlanRequest, ModelLimits]) -> None:
    req, limits = case
    try:
        plan = plan_segments(req)
    except InvalidInput:
        # Only when no count up to the bound reaches the range (checked by brute force).
        for count in range(1, req.max_total // max(1, limits.min_frames - limits.overlap) + 2):
            if count * 200 > 4000:
                break
            assert not _reachable(limits, count, req.min_total, req.max_total)
        return
    assert all(limits.rule.is_valid(n) and limits.min_frames <= n <= limits.max_frames for n in plan.lengths)
    assert plan.total_frames == sum(plan.lengths) - limits.overlap * (plan.count - 1)
    assert req.min_total <= plan.total_frames <= req.max_total
    assert max(plan.lengths) - min(plan.lengths) <= limits.rule.step
    assert plan.starts[0] == 0
    assert all(b - a == n - limits.overlap for a, b, n in zip(plan.starts, plan.starts[1:], plan.lengths, strict=False))
    # Fewest seams: one segment fewer cannot reach the range.
    if plan.count > 1 and plan.count < 12:
        assert not _reachable(limits, plan.count - 1, req.min_total, req.max_total)


def test_stop_frame_on_real_frames_avoids_blurred_candidates() -> None:
    # 57 frames of a slow move over the astronaut portrait; every candidate stop frame (4n+1 lengths
    # from 33 to 57) is blurred except index 48, so the solver must stop there (length 49).
    img, path = photo("astronaut"), default_path("astronaut")
    frames = animate(img, path, 0, 57)
    for i in (32, 36, 40, 44, 52, 56):
        frames[i] = cv2.GaussianBlur(frames[i], (0, 0), 3)
    choice = choose_stop_for_frames(
        frames, R16, Fraction(2), Fraction(57, 16), reference=reference_from_image(seed_a())
    )
    assert (choice.frame, choice.length, choice.duration) == (48, 49, Fraction(49, 16))
    assert "face present" in choice.reasons
    assert any(r.startswith("likeness distance to Seed A 0.") for r in choice.reasons)
    assert choice.candidates[0].score > choice.candidates[1].score + 0.1


def test_measures_follow_the_segment_report() -> None:
    frames = chained_segments("coffee", 1, 9)[0]
    report = analyze_segment(frames, identity_every=4)
    measures = measures_from_segment(report)
    assert len(measures) == 9
    assert measures[0].motion == report.motion[0]
    assert measures[5].motion == report.motion[4]
    assert [m.sharpness for m in measures] == list(report.sharpness)
    assert all(m.face_present is False and m.likeness is None for m in measures)  # a coffee cup has no face
    unmeasured = measures_from_segment(analyze_segment(frames, identity_every=0))
    assert all(m.face_present is None for m in unmeasured)
