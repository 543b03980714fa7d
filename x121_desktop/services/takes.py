"""Takes: the media work on them (cut frame, start image, seam measure, heal) and their review.

The media functions are blocking and database-free: the director runs them on the `cpu`
executor between its transactions. `TakeReviewService` records verdicts (approve/reject/flag,
one per reviewer) and FINAL approval, which only `x121_approve_final` (SECURITY DEFINER) can
write: PostgreSQL refuses a reviewer whatever client they use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import ActivityKind, SceneStatus, SeamGrade, SegmentStatus, TakeStatus, Verdict
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness.faces import IdentityReference, NoFaceFound, reference_from_image
from x121_desktop.core.media import INTERMEDIATE, FrameReader, write_video
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.chain import OVERLAP
from x121_desktop.core.preprocess import encode_png, read_image
from x121_desktop.core.stitching.colour import Frame
from x121_desktop.core.stitching.duration import ANY_COUNT, FrameMeasures, StopRequest, choose_stop_frame
from x121_desktop.core.stitching.healing import HealReport, HealRequest, HealVerdict, heal_seam
from x121_desktop.core.stitching.metrics import analyze_seam
from x121_desktop.core.stitching.modes import DEFAULT_WINDOW, CutRequest, advanced_cut
from x121_desktop.core.stitching.normalize import NormalizeRequest, normalize_start
from x121_desktop.core.stitching.report import SeamReport
from x121_desktop.core.stitching.score import Grade
from x121_desktop.core.stitching.segment import analyze_segment
from x121_desktop.db.repositories import scenes as scene_repo
from x121_desktop.db.repositories import takes as repo
from x121_desktop.services.bootstrap import Studio

CONTEXT = 6  # frames each side of a seam given to the scorer
GRADES = {Grade.GREEN: SeamGrade.GREEN, Grade.AMBER: SeamGrade.AMBER, Grade.RED: SeamGrade.RED}


# ------------------------------------------------------------------ media work (blocking)


def identity_reference(seed_a: Path) -> IdentityReference | None:
    """Seed A's face for identity checks; None when no face is found (identity is then left out)."""
    try:
        return reference_from_image(read_image(seed_a))
    except NoFaceFound:
        return None


def frames_of(path: Path, start: int = 0, stop: int | None = None) -> list[Frame]:
    with FrameReader(path) as reader:
        end = reader.frame_count if stop is None else min(stop, reader.frame_count)
        return list(reader.frames(max(0, start), end))


@dataclass(frozen=True, slots=True)
class TakeMedia:
    frame_count: int
    cut_frame: int
    reasons: tuple[str, ...]


def inspect_take(video: Path, advanced: bool, rate: Fraction) -> TakeMedia:
    """Frame count and cut frame: the last frame (simple), or the most stable of the last few (advanced)."""
    with FrameReader(video) as reader:
        n = reader.frame_count
        if n < 2:
            raise InvalidInput(f"{video.name} holds {n} frame(s)", "Generate segments of at least 2 frames")
        if not advanced:
            return TakeMedia(n, n - 1, ("simple mode: the last frame",))
        report = analyze_segment(reader.frames(0, n), identity_every=0, frame_count=n)
    measures = tuple(
        FrameMeasures(report.motion[max(0, i - 1)] if report.motion else 0.0, report.sharpness[i]) for i in range(n)
    )
    low = max(OVERLAP + 2, n - DEFAULT_WINDOW)
    choice = choose_stop_frame(StopRequest(measures, rate, low, n, ANY_COUNT))
    return TakeMedia(n, choice.frame, choice.reasons)


@dataclass(frozen=True, slots=True)
class StartImage:
    png: bytes
    normalized: bool
    reason: str


def start_image(video: Path, cut_frame: int, anchor: Path, anchor_video: Path | None = None) -> StartImage:
    """The cut frame as the next segment's start image, re-centred when the subject drifted.

    The subject's place is taken from frame 0 of `anchor_video` (segment 1's current take: Seed A
    as the workflow framed it, at the segments' size and crop) when given, else from the image
    `anchor` (Seed A itself, whose framing can differ from the segments' crop)."""
    with FrameReader(video) as reader:
        cut = reader.frame(cut_frame)
    if anchor_video is not None:
        with FrameReader(anchor_video) as reader:
            reference = reader.frame(0)
    else:
        reference = read_image(anchor)
    result = normalize_start(NormalizeRequest(anchor=reference, cut=cut))
    return StartImage(encode_png(result.image), result.applied, result.reason)


@dataclass(frozen=True, slots=True)
class SeamMeasure:
    report: SeamReport
    tail_trim: int
    head_trim: int
    mode: str

    @property
    def grade(self) -> SeamGrade:
        return GRADES[self.report.grade]


def measure_seam(
    left: Path, left_cut: int, right: Path, *, advanced: bool, reference: IdentityReference | None
) -> SeamMeasure:
    """Score the join of `left` (ending at its cut) and `right` (after its repeated frame 0)."""
    span = DEFAULT_WINDOW if advanced else CONTEXT
    tail_start = max(0, left_cut + 1 - span - CONTEXT)
    tail = frames_of(left, tail_start, left_cut + 1)
    head = frames_of(right, OVERLAP, OVERLAP + span + CONTEXT)
    if not tail or not head:
        raise InvalidInput("A seam needs frames on both sides", "Check that both takes decode")
    if not advanced:
        report = analyze_seam(tail[-CONTEXT:], head[:CONTEXT], reference=reference)
        return SeamMeasure(report, 0, 0, "simple")
    choice = advanced_cut(CutRequest(tuple(tail), tuple(head), tail_start=tail_start, reference=reference))
    return SeamMeasure(choice.after, choice.trimmed_tail, choice.trimmed_head, "advanced")


def seam_metrics(measure: SeamMeasure) -> dict[str, Any]:
    r = measure.report
    identity = r.identity.distance if r.identity is not None else None
    return {
        "mode": measure.mode,
        "ssim_across": round(r.ssim_across, 4),
        "phash_across": r.phash_across,
        "delta_e_cast": round(r.delta_e_cast, 3),
        "exposure_jump": round(r.exposure_jump, 3),
        "motion_across": round(r.motion_across, 3),
        "identity_distance": None if identity is None else round(identity, 4),
        "grades": {g.metric.value: g.grade.value for g in r.grades},
        "reasons": list(r.reasons),
    }


def trims(measure: SeamMeasure) -> dict[str, Any] | None:
    if not (measure.tail_trim or measure.head_trim):
        return None
    return {"cut": "advanced", "tail_trim": measure.tail_trim, "head_trim": measure.head_trim}


@dataclass(frozen=True, slots=True)
class HealOutcome:
    report: HealReport
    video: Path | None  # the healed right take (frame 0 kept), written next to the work folder
    frame_count: int | None = None
    """Frames written to `video`: a remedy may change the take's length (a crossfade adds its overlap)."""


def heal(
    left: Path,
    left_cut: int,
    right: Path,
    out: Path,
    rate: Fraction,
    boundary: int,
    reference: IdentityReference | None,
) -> HealOutcome:
    """The healing ladder on one seam; a healed right take is written to `out` (atomically)."""
    tail = frames_of(left, max(0, left_cut + 1 - 2 * CONTEXT), left_cut + 1)
    head = frames_of(right)
    result = heal_seam(HealRequest(tuple(tail), tuple(head), overlap=OVERLAP, boundary=boundary, reference=reference))
    if result.report.verdict is not HealVerdict.HEALED:
        return HealOutcome(result.report, None)
    frames = [head[0], *result.head]
    write_video(out, frames, rate, INTERMEDIATE)
    return HealOutcome(result.report, out, len(frames))


def heal_remedy(report: HealReport, healed_take: int | None) -> dict[str, Any]:
    return {
        "verdict": report.verdict.value,
        "remedy": report.remedy,
        "reason": report.reason,
        "grade_before": report.grade_before.value,
        "grade_after": report.grade_after.value,
        "score_before": report.score_before,
        "score_after": report.score_after,
        "attempts": [
            {
                "remedy": a.remedy.value,
                "parameters": dict(a.parameters),
                "grade_after": a.grade_after.value,
                "score_after": a.score_after,
                "passed": a.passed,
            }
            for a in report.attempts
        ],
        "healed_take_id": healed_take,
    }


# ------------------------------------------------------------------ review


@dataclass(frozen=True, slots=True)
class ReviewResult:
    take_id: int
    scene_id: int
    verdict: Verdict
    final: bool
    changed_segment_ids: tuple[int, ...]
    scene_status: SceneStatus


_AFTER_VERDICT = {
    Verdict.APPROVE: (TakeStatus.APPROVED, SegmentStatus.APPROVED),
    Verdict.REJECT: (TakeStatus.REJECTED, SegmentStatus.REJECTED),
    Verdict.FLAG: (None, SegmentStatus.IN_REVIEW),
}


class TakeReviewService:
    """Verdicts and final approval, one transaction each."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio

    async def _tx[T](self, work: Callable[[Connection], T]) -> T:
        from x121_desktop.services.transactions import in_transaction

        return await self._studio.runtime.run(self._studio.runtime.db_writer, in_transaction, self._studio, work)

    async def review(self, take_id: int, verdict: Verdict, *, final: bool = False, note: str = "") -> ReviewResult:
        if final and verdict is not Verdict.APPROVE:
            raise InvalidInput("Only an approval can be final", "Use `x121 take approve TAKE --final`")

        def work(conn: Connection) -> ReviewResult:
            from x121_desktop.services.scenes import require_creator

            # Reviewers record verdicts only; take and segment statuses are creators' to change (the
            # database refuses reviewers any write to them, and the scene lock is a write lock).
            creator = bool(conn.execute(text("SELECT x121_is_creator()")).scalar_one())
            if final and not creator:
                require_creator(conn, "give final approval")
            scene_id, position = repo.scene_of_take(conn, take_id)
            scene = scene_repo.lock_scene(conn, scene_id) if creator else scene_repo.get_scene(conn, scene_id)
            take = repo.get_take(conn, take_id)
            segment = scene_repo.segments(conn, scene_id)[position]
            if segment.current_take_id != take.id:
                raise InvalidInput(
                    f"Take {take_id} is not the current take of segment {position + 1}",
                    f"Review take {segment.current_take_id}, or restore take {take_id} first",
                )
            repo.set_verdict(conn, take_id, verdict, note)
            take_status, segment_status = _AFTER_VERDICT[verdict] if creator else (None, segment.status)
            if take_status is not None and transitions.can(take.status, take_status):
                repo.set_take_status(conn, take_id, take_status)
            if segment_status is not segment.status and transitions.can(segment.status, segment_status):
                scene_repo.set_segment_status(conn, segment.id, segment_status)
            data: dict[str, Any] = {"scene_id": scene_id, "position": position, "verdict": verdict.code, "note": note}
            scene_repo.add_activity(
                conn, ActivityKind.VERDICT_GIVEN, scene.project_id, data, segment_id=segment.id, take_id=take_id
            )
            status = scene.status
            if final:
                repo.approve_final(conn, take_id, note)
                scene_repo.add_activity(
                    conn, ActivityKind.TAKE_APPROVED, scene.project_id, data, segment_id=segment.id, take_id=take_id
                )
                currents = [s.current_take_id for s in scene_repo.segments(conn, scene_id)]
                approved = repo.approved_takes(conn, [t for t in currents if t is not None])
                if all(t in approved for t in currents) and transitions.can(status, SceneStatus.APPROVED):
                    status = SceneStatus.APPROVED
                    scene_repo.set_scene_status(conn, scene_id, status)
            return ReviewResult(take_id, scene_id, verdict, final, (segment.id,), status)

        return await self._tx(work)


def is_video(rel_path: str) -> bool:
    return Path(rel_path).suffix.lower() in {".mp4", ".mkv", ".mov", ".webm"}
