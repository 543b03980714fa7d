"""The frozen results of seam and segment analysis (they cross every layer as plain values)."""

from __future__ import annotations

from dataclasses import dataclass

from x121_desktop.core.likeness.faces import FaceBox
from x121_desktop.core.stitching.score import Grade, SeamMetric


@dataclass(frozen=True, slots=True)
class MetricGrade:
    """One graded metric: its badness value (see score.py), grade, 0..1 score and a sentence."""

    metric: SeamMetric
    value: float
    grade: Grade
    score: float
    detail: str


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    """Identity across a seam. Distances are None where no face was found (see ``reason``).

    ``reference`` is "seed" when Seed A was given, else "tail" (the head is compared with the
    last frame of the previous segment). ``distance`` is the graded value: the head's distance to
    the reference; None means identity was not measured and is left out of the grade.
    """

    reference: str
    tail_distance: float | None
    head_distance: float | None
    across_distance: float | None
    tail_box: FaceBox | None
    head_box: FaceBox | None
    reason: str = ""

    @property
    def distance(self) -> float | None:
        return self.head_distance


@dataclass(frozen=True, slots=True)
class SeamReport:
    """Everything measured at one seam: tail of segment N → head of segment N+1.

    Raw values are given "across" (last tail frame vs first head frame) and "within" (median of
    consecutive pairs inside the tail and the head windows), so callers can re-grade them.
    """

    ssim_across: float
    ssim_within: float
    phash_across: int
    phash_within: float
    delta_e_cast: float
    """CIE76 ΔE between the mean L*a*b* colours of the two seam frames."""
    chroma_shift: float
    """The a*b* part of ``delta_e_cast`` (what the colour grade uses; L* is graded as exposure)."""
    delta_e_pixels: float
    """Mean per-pixel CIE76 ΔE at ⅛ size (moves with the subject too; informational)."""
    histogram_distance: float
    exposure_jump: float
    """Largest |ΔL*| of the 5th/50th/95th L* percentiles across the cut (signed: + brighter)."""
    motion_across: float
    motion_within: float
    """Farneback mean flow magnitudes, in pixels at full frame size."""
    sharpness_tail: float
    sharpness_head: float
    frozen_run: int
    identity: IdentityCheck | None
    grades: tuple[MetricGrade, ...]
    grade: Grade
    score: float
    tail_frames: int
    head_frames: int

    @property
    def reasons(self) -> tuple[str, ...]:
        """One sentence per metric that is not green, worst first."""
        bad = sorted((g for g in self.grades if g.grade is not Grade.GREEN), key=lambda g: -g.grade.rank)
        notes = [g.detail for g in bad]
        if self.identity is not None and self.identity.reason:
            notes.append(self.identity.reason)
        return tuple(notes)

    def grade_of(self, metric: SeamMetric) -> Grade | None:
        """The grade of one metric, or None when it was not measured (identity without faces)."""
        for g in self.grades:
            if g.metric is metric:
                return g.grade
        return None

    def metric(self, metric: SeamMetric) -> MetricGrade | None:
        for g in self.grades:
            if g.metric is metric:
                return g
        return None


@dataclass(frozen=True, slots=True)
class FrameRun:
    """``length`` consecutive near-identical frames starting at frame ``start``."""

    start: int
    length: int


@dataclass(frozen=True, slots=True)
class IdentitySample:
    """Identity at one sampled frame: distance to the reference, or None with no face."""

    frame: int
    distance: float | None
    box: FaceBox | None


@dataclass(frozen=True, slots=True)
class SegmentReport:
    """Along-segment checks. Curves are per frame (sharpness) or per consecutive pair
    (``ssim``, ``motion``, ``difference``: pair i is frames i → i+1)."""

    frame_count: int
    ssim: tuple[float, ...]
    motion: tuple[float, ...]
    """Mean Farneback flow magnitude per pair, in pixels at full frame size."""
    difference: tuple[float, ...]
    """Mean absolute difference per pair at ¼ size, 8-bit levels (frozen detection)."""
    sharpness: tuple[float, ...]
    frozen_runs: tuple[FrameRun, ...]
    identity: tuple[IdentitySample, ...]
    """The identity drift curve at the sampled frames (empty without a reference or samples)."""
    identity_reference: str
    """"seed", "first face" (the first sampled face when no seed was given), or "" when none."""
    identity_reason: str
    grades: tuple[MetricGrade, ...]
    grade: Grade
    score: float

    @property
    def reasons(self) -> tuple[str, ...]:
        bad = sorted((g for g in self.grades if g.grade is not Grade.GREEN), key=lambda g: -g.grade.rank)
        notes = [g.detail for g in bad]
        if self.identity_reason:
            notes.append(self.identity_reason)
        return tuple(notes)

    @property
    def longest_frozen_run(self) -> int:
        return max((r.length for r in self.frozen_runs), default=1 if self.frame_count else 0)
