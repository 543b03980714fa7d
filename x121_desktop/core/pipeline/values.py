"""Frozen values of a scene and its chain, and parsing of what people type for them.

A scene is addressed as `CHARACTER/NAME`; a duration range as `MIN-MAX` in seconds (`4-6`,
`2.5-4`, `5/2-4`, `4-6s`) or frames (`41-45f`). Time stays in integer frames and `Fraction`s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from x121_desktop.core.enums import (
    SceneStatus,
    SeamGrade,
    SeedPolicy,
    SegmentStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
)
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import CharacterId, FileId, JobId, SceneId, SegmentId, TakeId, WorkflowVersionId
from x121_desktop.core.stitching.duration import FrameCountRule, frames_in


@dataclass(frozen=True, slots=True)
class SceneRef:
    character: str
    scene: str

    def __str__(self) -> str:
        return f"{self.character}/{self.scene}"


def parse_scene_ref(text: str) -> SceneRef:
    character, sep, scene = text.strip().partition("/")
    if not sep or not character.strip() or not scene.strip() or "/" in scene:
        raise InvalidInput(f"{text!r} does not name a scene", "Write it as CHARACTER/SCENE, e.g. Ada/intro")
    return SceneRef(character.strip(), scene.strip())


@dataclass(frozen=True, slots=True)
class FrameSpan:
    """An inclusive range of frames."""

    min_frames: int
    max_frames: int


_NUMBER = r"\d+(?:\.\d+)?(?:/\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*-\s*({_NUMBER})\s*([sf]?)\s*$", re.IGNORECASE)


def parse_duration(text: str, rate: Fraction) -> FrameSpan:
    """`MIN-MAX` seconds (or frames with an `f` suffix) → whole frames inside the range."""
    match = _RANGE.match(text)
    if match is None:
        raise InvalidInput(
            f"{text!r} is not a duration range", "Write MIN-MAX in seconds (4-6, 2.5-4) or frames (41-45f)"
        )
    low, high, unit = Fraction(match[1]), Fraction(match[2]), match[3].lower()
    if unit == "f":
        if low.denominator != 1 or high.denominator != 1:
            raise InvalidInput(f"{text!r} gives fractional frames", "Give whole frame counts, e.g. 41-45f")
        span = FrameSpan(int(low), int(high))
    else:
        span = FrameSpan(frames_in(low, rate, round_up=True), frames_in(high, rate, round_up=False))
    if span.min_frames < 1 or span.max_frames < span.min_frames:
        raise InvalidInput(
            f"The duration {text!r} holds no whole frame at {rate} fps", "Give a minimum no larger than the maximum"
        )
    return span


def parse_span(text: str, what: str) -> FrameSpan:
    """`MIN-MAX` whole numbers (e.g. segment frame limits)."""
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise InvalidInput(f"{text!r} is not a {what} range", f"Write the {what} as MIN-MAX whole numbers, e.g. 9-17")
    return FrameSpan(int(match[1]), int(match[2]))


def parse_frame_rule(text: str) -> FrameCountRule:
    """`4n+1`, `8n+1`, `n` (any count) → a FrameCountRule."""
    cleaned = text.replace(" ", "").lower()
    if cleaned in ("n", "any", "1n", "1n+1"):
        return FrameCountRule(1, 1)
    match = re.fullmatch(r"(\d+)n(?:\+(\d+))?", cleaned)
    if match is None or int(match[1]) < 1:
        raise InvalidInput(f"{text!r} is not a frame rule", "Write it as STEPn+OFFSET, e.g. 4n+1 (Wan) or n")
    return FrameCountRule(int(match[1]), int(match[2] or 0))


def parse_rate(text: str) -> Fraction:
    try:
        rate = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InvalidInput(f"{text!r} is not a frame rate", "Give it as 24, 25 or 24000/1001") from None
    if rate <= 0:
        raise InvalidInput(f"A frame rate of {text} is not positive", "Give it as 24, 25 or 24000/1001")
    return rate


@dataclass(frozen=True, slots=True)
class TakeValue:
    id: TakeId
    segment_id: SegmentId
    parent_take_id: TakeId | None
    reason: TakeReason
    status: TakeStatus
    file_id: FileId | None
    start_file_id: FileId | None
    job_id: JobId | None
    seed: int | None
    cut_frame: int | None
    frame_count: int | None
    created_at: str


@dataclass(frozen=True, slots=True)
class SeamValue:
    id: int
    left_take_id: TakeId
    right_take_id: TakeId
    grade: SeamGrade
    score: float
    metrics: Mapping[str, Any]
    remedy: Mapping[str, Any] | None

    @property
    def tail_trim(self) -> int:
        return int((self.remedy or {}).get("tail_trim", 0))

    @property
    def head_trim(self) -> int:
        return int((self.remedy or {}).get("head_trim", 0))


@dataclass(frozen=True, slots=True)
class SegmentValue:
    id: SegmentId
    position: int
    status: SegmentStatus
    prompt: str | None
    planned_frames: int
    current_take_id: TakeId | None


@dataclass(frozen=True, slots=True)
class SceneValue:
    id: SceneId
    character_id: CharacterId
    character: str
    project_id: int
    name: str
    status: SceneStatus
    workflow_version_id: WorkflowVersionId | None
    workflow: str
    workflow_version: int
    min_frames: int
    max_frames: int
    rate: Fraction
    prompt: str
    negative_prompt: str
    seed_policy: SeedPolicy
    base_seed: int
    likeness_weight: float
    stitch_mode: StitchMode
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> SceneRef:
        return SceneRef(self.character, self.name)

    @property
    def params(self) -> Mapping[str, Any]:
        """Fixed workflow parameters (width, height, …) given at creation."""
        value = self.settings.get("params", {})
        return value if isinstance(value, Mapping) else {}

    def params_for(self, position: int) -> Mapping[str, Any]:
        """The fixed parameters of segment `position` (0-based): the scene's, overridden by that
        segment's own (`settings.segment_params`, keyed by 1-based segment number)."""
        own = (self.settings.get("segment_params") or {}).get(str(position + 1), {})
        return {**self.params, **own} if isinstance(own, Mapping) else dict(self.params)
