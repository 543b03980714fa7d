"""Seam metrics between the tail of segment N and the head of segment N+1.

Public API (stable; stitching modes, elastic duration, normalization and healing build on it)::

    report = analyze_seam(tail_frames, head_frames, reference=seed_identity)   # -> SeamReport
    report = analyze_segment(frames, reference=seed_identity)                  # -> SegmentReport
    pair = compare_frames(a, b)                                                # -> PairMetrics
    scan = scan_segment(frames_for_analysis(reader), seam_window=6)            # -> SegmentScan
    report = analyze_seam_sides(scan_n.tail, scan_n1.head)                     # no re-extraction

Frames are RGB uint8 (H, W, 3) arrays or decoded planes (``core.media.YuvFrame``: the YUV path,
no rgb24 conversion; values within the tolerances tested in test_yuv_path.py). What each metric
is, at which scale it is computed and why that scale is accurate enough: frames.py. Grades,
bands, the 0..1 score and the calibrated thresholds with their reasoning: score.py. Identity and
its degraded results: identity.py and core.likeness. Colour difference is **CIE76** ΔE (euclidean
in L*a*b*): cheap and vectorised; it overstates differences in saturated colours compared with
CIEDE2000, but seam casts are small and the thresholds were calibrated with CIE76 itself.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness.faces import IdentityReference
from x121_desktop.core.stitching.frames import AnalysisGeometry, FrameFeatures, extract, rgb_of
from x121_desktop.core.stitching.identity import check_identity, grade_identity
from x121_desktop.core.stitching.motion import frozen_runs
from x121_desktop.core.stitching.pairs import PairMetrics, SegmentPair, compare_features, compare_frames
from x121_desktop.core.stitching.report import IdentityCheck, MetricGrade, SeamReport
from x121_desktop.core.stitching.score import (
    DEFAULT_THRESHOLDS,
    FROZEN_MAD,
    MOTION_FLOOR_FRACTION,
    Grade,
    SeamMetric,
    SeamThresholds,
    worst,
)
from x121_desktop.core.stitching.segment import (
    AnyFrame,
    SeamSide,
    SegmentScan,
    analyze_segment,
    frames_for_analysis,
    scan_segment,
    seam_side,
)
from x121_desktop.core.stitching.workers import opencv_serial


def _median(values: Sequence[float], empty: float) -> float:
    return float(statistics.median(values)) if values else empty


def _grade(metric: SeamMetric, value: float, thresholds: SeamThresholds, detail: str) -> MetricGrade:
    band = thresholds.band(metric)
    return MetricGrade(metric, value, band.grade(value), band.score(value), f"{metric.value}: {detail}")


def analyze_seam(
    tail: Sequence[AnyFrame],
    head: Sequence[AnyFrame],
    *,
    reference: IdentityReference | None = None,
    identity: bool = True,
    thresholds: SeamThresholds = DEFAULT_THRESHOLDS,
    cancel: CancelToken | None = None,
) -> SeamReport:
    """Measure and grade the seam between ``tail`` (last frames of N) and ``head`` (first of N+1).

    A few frames per side (4-8) give the within-side baselines; one per side works but then every
    change counts as a jump. Identity (about 0.2 s per frame) runs on the two seam frames only,
    compared with ``reference`` (Seed A) when given, else with each other; ``identity=False``
    skips it.
    """
    if not tail or not head:
        raise InvalidInput(
            "A seam needs at least one frame on each side",
            "Check that both segments decode to at least one frame.",
        )
    geometry = AnalysisGeometry.for_frame(tail[-1])
    with opencv_serial():
        feats_t = [extract(f, geometry) for f in tail]
        if cancel is not None:
            cancel.raise_if_cancelled("Seam analysis")
        feats_h = [extract(f, geometry) for f in head]
        sides = _Sides(feats_t, feats_h)
        return _seam_report(sides, geometry, (tail[-1], head[0]), reference, identity, thresholds, cancel)


def analyze_seam_sides(
    tail: SeamSide,
    head: SeamSide,
    *,
    reference: IdentityReference | None = None,
    identity: bool = True,
    thresholds: SeamThresholds = DEFAULT_THRESHOLDS,
    cancel: CancelToken | None = None,
) -> SeamReport:
    """``analyze_seam`` from the seam features ``scan_segment`` kept (``scan.tail`` of N,
    ``scan.head`` of N+1): the same report without extracting those frames again. Segments of
    different sizes fall back to ``analyze_seam`` on the kept frames."""
    if not tail.features or not head.features:
        raise InvalidInput(
            "A seam needs at least one frame on each side",
            "Scan both segments with seam_window >= 1.",
        )
    if tail.geometry != head.geometry:
        return analyze_seam(
            tail.frames, head.frames, reference=reference, identity=identity, thresholds=thresholds, cancel=cancel
        )
    seam = (tail.frames[-1], head.frames[0])
    with opencv_serial():
        sides = _Sides(list(tail.features), list(head.features), tail.pairs, head.pairs)
        return _seam_report(sides, tail.geometry, seam, reference, identity, thresholds, cancel)


@dataclass(frozen=True, slots=True)
class _Sides:
    """Both sides' seam features, and their consecutive pairs where a scan measured them."""

    tail: list[FrameFeatures]
    head: list[FrameFeatures]
    tail_pairs: tuple[SegmentPair, ...] = ()
    head_pairs: tuple[SegmentPair, ...] = ()


def _within(feats: list[FrameFeatures], known: tuple[SegmentPair, ...], g: AnalysisGeometry) -> list[PairMetrics]:
    """Pair metrics of consecutive frames of one side, reusing the scan's where it kept them."""
    pairs = list(itertools.pairwise(feats))
    if len(known) != len(pairs):
        return [compare_features(x, y, g) for x, y in pairs]
    return [compare_features(x, y, g, known=k) for (x, y), k in zip(pairs, known, strict=True)]


def _seam_report(
    sides: _Sides,
    geometry: AnalysisGeometry,
    seam: tuple[AnyFrame, AnyFrame],
    reference: IdentityReference | None,
    identity: bool,
    thresholds: SeamThresholds,
    cancel: CancelToken | None,
) -> SeamReport:
    feats_t, feats_h = sides.tail, sides.head
    within = _within(feats_t, sides.tail_pairs, geometry) + _within(feats_h, sides.head_pairs, geometry)
    across = compare_features(feats_t[-1], feats_h[0], geometry)
    if cancel is not None:
        cancel.raise_if_cancelled("Seam analysis")

    ssim_within = _median([p.ssim for p in within], 1.0)
    phash_within = _median([float(p.phash_distance) for p in within], 0.0)
    chroma_within = _median([p.chroma_shift for p in within], 0.0)
    hist_within = _median([p.histogram_distance for p in within], 0.0)
    expo_within = _median([abs(p.exposure_jump) for p in within], 0.0)
    motion_within = _median([p.motion for p in within], 0.0)
    tail_sharp = _median([f.sharpness for f in feats_t], 0.0)

    diffs = [p.difference for p in within[: len(feats_t) - 1]] + [across.difference]
    diffs += [p.difference for p in within[len(feats_t) - 1 :]]
    runs = frozen_runs(diffs, FROZEN_MAD)
    frozen = max((r.length for r in runs), default=1)

    floor = MOTION_FLOOR_FRACTION * geometry.full[0]
    motion_ratio = across.motion / max(motion_within, floor)
    sharp_drop = 1.0 - across.sharpness_b / tail_sharp if tail_sharp > 0 else 0.0
    th = thresholds
    grades = [
        _grade(
            SeamMetric.SSIM,
            ssim_within - across.ssim,
            th,
            f"SSIM {across.ssim:.3f} across the cut vs {ssim_within:.3f} within",
        ),
        _grade(
            SeamMetric.PHASH,
            across.phash_distance - phash_within,
            th,
            f"pHash distance {across.phash_distance} across vs {phash_within:.0f} within",
        ),
        _grade(
            SeamMetric.COLOUR,
            across.chroma_shift - chroma_within,
            th,
            f"colour cast {across.chroma_shift:.1f} ΔE76 on a*b* (ΔE76 {across.delta_e_cast:.1f} with L*)",
        ),
        _grade(
            SeamMetric.HISTOGRAM,
            across.histogram_distance - hist_within,
            th,
            f"histogram distance {across.histogram_distance:.2f} vs {hist_within:.2f} within",
        ),
        _grade(
            SeamMetric.EXPOSURE,
            abs(across.exposure_jump) - expo_within,
            th,
            f"exposure jump {across.exposure_jump:+.1f} L* ({'brighter' if across.exposure_jump > 0 else 'darker'})",
        ),
        _grade(
            SeamMetric.MOTION,
            motion_ratio,
            th,
            f"motion {across.motion:.1f} px across the cut vs {motion_within:.1f} px within ({motion_ratio:.1f}x)",
        ),
        _grade(SeamMetric.SHARPNESS, sharp_drop, th, f"sharpness drops {100 * sharp_drop:.0f} % at the cut"),
        _grade(SeamMetric.FROZEN, float(frozen - 1), th, f"{frozen} near-identical frames in a row around the cut"),
    ]
    check: IdentityCheck | None = None
    if identity:
        check = check_identity(rgb_of(seam[0]), rgb_of(seam[1]), reference)
        graded = grade_identity(check, th.identity)
        if graded is not None:
            grades.append(graded)
    return SeamReport(
        ssim_across=across.ssim,
        ssim_within=ssim_within,
        phash_across=across.phash_distance,
        phash_within=phash_within,
        delta_e_cast=across.delta_e_cast,
        chroma_shift=across.chroma_shift,
        delta_e_pixels=across.delta_e_pixels,
        histogram_distance=across.histogram_distance,
        exposure_jump=across.exposure_jump,
        motion_across=across.motion,
        motion_within=motion_within,
        sharpness_tail=tail_sharp,
        sharpness_head=across.sharpness_b,
        frozen_run=frozen,
        identity=check,
        grades=tuple(grades),
        grade=worst([g.grade for g in grades]),
        score=min(g.score for g in grades),
        tail_frames=len(feats_t),
        head_frames=len(feats_h),
    )


__all__ = [
    "DEFAULT_THRESHOLDS",
    "Grade",
    "PairMetrics",
    "SeamMetric",
    "SeamSide",
    "SeamThresholds",
    "SegmentScan",
    "analyze_seam",
    "analyze_seam_sides",
    "analyze_segment",
    "compare_features",
    "compare_frames",
    "frames_for_analysis",
    "scan_segment",
    "seam_side",
]
