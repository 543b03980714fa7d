"""Reviewing a scene: its review queue, one-handed verdicts, frame annotations and frame comments.

Every write is one transaction as the signed-in login role, so row-level security applies: a
reviewer inserts and edits only their own verdicts, annotations and comments. A verdict here is
the reviewer's vote (`verdicts` + a VERDICT_GIVEN feed event); take and segment statuses and final
approval stay with `TakeReviewService`. A reject may queue regeneration of that segment through
`SceneService.regenerate` (its own transaction; only creators and admins may do it, and a refusal
comes back as a sentence without undoing the verdict).

    review = ReviewService(studio)
    queue = await review.queue(scene_id)               # current takes in order, seams between them
    done = await review.record_verdict(take, Verdict.REJECT, regenerate=True)
    nxt = done.queue.next_pending(take)                # auto-advance target
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.collab.values import CommentPosted
from x121_desktop.core.enums import ActivityKind, AnnotationKind, SeamGrade, TakeStatus, Verdict
from x121_desktop.core.errors import InvalidInput, X121Error
from x121_desktop.core.ids import SegmentId, TakeId
from x121_desktop.core.pipeline.chain import OVERLAP
from x121_desktop.core.pipeline.values import TakeValue
from x121_desktop.db.repositories import scenes as scene_repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services.activity import ActivityService
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review_seams import SeamClip, SeamHeal, heal_of, render_seam_clip, seam_trims, video_path
from x121_desktop.services.scenes import Downstream, SceneService, in_transaction
from x121_desktop.services.storage import MediaStore

MAX_ANNOTATION_BYTES = 256 * 1024
_MEMO_REFUSALS = ("22023", "P0002")  # invalid_parameter_value, no_data_found
_ANNOTATION_COLUMNS = "id, take_id, author_id, annotation_kind_id, frame_start, frame_count, data, voice_file_id"


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


@dataclass(frozen=True, slots=True)
class AnnotationValue:
    """Shapes drawn on frames `frame_start … frame_start + frame_count - 1` of a take (normalised coordinates)."""

    id: int
    take_id: int
    author_id: int
    kind: AnnotationKind
    frame_start: int
    frame_count: int
    data: Mapping[str, Any]
    voice_file_id: int | None = None

    @property
    def frame_stop(self) -> int:
        return self.frame_start + self.frame_count

    def covers(self, frame: int) -> bool:
        return self.frame_start <= frame < self.frame_stop

    def distance(self, frame: int) -> int:
        """Frames from `frame` to the nearest frame this annotation covers (0 inside it)."""
        if frame < self.frame_start:
            return self.frame_start - frame
        return max(0, frame - (self.frame_stop - 1))


@dataclass(frozen=True, slots=True)
class CommentValue:
    id: int
    take_id: int | None
    frame: int | None
    author: str
    body: str


class ReviewService:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._store = MediaStore(studio.paths.media_root)

    async def _tx[T](self, write: bool, work: Callable[[Connection], T]) -> T:
        runtime = self._studio.runtime
        return await runtime.run(runtime.db_writer if write else runtime.db_read, in_transaction, self._studio, work)

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

    # ------------------------------------------------------------------ annotations
    async def annotations(self, take_id: int) -> tuple[AnnotationValue, ...]:
        def work(conn: Connection) -> tuple[AnnotationValue, ...]:
            rows = conn.execute(
                text(f"SELECT {_ANNOTATION_COLUMNS} FROM annotations WHERE take_id = :t ORDER BY frame_start, id"),
                {"t": take_id},
            )
            return tuple(_annotation(r) for r in rows)

        return await self._tx(False, work)

    async def add_annotation(
        self,
        take_id: int,
        kind: AnnotationKind,
        frame_start: int,
        frame_count: int,
        data: Mapping[str, Any],
    ) -> AnnotationValue:
        """Store shapes on a frame range of a take as the signed-in user (one transaction + a feed event)."""
        payload = _checked(frame_start, frame_count, data)
        return await self._tx(True, lambda c: _insert_annotation(c, take_id, kind, frame_start, frame_count, payload))

    async def add_voice_memo(self, take_id: int, frame_start: int, frame_count: int, audio: Path) -> AnnotationValue:
        """A recorded memo at a frame range: the audio into the media store, then its `files` row and the VOICE
        annotation in one transaction through `x121_add_voice_memo` (revision 0008: reviewers may not insert
        files themselves; the function stores exactly a memo). The bytes are written before the row commits."""
        if not audio.is_file() or audio.stat().st_size == 0:
            raise InvalidInput(f"The voice memo {audio.name} is empty", "Record again; check the microphone level")
        payload = _checked(frame_start, frame_count, {"version": 1, "shapes": [], "audio": audio.suffix.lstrip(".")})

        def work(conn: Connection) -> AnnotationValue:
            blob = self._store.write_path(audio)
            try:
                memo_id = conn.execute(
                    text("SELECT x121_add_voice_memo(:t, :s, :n, CAST(:d AS jsonb), :sha, :rel, :size)"),
                    {"t": take_id, "s": frame_start, "n": frame_count, "d": payload, "sha": blob.sha256,
                     "rel": blob.rel_path, "size": blob.size_bytes},
                ).scalar_one()  # fmt: skip
            except DBAPIError as exc:
                refusal = _memo_refusal(exc)
                if refusal is None:
                    raise
                raise refusal from exc
            row = conn.execute(text(f"SELECT {_ANNOTATION_COLUMNS} FROM annotations WHERE id = :i"), {"i": memo_id})
            memo = _annotation(row.one())
            assert memo.voice_file_id is not None
            if take_repo.file_path(conn, memo.voice_file_id) != blob.rel_path:
                # equal bytes were already stored under another name: keep the one recorded copy
                self._store.path_of(blob.rel_path).unlink(missing_ok=True)
            _annotation_event(conn, memo)
            return memo

        return await self._tx(True, work)

    async def media_path(self, file_id: int) -> Path:
        """Where a stored file (a memo's audio) lies in the media store."""
        return await self._tx(False, lambda c: self._store.path_of(take_repo.file_path(c, file_id)))

    async def delete_annotation(self, annotation_id: int) -> None:
        def work(conn: Connection) -> None:
            gone = conn.execute(text("DELETE FROM annotations WHERE id = :i"), {"i": annotation_id}).rowcount
            if not gone:
                raise InvalidInput(
                    f"Annotation {annotation_id} cannot be deleted", "Only your own annotations can be deleted"
                )

        await self._tx(True, work)

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

    # ------------------------------------------------------------------ comments
    async def comment(self, take_id: int, frame: int | None, body: str) -> CommentPosted:
        """A comment at a frame of a take; @names notify those users (collab's mention rules)."""
        return await self._tx(True, lambda c: ActivityService.comment_sync(c, body, None, take_id, frame))

    async def comments(self, take_id: int) -> tuple[CommentValue, ...]:
        def work(conn: Connection) -> tuple[CommentValue, ...]:
            rows = conn.execute(
                text(
                    "SELECT c.id, c.take_id, c.frame, coalesce(u.display_name, u.role_name) AS author, c.body "
                    "FROM comments c JOIN users u ON u.id = c.author_id WHERE c.take_id = :t ORDER BY c.id"
                ),
                {"t": take_id},
            )
            return tuple(CommentValue(int(r.id), r.take_id, r.frame, str(r.author), str(r.body)) for r in rows)

        return await self._tx(False, work)


def _memo_refusal(exc: DBAPIError) -> InvalidInput | None:
    """The memo function's own refusals (bad frames, no such take, not audio) as one sentence + its hint."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    if getattr(orig, "sqlstate", None) not in _MEMO_REFUSALS or diag is None or not diag.message_primary:
        return None
    message = str(diag.message_primary)
    return InvalidInput(message[:1].upper() + message[1:], str(diag.message_hint or "Record the memo again"))


def _checked(frame_start: int, frame_count: int, data: Mapping[str, Any]) -> str:
    if frame_start < 0 or frame_count < 1:
        raise InvalidInput(
            f"Frames {frame_start}+{frame_count} are not a frame range", "Annotate from frame 0, one frame or more"
        )
    payload = json.dumps(dict(data), separators=(",", ":"))
    if len(payload) > MAX_ANNOTATION_BYTES:
        raise InvalidInput("The drawing is too large to store", "Split it over fewer strokes or frames")
    return payload


def _insert_annotation(
    conn: Connection, take_id: int, kind: AnnotationKind, start: int, count: int, payload: str
) -> AnnotationValue:
    row = conn.execute(
        text(
            "INSERT INTO annotations (take_id, annotation_kind_id, frame_start, frame_count, data) "
            f"VALUES (:t, :k, :s, :n, CAST(:d AS jsonb)) RETURNING {_ANNOTATION_COLUMNS}"
        ),
        {"t": take_id, "k": int(kind), "s": start, "n": count, "d": payload},
    ).one()
    annotation = _annotation(row)
    _annotation_event(conn, annotation)
    return annotation


def _annotation_event(conn: Connection, a: AnnotationValue) -> None:
    """The feed event of a new annotation (ANNOTATION_ADDED), in the annotation's transaction."""
    scene_id, position = take_repo.scene_of_take(conn, a.take_id)
    scene = scene_repo.get_scene(conn, scene_id)
    event = {"scene_id": scene_id, "position": position, "frame": a.frame_start, "frames": a.frame_count,
             "kind": a.kind.code}  # fmt: skip
    scene_repo.add_activity(conn, ActivityKind.ANNOTATION_ADDED, scene.project_id, event, take_id=a.take_id)


def _annotation(r: Any) -> AnnotationValue:
    return AnnotationValue(
        int(r.id),
        int(r.take_id),
        int(r.author_id),
        AnnotationKind(r.annotation_kind_id),
        int(r.frame_start),
        int(r.frame_count),
        dict(r.data or {}),
        None if r.voice_file_id is None else int(r.voice_file_id),
    )
