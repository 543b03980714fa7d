"""Large frames: SSIM on the capped size and optical flow on the halved ⅛ size still catch every
injected defect and pass clean seams.

For frames whose ¼ size is taller than ``SSIM_MAX_SIDE`` (1080p: 480x270) SSIM runs on the ⅛ size
(240x135), and optical flow on half the ⅛ size (120x67) with DIS stopping one level earlier (the
same estimation grid as before). Those values differ from the ¼ / ⅛ ones, so the seam defect set
(tests/seam_fixtures.py) is rebuilt at 1080x1080 and run through the YUV path: recall 1.0 and no
false alarm, as at 320 px. The test output prints, per seam, the new values beside the ones the
previous scales give (SSIM drop at ¼ size, motion ratio at ⅛ size) for comparison.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import cv2
import pytest

from tests.core.stitching.planes import as_planes
from tests.core.stitching.test_defect_set import EXPECTED
from tests.seam_fixtures import (
    GENERIC_DEFECTS,
    LFW_FACES,
    PHOTOS,
    WINDOW,
    Defect,
    SeamCase,
    chained_segments,
    make_case,
    seed_a,
)
from x121_desktop.core.likeness import IdentityReference, reference_from_image
from x121_desktop.core.media import YuvFrame
from x121_desktop.core.stitching.frames import AnalysisGeometry, extract_segment, normalised
from x121_desktop.core.stitching.metrics import analyze_seam, analyze_segment
from x121_desktop.core.stitching.motion import flow_magnitude
from x121_desktop.core.stitching.report import SeamReport
from x121_desktop.core.stitching.score import MOTION_FLOOR_FRACTION, Grade, SeamMetric
from x121_desktop.core.stitching.ssim import ssim

SIZE = 1080


def test_geometry_caps_ssim_and_halves_flow_only_for_large_frames() -> None:
    hd = AnalysisGeometry.for_size(1920, 1080)
    assert (hd.quarter, hd.eighth, hd.ssim, hd.motion) == ((480, 270), (240, 135), (240, 135), (120, 67))
    assert (hd.motion_scale, hd.motion_halvings) == (16.0, 1)
    square = AnalysisGeometry.for_size(SIZE, SIZE)
    assert (square.ssim, square.motion) == ((135, 135), (67, 67))
    for w, h in ((512, 512), (320, 320), (1024, 576)):  # the defect set's size and the bench's
        g = AnalysisGeometry.for_size(w, h)
        assert (g.ssim, g.motion, g.motion_halvings) == (g.quarter, g.eighth, 0)
    uhd = AnalysisGeometry.for_size(3840, 2160)
    assert (uhd.ssim, uhd.motion) == ((240, 135), (240, 135))


@pytest.fixture(scope="module")
def seed() -> IdentityReference:
    return reference_from_image(seed_a(), "Seed A (astronaut)")


@dataclass(frozen=True)
class _Seam:
    case: SeamCase
    tail: list[YuvFrame]
    head: list[YuvFrame]
    report: SeamReport


def _cases() -> list[SeamCase]:
    cases = [make_case(p, d, frames=WINDOW, size=SIZE) for p in PHOTOS for d in GENERIC_DEFECTS]
    cases += [make_case("astronaut", Defect.IDENTITY, v, frames=WINDOW, size=SIZE) for v in range(len(LFW_FACES))]
    cases.append(make_case("astronaut", Defect.IDENTITY_CONTROL, frames=WINDOW, size=SIZE))
    return cases


@pytest.fixture(scope="module")
def seams(seed: IdentityReference) -> list[_Seam]:
    out = []
    for case in _cases():
        tail, head = (as_planes(side) for side in case.window())
        ref = seed if case.photo == "astronaut" else None
        out.append(_Seam(case, tail, head, analyze_seam(tail, head, reference=ref)))
    return out


def _previous_scales(seam: _Seam) -> tuple[float, float]:
    """The SSIM drop at ¼ size and the motion ratio at ⅛ size (the scales used before the cap)."""
    g = AnalysisGeometry.for_size(SIZE, SIZE)
    grays = [extract_segment(f, g).gray for f in (*seam.tail, *seam.head)]  # ¼ size, as before
    eighths = [normalised(cv2.resize(q, g.eighth, interpolation=cv2.INTER_AREA)) for q in grays]
    n, pairs = len(seam.tail), range(len(grays) - 1)
    ssims = [ssim(grays[i], grays[i + 1]) for i in pairs]
    flows = [flow_magnitude(eighths[i], eighths[i + 1], g.full[0] / g.eighth[0]) for i in pairs]
    within = [i for i in pairs if i != n - 1]
    drop = statistics.median(ssims[i] for i in within) - ssims[n - 1]
    ratio = flows[n - 1] / max(statistics.median(flows[i] for i in within), MOTION_FLOOR_FRACTION * SIZE)
    return drop, ratio


def test_defect_set_at_1080_keeps_recall_and_has_no_false_alarm(
    seams: list[_Seam], capsys: pytest.CaptureFixture[str]
) -> None:
    defects = [s for s in seams if not s.case.defect.is_clean]
    cleans = [s for s in seams if s.case.defect.is_clean]
    caught = [s.case.name for s in defects if s.report.grade is not Grade.GREEN]
    alarms = [(s.case.name, s.report.reasons) for s in cleans if s.report.grade is not Grade.GREEN]
    with capsys.disabled():
        print(f"\n\nSeam defect set at {SIZE}x{SIZE} (YUV path; SSIM at 135x135, flow at 67x67):")
        print(f"{'seam':28s} {'grade':6s} SSIM drop (at ¼ size)  motion ratio (at ⅛ size)")
        for s in seams:
            old_drop, old_ratio = _previous_scales(s)
            ssim_g, motion_g = s.report.metric(SeamMetric.SSIM), s.report.metric(SeamMetric.MOTION)
            assert ssim_g is not None
            assert motion_g is not None
            print(
                f"{s.case.name:28s} {s.report.grade.value:6s} {ssim_g.value:6.3f} ({old_drop:6.3f})"
                f"         {motion_g.value:5.1f} ({old_ratio:5.1f})"
            )
        print(
            f"RECALL {len(caught) / len(defects):.3f} ({len(caught)}/{len(defects)}); "
            f"FALSE ALARMS {len(alarms) / len(cleans):.3f} ({len(alarms)}/{len(cleans)})"
        )
    assert len(caught) == len(defects), [s.case.name for s in defects if s.case.name not in caught]
    assert alarms == []
    for s in defects:
        if s.case.defect in EXPECTED:
            grades = [s.report.grade_of(m) for m in EXPECTED[s.case.defect]]
            assert any(g in (Grade.AMBER, Grade.RED) for g in grades), (s.case.name, s.report.reasons)


def test_segment_at_1080_stays_green_and_flags_a_jump_inside_it() -> None:
    seg = chained_segments("coffee", segments=2, frames=8, size=SIZE)
    clean = analyze_segment(as_planes(seg[0] + seg[1]), identity_every=0)
    assert clean.grade is Grade.GREEN, clean.reasons
    jumped = make_case("coffee", Defect.JUMP, frames=8, size=SIZE)
    rep = analyze_segment(as_planes(jumped.tail + jumped.head), identity_every=0)
    flagged = {g.metric for g in rep.grades if g.grade is not Grade.GREEN}
    assert {SeamMetric.SSIM, SeamMetric.MOTION} <= flagged, rep.reasons
    worst_pair = min(range(len(rep.ssim)), key=rep.ssim.__getitem__)
    assert worst_pair == 7  # frame 7 -> 8: where the head starts
