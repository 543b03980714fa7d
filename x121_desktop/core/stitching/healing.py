"""The healing ladder for a bad seam: colour match, then crossfade, else "needs regeneration".

Each rung is re-scored with the seam metrics (`metrics.analyze_seam`), and every attempt is
recorded (name, parameters, grade and score before/after) in a frozen `HealReport`.

1. **Colour/exposure match** of segment N+1 to the anchor (the last frame of N, or Seed A):
   Reinhard mean/std in Lab, then histogram matching (colour.py). The transfer is fitted on the
   first frame of N+1 and applied to *all* its frames, optionally fading out (`decay_frames`).
2. **Crossfade** over k frames (shortest first) in linear light or Lab (crossfade.py), on top of
   the best colour match. With an overlap (N+1 generated over N's last frames, as KJNodes
   ImageBatchExtendWithOverlap expects) the shared moments are blended; without one it is a
   dissolve of different moments, which ghosts on motion and usually fails the sharpness check.
   Scored at every cut inside the blend; the worst position counts.
3. **Needs regeneration**, naming the boundary, when no rung reaches the accepted grade.

What a rung may fix is limited on purpose. A different face (identity not green) is never
"healed": blending two people only hides the swap. A crossfade is tried only when no structural
metric (SSIM, pHash, motion) is red: a subject jump dissolved over k frames would score well
pair by pair but shows as ghosting. Frozen runs cannot be fixed here either.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness.faces import IdentityReference
from x121_desktop.core.stitching.colour import ColourMethod, Frame, fit_transfer, match_segment
from x121_desktop.core.stitching.crossfade import BlendCurve, BlendSpace, crossfade
from x121_desktop.core.stitching.metrics import analyze_seam
from x121_desktop.core.stitching.report import SeamReport
from x121_desktop.core.stitching.score import Grade, SeamMetric

# Frames each side of a cut handed to the scorer (its within-side baselines need a few).
SCORE_CONTEXT = 6
STRUCTURAL = frozenset({SeamMetric.SSIM, SeamMetric.PHASH, SeamMetric.MOTION})

Scorer = Callable[[Sequence[Frame], Sequence[Frame], bool], SeamReport]


class HealVerdict(enum.StrEnum):
    CLEAN = "clean"  # nothing to do: the seam already had the accepted grade
    HEALED = "healed"
    NEEDS_REGENERATION = "needs_regeneration"


class RemedyKind(enum.StrEnum):
    COLOUR_MATCH = "colour_match"
    CROSSFADE = "crossfade"


@dataclass(frozen=True, slots=True, eq=False)  # holds frames: compare by identity
class HealRequest:
    tail: tuple[Frame, ...]  # segment N (at least its last frames)
    head: tuple[Frame, ...]  # segment N+1 (all of it: colour matching changes every frame)
    # Head frames that show the same moments as the last frames of the tail (overlap generation).
    # 0: N+1 continues after N. The hard cut drops them; a crossfade of k <= overlap blends them.
    overlap: int = 0
    boundary: int = 0  # which seam of the chain this is (N → N+1 is boundary N)
    anchor: Frame | None = None  # colour reference; default: the last frame of N
    reference: IdentityReference | None = None  # Seed A for the identity check
    methods: tuple[ColourMethod, ...] = (ColourMethod.REINHARD, ColourMethod.HISTOGRAM)
    strength: float = 1.0
    decay_frames: int | None = None  # None: full strength on every frame of N+1
    crossfade_frames: tuple[int, ...] = (4, 8)
    blend_space: BlendSpace = BlendSpace.LINEAR
    blend_curve: BlendCurve = BlendCurve.LINEAR
    accept: Grade = Grade.GREEN  # the grade a seam must reach to count as healed


@dataclass(frozen=True, slots=True)
class RemedyAttempt:
    remedy: RemedyKind
    parameters: Mapping[str, object]
    grade_before: Grade
    grade_after: Grade
    score_before: float
    score_after: float
    passed: bool
    reasons_after: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HealReport:
    boundary: int
    verdict: HealVerdict
    reason: str
    grade_before: Grade
    grade_after: Grade
    score_before: float
    score_after: float
    applied: tuple[RemedyAttempt, ...]  # the remedies kept, in the order applied
    attempts: tuple[RemedyAttempt, ...]  # everything tried
    before: SeamReport
    after: SeamReport
    regenerate_boundary: int | None = None  # set with NEEDS_REGENERATION

    @property
    def remedy(self) -> str:
        """A short name of what was done: "none", "colour_match", "colour_match+crossfade", …"""
        return "+".join(a.remedy.value for a in self.applied) or "none"


@dataclass(frozen=True, slots=True, eq=False)  # holds frames: compare by identity
class HealResult:
    """The report and the frames to play: `tail` then `head` (overlap frames resolved; a crossfade
    shortens the pair by k)."""

    report: HealReport
    tail: tuple[Frame, ...]
    head: tuple[Frame, ...] = field(repr=False)


def default_scorer(reference: IdentityReference | None) -> Scorer:
    def score(tail: Sequence[Frame], head: Sequence[Frame], identity: bool) -> SeamReport:
        return analyze_seam(tail[-SCORE_CONTEXT:], head[:SCORE_CONTEXT], reference=reference, identity=identity)

    return score


def heal_seam(
    req: HealRequest,
    *,
    scorer: Scorer | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressSink = no_progress,
) -> HealResult:
    """Climb the ladder until the seam reaches `req.accept`, or say which boundary to regenerate."""
    o = req.overlap
    if not req.tail or len(req.head) <= o or o < 0:
        raise InvalidInput(
            f"A seam needs frames on both sides beyond the {o}-frame overlap to heal",
            "Check that both segments decode.",
        )
    score = scorer or default_scorer(req.reference)
    token = cancel or CancelToken()
    steps = 2 + len(req.methods) + len(req.crossfade_frames)
    progress(0, steps, "scoring the seam")
    before = score(req.tail, req.head[o:], True)
    token.raise_if_cancelled("Healing")
    if _passes(before, req.accept):
        return _result(req, HealVerdict.CLEAN, "the seam already passes; nothing changed", before, before, (), ())
    if (why := _unhealable(before)) is not None:
        return _regenerate(req, why, before, ())

    attempts: list[RemedyAttempt] = []
    best_head, best_report = req.head, before
    kept: tuple[RemedyAttempt, ...] = ()
    anchor = (req.anchor,) if req.anchor is not None else req.tail[-1:]
    # Fit on the head frame showing the tail's last moment (the overlap's last frame, else the first).
    fit_on = req.head[max(0, o - 1) : max(1, o)]
    for n, method in enumerate(req.methods, start=1):
        progress(n, steps, f"colour match ({method.value})")
        transfer = fit_transfer(anchor, fit_on, method)
        head = tuple(match_segment(req.head, transfer, req.strength, req.decay_frames))
        after = score(req.tail, head[o:], True)
        token.raise_if_cancelled("Healing")
        params: dict[str, object] = {
            "method": method.value,
            "strength": req.strength,
            "decay_frames": req.decay_frames,
            "anchor": "given image" if req.anchor is not None else "last frame of segment N",
        }
        attempt = _attempt(RemedyKind.COLOUR_MATCH, params, before, after, req.accept)
        attempts.append(attempt)
        if after.score > best_report.score:
            best_head, best_report, kept = head, after, (attempt,)
        if attempt.passed:
            reason = f"colour match ({method.value}) passes"
            return _result(
                req, HealVerdict.HEALED, reason, before, after, (attempt,), tuple(attempts), req.tail, head[o:]
            )

    if (why := _no_crossfade(best_report)) is None:
        for n, k in enumerate(req.crossfade_frames, start=1 + len(req.methods)):
            if not 1 <= k <= min(len(req.tail), o if o else len(best_head) - 1):
                continue
            progress(n, steps, f"crossfade over {k} frames")
            tail, head = _crossfaded(req, best_head, k)
            after = _worst_inside_blend(score, tail, head, k)
            if _passes(after, req.accept):
                # The blend's first cut again, now with identity: the worse of the two counts.
                final = score(tail, head, True)
                after = max((after, final), key=lambda r: (r.grade.rank, -r.score))
            token.raise_if_cancelled("Healing")
            blend: dict[str, object] = {"frames": k, "space": req.blend_space.value, "curve": req.blend_curve.value}
            attempt = _attempt(RemedyKind.CROSSFADE, blend, best_report, after, req.accept)
            attempts.append(attempt)
            if attempt.passed:
                applied = (*kept, attempt)
                reason = f"{' + '.join(a.remedy.value for a in applied).replace('_', ' ')} passes"
                return _result(req, HealVerdict.HEALED, reason, before, after, applied, tuple(attempts), tail, head)
        why = "no colour match or crossfade brought the seam to " + req.accept.value
    progress(steps, steps, "needs regeneration")
    return _regenerate(req, why, before, tuple(attempts))


def _passes(report: SeamReport, accept: Grade) -> bool:
    return report.grade.rank <= accept.rank


def _unhealable(report: SeamReport) -> str | None:
    identity = report.metric(SeamMetric.IDENTITY)
    if identity is not None and identity.grade is not Grade.GREEN:
        return f"the face changed at the cut ({identity.detail}); colour or blend remedies cannot restore identity"
    frozen = report.metric(SeamMetric.FROZEN)
    if frozen is not None and frozen.grade is Grade.RED:
        return f"the seam stalls ({frozen.detail}); only new frames can fix a freeze"
    return None


def _no_crossfade(report: SeamReport) -> str | None:
    if (why := _unhealable(report)) is not None:
        return why
    red = [g for g in report.grades if g.metric in STRUCTURAL and g.grade is Grade.RED]
    if red:
        return f"the picture jumps at the cut ({red[0].detail}); a crossfade would only ghost it"
    return None


def _crossfaded(req: HealRequest, head: tuple[Frame, ...], k: int) -> tuple[tuple[Frame, ...], tuple[Frame, ...]]:
    """Overlap: blend the k shared moments. No overlap: dissolve N's last k into N+1's first k."""
    o, cut = req.overlap, len(req.tail) - k
    shared, rest = (head[o - k : o], head[o:]) if o else (head[:k], head[k:])
    mixed = crossfade(req.tail[cut:], shared, req.blend_space, req.blend_curve)
    return req.tail[:cut], (*mixed, *rest)


def _worst_inside_blend(score: Scorer, tail: tuple[Frame, ...], head: tuple[Frame, ...], k: int) -> SeamReport:
    """Score every cut from the last untouched frame of N to the first untouched frame of N+1."""
    joined = (*tail, *head)
    start = len(tail)
    reports = [score(joined[:p], joined[p:], False) for p in range(max(1, start), min(len(joined), start + k + 1))]
    return min(reports, key=lambda r: r.score)


def _attempt(
    kind: RemedyKind, params: dict[str, object], before: SeamReport, after: SeamReport, accept: Grade
) -> RemedyAttempt:
    return RemedyAttempt(
        kind,
        MappingProxyType(params),
        before.grade,
        after.grade,
        round(before.score, 4),
        round(after.score, 4),
        _passes(after, accept),
        after.reasons,
    )


def _result(
    req: HealRequest,
    verdict: HealVerdict,
    reason: str,
    before: SeamReport,
    after: SeamReport,
    applied: tuple[RemedyAttempt, ...],
    attempts: tuple[RemedyAttempt, ...],
    tail: tuple[Frame, ...] | None = None,
    head: tuple[Frame, ...] | None = None,
) -> HealResult:
    report = HealReport(
        boundary=req.boundary,
        verdict=verdict,
        reason=reason,
        grade_before=before.grade,
        grade_after=after.grade,
        score_before=round(before.score, 4),
        score_after=round(after.score, 4),
        applied=applied,
        attempts=attempts,
        before=before,
        after=after,
        regenerate_boundary=req.boundary if verdict is HealVerdict.NEEDS_REGENERATION else None,
    )
    return HealResult(report, req.tail if tail is None else tail, req.head[req.overlap :] if head is None else head)


def _regenerate(req: HealRequest, why: str, before: SeamReport, attempts: tuple[RemedyAttempt, ...]) -> HealResult:
    reason = f"boundary {req.boundary} needs regeneration: {why}"
    return _result(req, HealVerdict.NEEDS_REGENERATION, reason, before, before, (), attempts)
