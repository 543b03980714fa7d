"""Status transition rules for scenes, segments and takes (mirrors of the lookup enums).

Every member of SceneStatus, SegmentStatus and TakeStatus has an entry (tests check it), so a new
status takes one revision, one enum member and one rule here (ARCHITECTURE §6.7). Staying in the
same status is always allowed (idempotent writes). `require` raises one sentence naming the
thing, where it is and where it cannot go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from x121_desktop.core.enums import LookupEnum, SceneStatus, SegmentStatus, TakeReason, TakeStatus
from x121_desktop.core.errors import InvalidInput

Sc, Sg, Tk = SceneStatus, SegmentStatus, TakeStatus

SCENE: Mapping[SceneStatus, frozenset[SceneStatus]] = {
    Sc.DRAFT: frozenset({Sc.PLANNED, Sc.ARCHIVED}),
    Sc.PLANNED: frozenset({Sc.IN_PROGRESS, Sc.DRAFT, Sc.ARCHIVED}),
    Sc.IN_PROGRESS: frozenset({Sc.IN_REVIEW, Sc.PLANNED, Sc.ARCHIVED}),
    Sc.IN_REVIEW: frozenset({Sc.IN_PROGRESS, Sc.APPROVED, Sc.ARCHIVED}),
    Sc.APPROVED: frozenset({Sc.IN_PROGRESS, Sc.IN_REVIEW, Sc.DELIVERED, Sc.ARCHIVED}),
    Sc.DELIVERED: frozenset({Sc.IN_PROGRESS, Sc.IN_REVIEW, Sc.APPROVED, Sc.ARCHIVED}),
    Sc.ARCHIVED: frozenset({Sc.IN_REVIEW}),
}

_REDO = {Sg.QUEUED, Sg.STALE, Sg.NEEDS_REGEN}
# A person cancelled the generation (core.pipeline.stopping): PLANNED with no usable take, else back
# to what its current take is (in review, approved, rejected; generated while its seam is unmeasured).
_STOPPED = {Sg.PLANNED, Sg.IN_REVIEW, Sg.APPROVED, Sg.REJECTED, Sg.CANCELLED}
SEGMENT: Mapping[SegmentStatus, frozenset[SegmentStatus]] = {
    Sg.PLANNED: frozenset({Sg.QUEUED, Sg.CANCELLED}),
    Sg.QUEUED: frozenset({Sg.GENERATING, Sg.GENERATED, Sg.FAILED, *_STOPPED}),
    # GENERATING → QUEUED: its job was lost and is queued again (same prompt_id).
    Sg.GENERATING: frozenset({Sg.QUEUED, Sg.GENERATED, Sg.FAILED, *_STOPPED}),
    # GENERATED: a usable take whose left seam is still to be measured (also after heal-only).
    Sg.GENERATED: frozenset({Sg.IN_REVIEW, Sg.NEEDS_REGEN, *_REDO}),
    Sg.IN_REVIEW: frozenset({Sg.APPROVED, Sg.REJECTED, Sg.GENERATED, *_REDO}),
    Sg.APPROVED: frozenset({Sg.IN_REVIEW, Sg.REJECTED, Sg.GENERATED, *_REDO}),
    Sg.REJECTED: frozenset({Sg.IN_REVIEW, Sg.APPROVED, Sg.GENERATED, *_REDO}),
    Sg.STALE: frozenset({Sg.QUEUED, Sg.GENERATED, Sg.IN_REVIEW, Sg.NEEDS_REGEN}),
    # NEEDS_REGEN → CANCELLED: a person cancelled the scene's generation before the director's own retry.
    Sg.NEEDS_REGEN: frozenset({Sg.QUEUED, Sg.GENERATED, Sg.IN_REVIEW, Sg.STALE, Sg.CANCELLED}),
    Sg.FAILED: frozenset({Sg.QUEUED, Sg.CANCELLED}),
    Sg.CANCELLED: frozenset({Sg.QUEUED}),
}

TAKE: Mapping[TakeStatus, frozenset[TakeStatus]] = {
    Tk.PENDING: frozenset({Tk.GENERATING, Tk.READY, Tk.FAILED, Tk.CANCELLED}),
    Tk.GENERATING: frozenset({Tk.READY, Tk.FAILED, Tk.CANCELLED}),
    Tk.READY: frozenset({Tk.APPROVED, Tk.REJECTED, Tk.SUPERSEDED}),
    Tk.APPROVED: frozenset({Tk.READY, Tk.REJECTED, Tk.SUPERSEDED}),
    Tk.REJECTED: frozenset({Tk.READY, Tk.APPROVED, Tk.SUPERSEDED}),
    Tk.SUPERSEDED: frozenset({Tk.READY, Tk.APPROVED, Tk.REJECTED}),
    Tk.FAILED: frozenset(),
    Tk.CANCELLED: frozenset(),
}

RULES: Mapping[type[LookupEnum], Mapping[Any, frozenset[Any]]] = {
    SceneStatus: SCENE,
    SegmentStatus: SEGMENT,
    TakeStatus: TAKE,
}

# Segments whose chain is settled (a usable current take), and those the director must (re)make.
SETTLED_SEGMENT = frozenset({Sg.GENERATED, Sg.IN_REVIEW, Sg.APPROVED, Sg.REJECTED})
BUSY_SEGMENT = frozenset({Sg.QUEUED, Sg.GENERATING})
USABLE_TAKE = frozenset({Tk.READY, Tk.APPROVED, Tk.REJECTED})


def can[E: LookupEnum](current: E, target: E) -> bool:
    if current is target:
        return True
    return target in RULES[type(current)][current]


def require[E: LookupEnum](current: E, target: E, what: str) -> None:
    """Raise when `what` (e.g. "Segment 2") cannot go from `current` to `target`."""
    if not can(current, target):
        raise InvalidInput(
            f"{what} is {current.label.lower()} and cannot become {target.label.lower()}",
            "Check its status with `x121 scene status` and wait for running work to finish",
        )


def retried_by_the_director(current_reason: TakeReason | None) -> bool:
    """Whether a NEEDS_REGEN segment is queued again by the director itself (once): its current take
    is not already a regeneration or a heal."""
    return current_reason is not None and current_reason not in (TakeReason.REGENERATE, TakeReason.HEAL)
