"""Chain planning: segment lengths, seeds per policy, the director's next steps, assembly ranges.

A scene is a chain: segment 0 starts from Seed A; segment k > 0 starts from the cut frame of
segment k-1's current take, so its frame 0 repeats that moment (the plan's overlap of 1 frame).
Assembly therefore keeps, of each current take, frames `head … end` where `head` is 0 for the
first segment and 1 (+ any advanced-cut head trim) after, and `end` is the take's cut frame
(minus any tail trim the next seam chose).

`next_steps` is the director's pure decision: given each link's status, its current take and
whether its left seam is measured, it says which seams to measure, which segments to submit and
whether the chain is complete. It is a function of database state only, so a director that
restarts (or a second one) reaches the same decisions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from x121_desktop.core.enums import SeedPolicy, SegmentStatus, TakeReason
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.pipeline.transitions import SETTLED_SEGMENT
from x121_desktop.core.pipeline.values import FrameSpan
from x121_desktop.core.stitching.duration import FrameCountRule, ModelLimits, PlanRequest, SegmentPlan, plan_segments

Sg = SegmentStatus
SEED_LIMIT = 2**53  # seeds stay exact in JSON and fit the manifests' 64-bit limits
OVERLAP = 1  # frame 0 of segment k repeats the cut frame of segment k-1


# ------------------------------------------------------------------ planning


@dataclass(frozen=True, slots=True)
class ChainLimits:
    """The model's segment limits the scene is planned with (kept in `scenes.settings.limits`)."""

    min_frames: int
    max_frames: int
    step: int = 1
    offset: int = 1

    @property
    def rule(self) -> FrameCountRule:
        return FrameCountRule(self.step, self.offset)

    def model(self) -> ModelLimits:
        return ModelLimits(self.min_frames, self.max_frames, self.rule, OVERLAP)

    def as_json(self) -> dict[str, int]:
        return {"min_frames": self.min_frames, "max_frames": self.max_frames, "step": self.step, "offset": self.offset}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChainLimits:
        return cls(int(data["min_frames"]), int(data["max_frames"]), int(data["step"]), int(data["offset"]))


def limits_from_manifest(parameters: Mapping[str, Mapping[str, Any]]) -> ChainLimits:
    """Default limits from the manifest's `frame_count` parameter (any count inside its min/max)."""
    spec = parameters.get("frame_count", {})
    low = int(spec.get("min", 1))
    high = int(spec.get("max", 4096))
    return ChainLimits(max(low, 2), max(high, 2), 1, 1)


def plan_chain(span: FrameSpan, rate: Fraction, limits: ChainLimits) -> SegmentPlan:
    """The fewest segments (each within the limits and rule) whose chained total fits `span`."""
    if limits.min_frames < 2:
        raise InvalidInput(
            f"Segments of {limits.min_frames} frame cannot be chained (frame 0 repeats the previous cut)",
            "Allow at least 2 frames per segment",
        )
    return plan_segments(PlanRequest(rate, span.min_frames, span.max_frames, limits.model()))


# ------------------------------------------------------------------ seeds


def seed_for(policy: SeedPolicy, base_seed: int, position: int, generation: int, inherited: int | None = None) -> int:
    """The seed of a segment's take. `generation` counts earlier generated takes of the segment
    (0: the first), so a redo never repeats its predecessor's seed (nor hits the warm-start cache).

    FIXED: the base seed for every segment (latent texture kept along the chain);
    INCREMENT: base + position; INHERIT: the previous segment's seed (segment 0: base);
    RANDOM: a hash of (base, position, generation), stable across restarts.
    """
    if policy is SeedPolicy.FIXED:
        value = base_seed + generation
    elif policy is SeedPolicy.INCREMENT:
        value = base_seed + position + generation * 1_000_003
    elif policy is SeedPolicy.INHERIT:
        value = (base_seed if inherited is None else inherited) + generation
    else:
        digest = hashlib.sha256(f"{base_seed}:{position}:{generation}".encode()).digest()
        value = int.from_bytes(digest[:8], "big")
    return value % SEED_LIMIT


def take_reason(has_current: bool, same_start: bool) -> TakeReason:
    """INITIAL for a segment's first take; a redo from the same start is REGENERATE, else RECHAIN."""
    if not has_current:
        return TakeReason.INITIAL
    return TakeReason.REGENERATE if same_start else TakeReason.RECHAIN


# ------------------------------------------------------------------ the director's decision


@dataclass(frozen=True, slots=True)
class LinkState:
    """One segment of the chain as the director sees it."""

    position: int
    status: SegmentStatus
    has_current: bool  # a usable current take (ready, approved or rejected)
    pending: bool  # a take is pending or generating
    left_seam: bool  # the seam (previous current take | this current take) is measured
    auto_regen_allowed: bool = False  # NEEDS_REGEN that the director may retry once by itself


@dataclass(frozen=True, slots=True)
class Steps:
    settle: tuple[int, ...] = ()  # segment 0 with a fresh take: nothing to measure, ready for review
    measure: tuple[int, ...] = ()  # positions whose left seam is to be measured (healed if red)
    submit: tuple[int, ...] = ()  # positions to generate now
    retry: tuple[int, ...] = ()  # NEEDS_REGEN positions the director queues again by itself
    waiting: tuple[int, ...] = ()  # positions waiting for a person (failed, stale, needs regeneration)
    complete: bool = False  # every segment has a measured, usable take

    @property
    def empty(self) -> bool:
        return not (self.settle or self.measure or self.submit or self.retry)


def _ready(link: LinkState) -> bool:
    return link.has_current and link.status in SETTLED_SEGMENT and link.status is not Sg.GENERATED


def next_steps(links: Sequence[LinkState]) -> Steps:
    ordered = sorted(links, key=lambda link: link.position)
    if [link.position for link in ordered] != list(range(len(ordered))):
        raise ValueError("segment positions must be 0..n-1")
    settle: list[int] = []
    measure: list[int] = []
    submit: list[int] = []
    retry: list[int] = []
    waiting: list[int] = []
    for k, link in enumerate(ordered):
        before = ordered[k - 1] if k else None
        left_ok = before is None or _ready(before)
        if link.status is Sg.GENERATED and link.has_current and not link.pending:
            if before is None:
                settle.append(k)
            elif left_ok:
                measure.append(k)
        elif link.status in (Sg.PLANNED, Sg.QUEUED) and not link.pending:
            if link.status is Sg.QUEUED and left_ok:
                submit.append(k)
        elif link.status is Sg.NEEDS_REGEN and not link.pending:
            (retry if link.auto_regen_allowed and left_ok else waiting).append(k)
        elif link.status in (Sg.FAILED, Sg.CANCELLED, Sg.STALE):
            waiting.append(k)
    complete = bool(ordered) and all(
        _ready(link) and not link.pending and (k == 0 or link.left_seam) for k, link in enumerate(ordered)
    )
    return Steps(tuple(settle), tuple(measure), tuple(submit), tuple(retry), tuple(waiting), complete)


# ------------------------------------------------------------------ assembly


@dataclass(frozen=True, slots=True)
class KeptRange:
    """Frames `head … end` (inclusive) of one take go into the assembled scene."""

    position: int
    head: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.head + 1


def kept_ranges(cuts: Sequence[int], trims: Sequence[tuple[int, int]]) -> tuple[KeptRange, ...]:
    """`cuts[k]`: cut frame of take k; `trims[k-1]`: (tail trim of k-1, head trim of k) chosen at
    seam k-1|k (advanced mode; (0, 0) for a simple cut)."""
    if len(trims) != max(0, len(cuts) - 1):
        raise ValueError("one trim pair per seam")
    out = []
    for k, cut in enumerate(cuts):
        head = 0 if k == 0 else OVERLAP + trims[k - 1][1]
        end = cut - (trims[k][0] if k < len(trims) else 0)
        if end < head:
            raise InvalidInput(
                f"Segment {k + 1} keeps no frames after its cut and trims", "Regenerate it or choose another cut"
            )
        out.append(KeptRange(k, head, end))
    return tuple(out)


def elastic_length(
    lengths: Sequence[int], cuts: Sequence[int], trims: Sequence[tuple[int, int]], limits: ChainLimits
) -> int:
    """Frames to generate for segment `len(cuts)` so the chain still reaches its planned total.

    Advanced cuts stop a take before its last frame and seams may trim frames: what segments
    0..k-1 keep (`cuts`, and the trims of the seams between them) can fall short of the plan.
    Segment k makes up the shortfall, rounded up to the model's frame rule and held within its
    limits (the last segment's surplus is cut at assembly: `fit_to_total`)."""
    k = len(cuts)
    planned_kept = planned_total(lengths[:k]) if k else 0
    kept = sum(r.length for r in kept_ranges(cuts, list(trims[: k - 1]))) if k else 0
    want = max(limits.min_frames, lengths[k] + planned_kept - kept)
    valid = limits.rule.valid_between(want, limits.max_frames)
    if valid:
        return valid[0]
    fallback = limits.rule.valid_between(limits.min_frames, limits.max_frames)
    return fallback[-1] if fallback else lengths[k]


def fit_to_total(ranges: Sequence[KeptRange], total: int) -> tuple[KeptRange, ...]:
    """Shorten the last range so the ranges hold at most `total` frames (never below its head)."""
    if not ranges:
        return ()
    surplus = sum(r.length for r in ranges) - total
    last = ranges[-1]
    if surplus <= 0:
        return tuple(ranges)
    return (*ranges[:-1], KeptRange(last.position, last.head, max(last.head, last.end - surplus)))


def planned_total(lengths: Sequence[int]) -> int:
    """Frames of the assembled scene when every take has its planned length and a simple cut."""
    return sum(lengths) - OVERLAP * max(0, len(lengths) - 1)
