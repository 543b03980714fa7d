"""Elastic duration: where to stop a segment, and how to split a target length into segments.

Two pure solvers, both in integer frames:

* `choose_stop_frame` picks the most stable frame to end a segment on (low motion, sharp,
  face present and close to Seed A) inside an allowed range, honouring the model's
  frame-count rule (Wan wants 4n+1 frames), and reports the top candidates as reasons.
* `plan_segments` turns a target duration range into the fewest segments whose lengths
  all obey the model limits (min/max frames, 4n+1, overlap between consecutive segments).

Chaining arithmetic: consecutive segments share `overlap` frames (1 when the last frame
of N is the start image of N+1), so a plan's total is `sum(lengths) - overlap * (count - 1)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from x121_desktop.core.errors import InvalidInput

# A likeness distance at or above this is "a different person" (dlib 128-d; PLATFORM.md).
SAME_PERSON_DISTANCE = 0.6


@dataclass(frozen=True, slots=True)
class FrameCountRule:
    """Valid frame counts are `offset + step * n` for n >= 0 (Wan: step 4, offset 1)."""

    step: int = 4
    offset: int = 1

    def __post_init__(self) -> None:
        if self.step < 1 or self.offset < 0:
            raise ValueError(f"FrameCountRule needs step >= 1 and offset >= 0, got {self.step}, {self.offset}")

    def is_valid(self, frames: int) -> bool:
        return frames >= self.offset and (frames - self.offset) % self.step == 0

    def valid_between(self, lo: int, hi: int) -> range:
        """Every valid count in [lo, hi], ascending (possibly empty)."""
        lo = max(lo, self.offset)
        first = self.offset + math.ceil((lo - self.offset) / self.step) * self.step
        return range(first, hi + 1, self.step)

    def describe(self) -> str:
        if self.step == 1:
            return f"any count >= {self.offset}"
        return f"{self.step}n+{self.offset}"


WAN_RULE = FrameCountRule(4, 1)
ANY_COUNT = FrameCountRule(1, 1)


def frames_in(seconds: Fraction, rate: Fraction, *, round_up: bool) -> int:
    """Exact frame count for a rational duration (ceil for a lower bound, floor for an upper)."""
    exact = Fraction(seconds) * Fraction(rate)
    return math.ceil(exact) if round_up else math.floor(exact)


# ------------------------------------------------------------------ stopping frame


@dataclass(frozen=True, slots=True)
class FrameMeasures:
    """Stability measures of one frame.

    motion: mean optical-flow magnitude into this frame (pixels/frame, >= 0);
    sharpness: variance of the Laplacian (higher is sharper);
    face_present: a face was detected (None: not looked for; the face term is then left out);
    likeness: distance of that face to Seed A (lower is closer), None when not measured.
    """

    motion: float
    sharpness: float
    face_present: bool | None = None
    likeness: float | None = None


@dataclass(frozen=True, slots=True)
class StopWeights:
    motion: float = 0.4
    sharpness: float = 0.25
    face: float = 0.2
    likeness: float = 0.15
    # Motion is judged over frame ± this many neighbours: a stop frame should sit in a calm stretch.
    motion_radius: int = 1


@dataclass(frozen=True, slots=True)
class StopRequest:
    measures: tuple[FrameMeasures, ...]
    rate: Fraction
    min_frames: int
    max_frames: int
    rule: FrameCountRule = WAN_RULE
    weights: StopWeights = field(default_factory=StopWeights)
    top_k: int = 3

    @classmethod
    def from_seconds(
        cls,
        measures: tuple[FrameMeasures, ...],
        rate: Fraction,
        min_seconds: Fraction,
        max_seconds: Fraction,
        rule: FrameCountRule = WAN_RULE,
        weights: StopWeights | None = None,
    ) -> StopRequest:
        return cls(
            measures=measures,
            rate=rate,
            min_frames=frames_in(min_seconds, rate, round_up=True),
            max_frames=frames_in(max_seconds, rate, round_up=False),
            rule=rule,
            weights=weights or StopWeights(),
        )


@dataclass(frozen=True, slots=True)
class StopCandidate:
    frame: int  # index of the last kept frame
    length: int  # frames kept (frame + 1), valid under the rule
    score: float  # 0..1, higher is more stable
    motion: float  # neighbourhood motion used for the score
    sharpness: float
    face_present: bool | None
    likeness: float | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StopChoice:
    frame: int
    length: int
    duration: Fraction  # seconds, exact
    rule: FrameCountRule
    candidates: tuple[StopCandidate, ...]  # best first; candidates[0] is the choice

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.candidates[0].reasons


def choose_stop_frame(req: StopRequest) -> StopChoice:
    """The most stable frame to end the segment on, with the top candidates as reasons."""
    n = len(req.measures)
    if n == 0:
        raise InvalidInput("The segment has no frames to choose a stopping point from", "Generate it first.")
    if req.min_frames > req.max_frames:
        raise InvalidInput(
            f"The allowed range {req.min_frames}-{req.max_frames} frames is empty",
            "Give a minimum no larger than the maximum.",
        )
    lengths = req.rule.valid_between(max(1, req.min_frames), min(n, req.max_frames))
    if not lengths:
        raise InvalidInput(
            f"No length in {req.min_frames}-{min(n, req.max_frames)} frames fits the rule "
            f"{req.rule.describe()} (the segment has {n} frames)",
            "Widen the allowed range or generate a longer segment.",
        )
    w = req.weights
    motion = _neighbourhood_motion(req.measures, w.motion_radius)
    motion_ref = max(_median(motion), 1e-6)
    sharp_ref = max(*(m.sharpness for m in req.measures), 1e-06)
    scored: list[StopCandidate] = []
    for length in lengths:
        i = length - 1
        m = req.measures[i]
        calm = 1.0 / (1.0 + motion[i] / motion_ref)  # 1 when still, 0.5 at the segment's median motion
        sharp = min(1.0, max(0.0, m.sharpness / sharp_ref))
        face_w = 0.0 if m.face_present is None else w.face
        face = 1.0 if m.face_present else 0.0
        # No face at all counts as the worst likeness; a face whose likeness was not measured is left out.
        like_w = w.likeness if m.likeness is not None or m.face_present is False else 0.0
        like = 0.0 if m.likeness is None else max(0.0, 1.0 - m.likeness / SAME_PERSON_DISTANCE)
        total_w = w.motion + w.sharpness + face_w + like_w
        score = (w.motion * calm + w.sharpness * sharp + face_w * face + like_w * like) / total_w
        reasons = (
            f"motion {motion[i]:.2f} px/frame (segment median {motion_ref:.2f})",
            f"sharpness {sharp:.0%} of the segment's sharpest frame",
            {True: "face present", False: "no face detected", None: "face not checked"}[m.face_present],
            *(() if m.likeness is None else (f"likeness distance to Seed A {m.likeness:.3f}",)),
        )
        scored.append(
            StopCandidate(i, length, round(score, 6), motion[i], m.sharpness, m.face_present, m.likeness, reasons)
        )
    # Best score first; ties go to the longer segment (more footage for the same stability).
    scored.sort(key=lambda c: (-c.score, -c.length))
    best = scored[0]
    return StopChoice(
        frame=best.frame,
        length=best.length,
        duration=Fraction(best.length) / req.rate,
        rule=req.rule,
        candidates=tuple(scored[: max(1, req.top_k)]),
    )


def _neighbourhood_motion(measures: tuple[FrameMeasures, ...], radius: int) -> list[float]:
    values = [max(0.0, m.motion) for m in measures]
    out: list[float] = []
    for i in range(len(values)):
        window = values[max(0, i - radius) : i + radius + 1]
        out.append(sum(window) / len(window))
    return out


def _median(values: list[float]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


# ------------------------------------------------------------------ segment planner


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """What one generation may produce, and how consecutive segments overlap."""

    min_frames: int = 33
    max_frames: int = 81
    rule: FrameCountRule = WAN_RULE
    overlap: int = 1  # frames shared by consecutive segments (1: last frame of N starts N+1)

    def __post_init__(self) -> None:
        if not 1 <= self.min_frames <= self.max_frames:
            raise InvalidInput(
                f"Model limits {self.min_frames}-{self.max_frames} frames are not a valid range",
                "Give 1 <= minimum <= maximum.",
            )
        valid = self.rule.valid_between(self.min_frames, self.max_frames)
        if not valid:
            raise InvalidInput(
                f"No segment length in {self.min_frames}-{self.max_frames} frames fits {self.rule.describe()}",
                "Widen the model limits.",
            )
        if self.overlap < 0 or 3 * self.overlap > valid[0]:
            raise InvalidInput(
                f"An overlap of {self.overlap} frames is more than a third of the shortest segment ({valid[0]})",
                "Use a smaller overlap.",
            )


@dataclass(frozen=True, slots=True)
class PlanRequest:
    rate: Fraction
    min_total: int  # frames of the finished piece, inclusive
    max_total: int
    limits: ModelLimits = field(default_factory=ModelLimits)
    prefer_total: int | None = None  # default: the middle of the range

    @classmethod
    def from_seconds(
        cls, rate: Fraction, min_seconds: Fraction, max_seconds: Fraction, limits: ModelLimits | None = None
    ) -> PlanRequest:
        return cls(
            rate=rate,
            min_total=frames_in(min_seconds, rate, round_up=True),
            max_total=frames_in(max_seconds, rate, round_up=False),
            limits=limits or ModelLimits(),
        )


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    lengths: tuple[int, ...]  # frames generated per segment
    starts: tuple[int, ...]  # first frame of each segment on the assembled timeline
    total_frames: int
    rate: Fraction
    overlap: int

    @property
    def count(self) -> int:
        return len(self.lengths)

    @property
    def duration(self) -> Fraction:
        return Fraction(self.total_frames) / self.rate


def plan_segments(req: PlanRequest) -> SegmentPlan:
    """Fewest segments covering a total inside the range, lengths as even as the rule allows."""
    lim = req.limits
    lo, hi = max(1, req.min_total), req.max_total
    if lo > hi:
        raise InvalidInput(
            f"The target range {req.min_total}-{req.max_total} frames is empty",
            "Give a minimum no larger than the maximum.",
        )
    prefer = (lo + hi) // 2 if req.prefer_total is None else min(max(req.prefer_total, lo), hi)
    valid = lim.rule.valid_between(lim.min_frames, lim.max_frames)
    step, shortest, longest = lim.rule.step, valid[0], valid[-1]
    # Each extra segment adds at least (shortest - overlap) frames, so this bounds the search.
    max_count = hi // max(1, shortest - lim.overlap) + 1
    for count in range(1, max_count + 1):
        base = count * shortest - (count - 1) * lim.overlap  # every segment at its shortest
        top = count * longest - (count - 1) * lim.overlap
        if top < lo:
            continue
        if base > hi:
            break
        # Reachable totals are base + step * m for 0 <= m <= count * (len(valid) - 1).
        m_lo = max(0, math.ceil((lo - base) / step))
        m_hi = min(count * (len(valid) - 1), (hi - base) // step)
        if m_lo > m_hi:
            continue
        m = min(max(round((prefer - base) / step), m_lo), m_hi)
        extra, spread = divmod(m, count)
        lengths = tuple(shortest + step * (extra + (1 if k < spread else 0)) for k in range(count))
        starts = tuple(sum(lengths[:k]) - k * lim.overlap for k in range(count))
        return SegmentPlan(lengths, starts, base + step * m, req.rate, lim.overlap)
    raise InvalidInput(
        f"No number of segments of {lim.min_frames}-{lim.max_frames} frames ({lim.rule.describe()}, "
        f"overlap {lim.overlap}) adds up to {lo}-{hi} frames",
        "Widen the target duration range.",
    )
