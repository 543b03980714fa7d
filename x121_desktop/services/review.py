"""Reviewing a scene: its review queue, one-handed verdicts and seam clips.

Every write is one transaction as the signed-in login role, so row-level security applies: a
reviewer inserts and edits only their own verdicts. A verdict here is the reviewer's vote
(`verdicts` + a VERDICT_GIVEN feed event); take and segment statuses and final approval stay with
`TakeReviewService`. A reject may queue regeneration of that segment through
`SceneService.regenerate` (its own transaction; only creators and admins may do it, and a refusal
comes back as a sentence without undoing the verdict). Notes on frames (annotations, voice memos,
comments) live in `services.review_notes`; `ReviewService` is a `ReviewNotes`, so one service
object serves the whole Review dock.

    review = ReviewService(studio)
    queue = await review.queue(scene_id)               # current takes in order, seams between them
    done = await review.record_verdict(take, Verdict.REJECT, regenerate=True)
    nxt = done.queue.next_pending(take)                # auto-advance target
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import ActivityKind, SeamGrade, TakeStatus, Verdict
from x121_desktop.core.errors import InvalidInput, X121Error
from x121_desktop.core.ids import SegmentId, TakeId
from x121_desktop.core.pipeline.chain import OVERLAP
from x121_desktop.core.pipeline.values import TakeValue
from x121_desktop.db.repositories import scenes as scene_repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services.review_notes import AnnotationValue, CommentValue, ReviewNotes
from x121_desktop.services.review_seams import SeamClip, SeamHeal, heal_of, render_seam_clip, seam_trims, video_path
from x121_desktop.services.scenes import Downstream, SceneService

__all__ = [
    "AnnotationValue",
    "CommentValue",
    "ReviewQueue",
    "ReviewSeam",
    "ReviewService",
    "ReviewTake",
    "VerdictRecorded",
]


@dataclass(frozen=True, slots=True)
class ReviewTake:
    """The current take of one segment, as the reviewer sees it."""

    take_id: TakeId
    segment_id: SegmentId
    position: int
    status: TakeStatus
    frame_count: int | None
    video: Path | None
    my_verdict: Verdict | None
    cut_frame: int | None = None
    """Where the next segment chains from: the last frame the assembled scene plays (before trims)."""


@dataclass(frozen=True, slots=True)
class ReviewSeam:
    """The join after segment `position` (between its current take and the next one's)."""

    seam_id: int
    position: int
    left_take_id: TakeId
    right_take_id: TakeId
    grade: SeamGrade
    score: float
    heal: SeamHeal | None = None
    """Set when the take after the seam is the healing ladder's result (a HEAL take)."""
    trims: tuple[int, int] = (0, 0)
    """(tail trim of the left take, head trim of the right take): an advanced cut's, else none."""


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    scene_id: int
    project_id: int
    rate: Fraction
    takes: tuple[ReviewTake, ...]
    seams: tuple[ReviewSeam, ...]

    def take(self, take_id: int) -> ReviewTake | None:
        return next((t for t in self.takes if t.take_id == take_id), None)

    def pending(self) -> tuple[ReviewTake, ...]:
        """Playable takes without the reviewer's verdict, in segment order."""
        return tuple(t for t in self.takes if t.my_verdict is None and t.video is not None)

    def next_pending(self, after: int | None = None) -> ReviewTake | None:
        """The first pending take after take `after` in segment order, wrapping around; None when all are done."""
        order = list(self.takes)
        start = next((i + 1 for i, t in enumerate(order) if t.take_id == after), 0)
        for t in order[start:] + order[:start]:
            if t.my_verdict is None and t.video is not None and t.take_id != after:
                return t
        return None

    def with_verdict(self, take_id: int, verdict: Verdict) -> ReviewQueue:
        takes = tuple(dataclasses.replace(t, my_verdict=verdict) if t.take_id == take_id else t for t in self.takes)
        return dataclasses.replace(self, takes=takes)

    def seam_after(self, take_id: int) -> ReviewSeam | None:
        return next((s for s in self.seams if s.left_take_id == take_id), None)

    def seam_before(self, take_id: int) -> ReviewSeam | None:
        return next((s for s in self.seams if s.right_take_id == take_id), None)


@dataclass(frozen=True, slots=True)
class VerdictRecorded:
    take_id: int
    verdict: Verdict
    verdict_row_id: int
    event_id: int
    queue: ReviewQueue
    regeneration_queued: bool = False
    regeneration_refused: str | None = None


class ReviewService(ReviewNotes):
    """The review queue, verdicts and seam clips of scenes; notes come from `ReviewNotes`."""

    # ------------------------------------------------------------------ queue
    async def queue(self, scene_id: int) -> ReviewQueue:
        return await self._tx(False, lambda c: self._queue(c, scene_id))

    async def scene_of_take(self, take_id: int) -> int:
        return await self._tx(False, lambda c: take_repo.scene_of_take(c, take_id)[0])

    def _queue(self, conn: Connection, scene_id: int) -> ReviewQueue:
        scene = scene_repo.get_scene(conn, scene_id)
        segments = scene_repo.segments(conn, scene_id)
        current = [s.current_take_id for s in segments if s.current_take_id is not None]
        mine = {
            int(r.take_id): Verdict(r.verdict_id)
            for r in conn.execute(
                text(
                    "SELECT take_id, verdict_id FROM verdicts "
                    "WHERE take_id = ANY(:ids) AND reviewer_id = x121_current_user_id()"
                ),
                {"ids": current},
            )
        }
        values: dict[int, TakeValue] = {}
        takes: list[ReviewTake] = []
        for segment in segments:
            if segment.current_take_id is None:
                continue
            t = values[segment.current_take_id] = take_repo.get_take(conn, segment.current_take_id)
            takes.append(self._review_take(conn, t, segment.position, mine.get(t.id)))
        position = {t.take_id: t.position for t in takes}
        measured = take_repo.seams_of_scene(conn, scene_id)
        seams = tuple(
            ReviewSeam(
                s.id,
                position[s.left_take_id],
                s.left_take_id,
                s.right_take_id,
                s.grade,
                s.score,
                heal_of(conn, self._store, s, values[s.right_take_id], measured),
                seam_trims(s),
            )
            for s in measured
            if s.left_take_id in position and s.right_take_id in position
        )
        return ReviewQueue(
            scene_id, scene.project_id, scene.rate, tuple(takes), tuple(sorted(seams, key=lambda s: s.position))
        )

    def _review_take(self, conn: Connection, t: TakeValue, position: int, verdict: Verdict | None) -> ReviewTake:
        video = video_path(conn, self._store, t.file_id)
        return ReviewTake(t.id, t.segment_id, position, t.status, t.frame_count, video, verdict, t.cut_frame)

    async def take(self, take_id: int) -> ReviewTake:
        """Any take (also one that is not its segment's current take, e.g. from a link), as the reviewer sees it."""

        def work(conn: Connection) -> ReviewTake:
            t = take_repo.get_take(conn, take_id)
            _scene, position = take_repo.scene_of_take(conn, take_id)
            mine = conn.execute(
                text("SELECT verdict_id FROM verdicts WHERE take_id = :t AND reviewer_id = x121_current_user_id()"),
                {"t": take_id},
            ).scalar_one_or_none()
            return self._review_take(conn, t, position, None if mine is None else Verdict(mine))

        return await self._tx(False, work)

    # ------------------------------------------------------------------ verdicts
    async def record_verdict(
        self, take_id: int, verdict: Verdict, note: str = "", *, regenerate: bool = False
    ) -> VerdictRecorded:
        """The signed-in user's verdict on a take (replacing theirs), one transaction; a reject may regenerate."""
        if regenerate and verdict is not Verdict.REJECT:
            raise InvalidInput("Only a reject can queue regeneration", "Press reject (2) to regenerate a take")

        def work(conn: Connection) -> VerdictRecorded:
            scene_id, position = take_repo.scene_of_take(conn, take_id)
            scene = scene_repo.get_scene(conn, scene_id)
            segment = scene_repo.segments(conn, scene_id)[position]
            row = take_repo.set_verdict(conn, take_id, verdict, note)
            data = {"scene_id": scene_id, "position": position, "verdict": verdict.code, "note": note}
            event = scene_repo.add_activity(
                conn, ActivityKind.VERDICT_GIVEN, scene.project_id, data, segment_id=segment.id, take_id=take_id
            )
            return VerdictRecorded(take_id, verdict, row, event, self._queue(conn, scene_id))

        done = await self._tx(True, work)
        if not regenerate:
            return done
        item = done.queue.take(take_id)
        if item is None:
            return dataclasses.replace(done, regeneration_refused=f"Take {take_id} is not the current take any more")
        try:
            await SceneService(self._studio).regenerate(
                done.queue.scene_id, item.position, item.position, Downstream.OFFER
            )
        except X121Error as exc:
            return dataclasses.replace(done, regeneration_refused=str(exc))
        return dataclasses.replace(done, regeneration_queued=True, queue=await self.queue(done.queue.scene_id))

    # ------------------------------------------------------------------ seams
    async def seam_clip(
        self, queue: ReviewQueue, seam: ReviewSeam, k: int, *, ghost: bool = False, before_heal: bool = False
    ) -> SeamClip:
        """A short review clip of the ±k frames around `seam` (REVIEW_PROXY, cached under the studio's cache).
        `before_heal`: with the measured take the healing ladder started from in place of the healed one (the
        same left frames and seam frame, so the two clips match frame for frame)."""
        left, right = queue.take(seam.left_take_id), queue.take(seam.right_take_id)
        if left is None or right is None or left.video is None or right.video is None:
            raise InvalidInput(
                f"The seam after segment {seam.position + 1} has no rendered takes on both sides",
                "Review it once both takes are rendered",
            )
        right_id, right_video = right.take_id, right.video
        if before_heal:
            if seam.heal is None or seam.heal.unhealed_video is None:
                raise InvalidInput(
                    f"The seam after segment {seam.position + 1} was not healed, so there is no before-heal version",
                    "Press the before/after key on a seam the healing ladder healed",
                )
            right_id, right_video = seam.heal.unhealed_take_id, seam.heal.unhealed_video
        # the frames the assembled scene keeps around the seam (core.pipeline.chain.kept_ranges)
        left_end = None if left.cut_frame is None else left.cut_frame - seam.trims[0]
        right_head = OVERLAP + seam.trims[1]
        name = (
            f"seam{seam.seam_id}-{left.take_id}@{left_end}-{right_id}@{right_head}-k{k}{'-ghost' if ghost else ''}.mp4"
        )
        out = self._studio.paths.cache_dir / "review" / name
        runtime = self._studio.runtime
        return await runtime.run(
            runtime.cpu, render_seam_clip, left.video, right_video, k, ghost, out, queue.rate, left_end, right_head
        )
