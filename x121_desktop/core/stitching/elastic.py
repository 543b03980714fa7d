"""Elastic duration on real frames: measure a segment, then pick where to stop it.

Glue between the seam metrics (`segment.analyze_segment`: motion per frame pair, sharpness per
frame, face distance to Seed A at sampled frames) and the pure solver in duration.py.

Per frame: motion is the flow *into* the frame (frame 0 takes the first pair's); face presence and
likeness come from the nearest identity sample (identity runs only every `identity_every` frames,
~0.2 s each), so sample at the rule's step (4 for Wan) to measure every candidate stop frame.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from fractions import Fraction

from x121_desktop.core.cancel import CancelToken, ProgressSink
from x121_desktop.core.likeness.faces import IdentityReference
from x121_desktop.core.stitching.colour import Frame
from x121_desktop.core.stitching.duration import (
    WAN_RULE,
    FrameCountRule,
    FrameMeasures,
    StopChoice,
    StopRequest,
    choose_stop_frame,
)
from x121_desktop.core.stitching.report import SegmentReport
from x121_desktop.core.stitching.segment import analyze_segment


def measures_from_segment(report: SegmentReport) -> tuple[FrameMeasures, ...]:
    """One FrameMeasures per frame of an analysed segment."""
    n = report.frame_count
    samples = report.identity
    sampled_at = [s.frame for s in samples]
    out: list[FrameMeasures] = []
    for i in range(n):
        pair = i - 1 if i > 0 else 0
        motion = report.motion[pair] if pair < len(report.motion) else 0.0
        face: bool | None = None
        likeness: float | None = None
        if samples:
            k = bisect.bisect_left(sampled_at, i)
            nearest = min((j for j in (k - 1, k) if 0 <= j < len(samples)), key=lambda j: abs(sampled_at[j] - i))
            face = samples[nearest].box is not None
            likeness = samples[nearest].distance
        out.append(FrameMeasures(float(motion), float(report.sharpness[i]), face, likeness))
    return tuple(out)


def choose_stop_for_frames(
    frames: Sequence[Frame],
    rate: Fraction,
    min_seconds: Fraction,
    max_seconds: Fraction,
    *,
    rule: FrameCountRule = WAN_RULE,
    reference: IdentityReference | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressSink | None = None,
) -> StopChoice:
    """Analyse `frames` and choose the most stable stop frame within [min, max] seconds."""
    report = analyze_segment(
        frames,
        reference=reference,
        identity_every=rule.step if reference is not None else 0,
        frame_count=len(frames),
        cancel=cancel,
        progress=progress,
    )
    measures = measures_from_segment(report)
    return choose_stop_frame(StopRequest.from_seconds(measures, rate, min_seconds, max_seconds, rule))
