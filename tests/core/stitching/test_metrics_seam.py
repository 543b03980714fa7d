"""SeamReport and SegmentReport behaviour: degraded results, bad input, curves, cancellation."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from tests.seam_fixtures import Defect, animate, chained_segments, default_path, lfw_face, make_case, seed_a, swap_face
from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.errors import Cancelled, InvalidInput
from x121_desktop.core.likeness import reference_from_image
from x121_desktop.core.stitching.metrics import analyze_seam, analyze_segment
from x121_desktop.core.stitching.score import DEFAULT_THRESHOLDS, Band, Grade, SeamMetric, SeamThresholds


def test_no_face_in_the_image_is_a_documented_degraded_result() -> None:
    tail, head = make_case("coffee", Defect.CLEAN).window()
    rep = analyze_seam(tail, head, reference=reference_from_image(seed_a()))
    assert rep.identity is not None
    assert rep.identity.distance is None
    assert rep.identity.reason.startswith("no face found in")
    assert rep.grade_of(SeamMetric.IDENTITY) is None
    assert rep.grade is Grade.GREEN
    assert any("no face found in" in r for r in rep.reasons)


def test_a_face_lost_at_the_cut_is_amber_with_its_reason() -> None:
    tail, _ = make_case("astronaut", Defect.CLEAN).window()
    _, head = make_case("coffee", Defect.CLEAN).window()
    rep = analyze_seam(tail, head)
    graded = rep.metric(SeamMetric.IDENTITY)
    assert graded is not None
    assert graded.grade is Grade.AMBER
    assert math.isnan(graded.value)
    assert "face was lost" in graded.detail
    assert rep.grade is Grade.RED  # a different photo is also a scene jump


def test_without_a_seed_the_head_is_compared_with_the_tail() -> None:
    case = make_case("astronaut", Defect.IDENTITY)
    rep = analyze_seam(*case.window())
    assert rep.identity is not None
    assert rep.identity.reference == "tail"
    assert rep.identity.across_distance is not None
    assert rep.identity.across_distance > 0.6
    assert rep.grade_of(SeamMetric.IDENTITY) is Grade.RED
    assert rep.identity.head_box is not None


def test_identity_can_be_skipped_and_thresholds_regraded() -> None:
    tail, head = make_case("chelsea", Defect.COLOUR).window()
    rep = analyze_seam(tail, head, identity=False)
    assert rep.identity is None
    assert rep.grade_of(SeamMetric.COLOUR) is Grade.RED
    lax = SeamThresholds(colour=Band(20.0, 40.0), histogram=Band(1.0, 2.0))
    relaxed = analyze_seam(tail, head, identity=False, thresholds=lax)
    assert relaxed.grade is Grade.GREEN
    assert relaxed.chroma_shift == pytest.approx(rep.chroma_shift)
    assert 0.75 < relaxed.score <= 1.0
    assert rep.score <= 0.4


def test_bands_grade_and_score_consistently() -> None:
    band = DEFAULT_THRESHOLDS.colour
    assert band.grade(0.0) is Grade.GREEN
    assert band.score(0.0) == 1.0
    assert band.grade(band.green_below) is Grade.AMBER
    assert band.score(band.green_below) == pytest.approx(0.75)
    assert band.grade(band.red_from) is Grade.RED
    assert band.score(band.red_from) == pytest.approx(0.40)
    assert band.score(100.0) == 0.0
    with pytest.raises(ValueError, match="green_below < red_from"):
        Band(2.0, 1.0)


def test_single_frame_sides_odd_sizes_and_mismatched_sizes_work() -> None:
    tail, head = make_case("rocket", Defect.CLEAN).window(1)
    rep = analyze_seam(tail, head, identity=False)
    assert rep.tail_frames == rep.head_frames == 1
    assert rep.grade is Grade.GREEN
    odd_tail = [f[:301, :299] for f in make_case("coffee", Defect.CLEAN).window()[0]]
    _, head = make_case("coffee", Defect.CLEAN).window()
    mixed = analyze_seam(odd_tail, head, identity=False)  # head resized to the tail's size
    assert mixed.grade is not None


def test_bad_input_is_a_clear_error() -> None:
    frames = make_case("rocket", Defect.CLEAN).window()[0]
    with pytest.raises(InvalidInput, match="at least one frame on each side"):
        analyze_seam(frames, [])
    with pytest.raises(ValueError, match="RGB uint8"):
        analyze_seam([np.zeros((64, 64), np.uint8)], frames)
    with pytest.raises(InvalidInput, match="no frames"):
        analyze_segment(iter([]))


def test_cancel_stops_the_analysis() -> None:
    token = CancelToken()
    token.cancel()
    tail, head = make_case("rocket", Defect.CLEAN).window()
    with pytest.raises(Cancelled):
        analyze_seam(tail, head, cancel=token)
    with pytest.raises(Cancelled):
        analyze_segment(tail, cancel=token)


def test_clean_segment_is_green_with_full_curves() -> None:
    seg = chained_segments("astronaut", segments=1)[0]
    seen: list[float] = []
    rep = analyze_segment(iter(seg), identity_every=8, frame_count=len(seg), progress=lambda d, t, m="": seen.append(d))
    assert rep.frame_count == len(seg) == len(rep.sharpness)
    assert len(rep.ssim) == len(rep.motion) == len(rep.difference) == len(seg) - 1
    assert rep.frozen_runs == ()
    assert [s.frame for s in rep.identity] == [0, 8, 16, 19]
    assert all(s.distance is not None and s.distance < 0.2 for s in rep.identity)
    assert rep.identity_reference == "the first sampled face"
    assert rep.grade is Grade.GREEN, rep.reasons
    assert seen[-1] == len(seg)


def test_segment_finds_frozen_runs_blur_and_identity_drift() -> None:
    seg = chained_segments("astronaut", segments=1)[0]
    frozen = seg[:8] + [seg[8].copy() for _ in range(5)] + seg[13:]
    rep = analyze_segment(frozen, identity_every=0)
    assert [(r.start, r.length) for r in rep.frozen_runs] == [(8, 5)]
    assert rep.grade is Grade.RED
    blurred = [f if i != 10 else cv2.GaussianBlur(f, (0, 0), 1.6) for i, f in enumerate(seg)]
    blur_rep = analyze_segment(blurred, identity_every=0)
    assert any(g.metric is SeamMetric.SHARPNESS and g.grade is not Grade.GREEN for g in blur_rep.grades)
    # the face turns into another person half way: the drift curve rises past the rule
    other = animate(swap_face(lfw_face(1)), default_path("astronaut"), 10, 10)
    drift = analyze_segment(seg[:10] + other, reference=reference_from_image(seed_a()), identity_every=5)
    dists = [s.distance for s in drift.identity]
    assert dists[0] is not None
    assert dists[0] < 0.2
    assert dists[-1] is not None
    assert dists[-1] > 0.6
    assert drift.identity_reference == "Seed A"
    assert drift.grade is Grade.RED


def test_segment_without_faces_reports_why() -> None:
    seg = chained_segments("rocket", segments=1, frames=10)[0]
    rep = analyze_segment(seg, identity_every=4)
    assert rep.identity_reference == ""
    assert rep.identity_reason.startswith("no face found in any of the 4 sampled frames")
    assert all(g.metric is not SeamMetric.IDENTITY for g in rep.grades)
