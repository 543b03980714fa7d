"""Stitching modes: how segment N hands over to segment N+1.

* **Simple**: the strict last frame of N is the start image of N+1. Stitching plays N, then
  N+1 whole (its first frame repeats N's last: a 2-frame hold the seam metrics accept).
* **Advanced** (validated continuity): search an overlap window (the last `window` frames of N
  x the first `window` frames of N+1) for the frame pair with the best seam score and cut there:
  N keeps frames up to `tail_index`, N+1 resumes at `head_index`. The choice reports what was
  trimmed from each side and the seam grade/score before (the simple cut) and after.

The search scores each candidate pair with `metrics.analyze_seam` without identity (identity
costs ~0.2 s per frame and hardly changes within a few frames); the simple and chosen cuts are
then scored again with identity. Ties go to the cut that trims the fewest frames.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness.faces import IdentityReference
from x121_desktop.core.media import FrameReader
from x121_desktop.core.stitching.colour import Frame
from x121_desktop.core.stitching.metrics import analyze_seam
from x121_desktop.core.stitching.report import SeamReport
from x121_desktop.core.stitching.score import Grade

SEAM_CONTEXT = 4  # frames each side of a candidate cut used for the scorer's within-side baseline
DEFAULT_WINDOW = 6


class StitchMode(enum.StrEnum):
    SIMPLE = "simple"
    ADVANCED = "advanced"


@dataclass(frozen=True, slots=True, eq=False)  # holds frames: compare by identity
class StartImage:
    """The start image for the next segment: frame `index` of a segment of `frame_count` frames."""

    index: int
    frame_count: int
    image: Frame


def simple_start(frames: Sequence[Frame]) -> StartImage:
    """Simple mode: the last frame of N."""
    if not frames:
        raise InvalidInput("The segment has no frames to take a start image from", "Generate or decode it first.")
    return StartImage(len(frames) - 1, len(frames), frames[-1])


def simple_start_from_file(path: Path) -> StartImage:
    """Simple mode on a video file: its exact last frame (frame-accurate, whatever the GOP)."""
    with FrameReader(path) as reader:
        n = reader.frame_count
        if n == 0:
            raise InvalidInput(f"{path} holds no decodable frames", "Check the file or generate it again.")
        return StartImage(n - 1, n, reader.frame(n - 1))


@dataclass(frozen=True, slots=True, eq=False)  # holds frames: compare by identity
class CutRequest:
    """Frames around one seam. `tail` is the end of N, starting at frame `tail_start` of N;
    `head` is the start of N+1 (its frame 0 first). Indices in the result are N's and N+1's own."""

    tail: tuple[Frame, ...]
    head: tuple[Frame, ...]
    tail_start: int = 0
    window: int = DEFAULT_WINDOW
    reference: IdentityReference | None = None
    min_gain: float = 0.02  # a cut must beat the simple cut's score by this much to trim anything


@dataclass(frozen=True, slots=True)
class CutChoice:
    mode: StitchMode
    tail_index: int  # last kept frame of N
    head_index: int  # first kept frame of N+1
    trimmed_tail: int  # frames dropped from the end of N
    trimmed_head: int  # frames dropped from the start of N+1
    grade_before: Grade  # the simple cut (all of N, then all of N+1)
    grade_after: Grade
    score_before: float
    score_after: float
    pairs_searched: int
    before: SeamReport
    after: SeamReport

    @property
    def trimmed(self) -> int:
        return self.trimmed_tail + self.trimmed_head


def simple_cut(req: CutRequest) -> CutChoice:
    """The simple stitch described as a cut: nothing trimmed, scored once."""
    _check(req)
    report = _score(req, len(req.tail) - 1, 0, identity=True)
    last = req.tail_start + len(req.tail) - 1
    return CutChoice(StitchMode.SIMPLE, last, 0, 0, 0, report.grade, report.grade,
                     round(report.score, 4), round(report.score, 4), 1, report, report)  # fmt: skip


def advanced_cut(
    req: CutRequest, *, cancel: CancelToken | None = None, progress: ProgressSink = no_progress
) -> CutChoice:
    """Search the overlap window for the best-scoring pair and cut there."""
    _check(req)
    if req.window < 1:
        raise InvalidInput(f"An overlap window of {req.window} frames is empty", "Use a window of at least 1 frame.")
    n_tail = len(req.tail)
    tails = range(n_tail - 1, max(-1, n_tail - 1 - req.window), -1)
    heads = range(min(req.window, len(req.head)))
    total = len(tails) * len(heads)
    best: tuple[float, int, int, int] | None = None  # (score, -trimmed, i, j)
    done = 0
    for i in tails:
        for j in heads:
            if cancel is not None:
                cancel.raise_if_cancelled("The overlap search")
            s = _score(req, i, j, identity=False).score
            trimmed = (n_tail - 1 - i) + j
            key = (round(s, 6), -trimmed, i, j)
            if best is None or key[:2] > best[:2]:
                best = key
            done += 1
            progress(done, total, "searching the overlap window")
    assert best is not None  # both ranges hold at least one index
    simple = _score(req, n_tail - 1, 0, identity=True)
    _, _, i, j = best
    after = simple if (i, j) == (n_tail - 1, 0) else _score(req, i, j, identity=True)
    if after.score < simple.score + req.min_gain:
        i, j, after = n_tail - 1, 0, simple  # not worth trimming anything
    return CutChoice(
        mode=StitchMode.ADVANCED,
        tail_index=req.tail_start + i,
        head_index=j,
        trimmed_tail=n_tail - 1 - i,
        trimmed_head=j,
        grade_before=simple.grade,
        grade_after=after.grade,
        score_before=round(simple.score, 4),
        score_after=round(after.score, 4),
        pairs_searched=total,
        before=simple,
        after=after,
    )


def _score(req: CutRequest, i: int, j: int, *, identity: bool) -> SeamReport:
    """The seam when N ends at tail[i] and N+1 resumes at head[j]."""
    tail = req.tail[max(0, i + 1 - SEAM_CONTEXT) : i + 1]
    head = req.head[j : j + SEAM_CONTEXT]
    return analyze_seam(tail, head, reference=req.reference, identity=identity)


def _check(req: CutRequest) -> None:
    if not req.tail or not req.head:
        raise InvalidInput("A seam needs frames on both sides", "Check that both segments decode to frames.")
