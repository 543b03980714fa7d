"""Acceptance: the seam detector on real photographs with injected defects (tests/seam_fixtures.py).

Every defect class must be flagged (grade not green) by the metric that names it, and every clean
seam must stay green. Recall and false-alarm rate are printed in the pytest output.
"""

from __future__ import annotations

import pytest

from tests.seam_fixtures import Defect, SeamCase, defect_set, seed_a
from x121_desktop.core.likeness import IdentityReference, reference_from_image
from x121_desktop.core.stitching.metrics import analyze_seam
from x121_desktop.core.stitching.report import SeamReport
from x121_desktop.core.stitching.score import Grade, SeamMetric

# The metric(s) that must flag each defect class (at least one of them not green).
EXPECTED: dict[Defect, tuple[SeamMetric, ...]] = {
    Defect.COLOUR: (SeamMetric.COLOUR,),
    Defect.EXPOSURE_UP: (SeamMetric.EXPOSURE,),
    Defect.EXPOSURE_DOWN: (SeamMetric.EXPOSURE,),
    Defect.JUMP: (SeamMetric.SSIM, SeamMetric.PHASH, SeamMetric.MOTION),
    Defect.ZOOM: (SeamMetric.SSIM, SeamMetric.PHASH, SeamMetric.MOTION),
    Defect.IDENTITY: (SeamMetric.IDENTITY,),
    Defect.FROZEN: (SeamMetric.FROZEN,),
    Defect.BLUR: (SeamMetric.SHARPNESS,),
}


@pytest.fixture(scope="module")
def seed() -> IdentityReference:
    return reference_from_image(seed_a(), "Seed A (astronaut)")


@pytest.fixture(scope="module")
def results(seed: IdentityReference) -> list[tuple[SeamCase, SeamReport]]:
    out = []
    for case in defect_set():
        tail, head = case.window()
        out.append((case, analyze_seam(tail, head, reference=seed if case.photo == "astronaut" else None)))
    return out


def test_defect_set_recall_and_false_alarms(
    results: list[tuple[SeamCase, SeamReport]], capsys: pytest.CaptureFixture[str]
) -> None:
    defects = [(c, r) for c, r in results if not c.defect.is_clean]
    cleans = [(c, r) for c, r in results if c.defect.is_clean]
    caught = [(c, r) for c, r in defects if r.grade is not Grade.GREEN]
    alarms = [(c, r) for c, r in cleans if r.grade is not Grade.GREEN]
    recall = len(caught) / len(defects)
    false_alarm_rate = len(alarms) / len(cleans)
    classes = sorted({c.defect for c, _ in defects})
    with capsys.disabled():
        print(f"\n\nSeam defect set: {len(results)} seams over real photographs (skimage.data)")
        print(f"{'seam':28s} {'grade':6s} score  flagged by")
        for case, rep in results:
            flagged = ", ".join(f"{g.metric.value}={g.value:.2f}" for g in rep.grades if g.grade is not Grade.GREEN)
            print(f"{case.name:28s} {rep.grade.value:6s} {rep.score:.2f}  {flagged or '-'}")
        for d in classes:
            n = [r for c, r in defects if c.defect is d]
            print(f"  class {d.value:14s} caught {sum(r.grade is not Grade.GREEN for r in n)}/{len(n)}")
        print(
            f"RECALL {recall:.3f} ({len(caught)}/{len(defects)} injected defects flagged, {len(classes)} classes); "
            f"FALSE ALARMS {false_alarm_rate:.3f} ({len(alarms)}/{len(cleans)} clean seams not green)\n"
        )
    assert recall == 1.0, [c.name for c, r in defects if r.grade is Grade.GREEN]
    assert false_alarm_rate == 0.0, [(c.name, r.reasons) for c, r in alarms]
    assert set(EXPECTED) <= set(classes)


@pytest.mark.parametrize("defect", list(EXPECTED))
def test_each_defect_class_is_flagged_by_its_own_metric(
    results: list[tuple[SeamCase, SeamReport]], defect: Defect
) -> None:
    cases = [(c, r) for c, r in results if c.defect is defect]
    assert cases
    for case, rep in cases:
        grades = [rep.grade_of(m) for m in EXPECTED[defect]]
        assert any(g in (Grade.AMBER, Grade.RED) for g in grades), (case.name, rep.reasons)


def test_identity_swap_is_red_and_the_same_artefacts_on_the_same_face_are_not(
    results: list[tuple[SeamCase, SeamReport]],
) -> None:
    swaps = [r for c, r in results if c.defect is Defect.IDENTITY]
    control = next(r for c, r in results if c.defect is Defect.IDENTITY_CONTROL)
    for rep in swaps:
        assert rep.identity is not None
        assert rep.identity.head_distance is not None
        assert rep.identity.head_distance > 0.6
        assert rep.grade_of(SeamMetric.IDENTITY) is Grade.RED
    assert control.identity is not None
    assert control.identity.head_distance is not None
    assert control.identity.head_distance < 0.5
    assert control.grade is Grade.GREEN


def test_colour_and_exposure_are_told_apart(results: list[tuple[SeamCase, SeamReport]]) -> None:
    for case, rep in results:
        if case.defect is Defect.COLOUR:
            assert rep.grade_of(SeamMetric.EXPOSURE) is Grade.GREEN, case.name
        if case.defect in (Defect.EXPOSURE_UP, Defect.EXPOSURE_DOWN):
            assert rep.grade_of(SeamMetric.COLOUR) is Grade.GREEN, case.name
            assert (rep.exposure_jump > 0) == (case.defect is Defect.EXPOSURE_UP), case.name
