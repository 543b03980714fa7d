"""Notes on takes: frame annotations (drawn shapes), voice memos and frame comments.

Every write is one transaction as the signed-in login role, so row-level security applies: a
reviewer inserts and deletes only their own annotations and comments. A new annotation or memo
writes its ANNOTATION_ADDED feed event in the same transaction. `ReviewNotes` also holds what
every review use case shares (the studio, its media store, `_tx`); `services.review.ReviewService`
builds the review queue, verdicts and seam clips on it.

    notes = ReviewService(studio)                      # a ReviewNotes
    added = await notes.add_annotation(take, AnnotationKind.ARROW, 12, 5, shapes_to_data(shapes))
    mine = await notes.annotations(take)               # in frame order
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.collab.values import CommentPosted
from x121_desktop.core.enums import ActivityKind, AnnotationKind
from x121_desktop.core.errors import InvalidInput
from x121_desktop.db.repositories import scenes as scene_repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services.activity import ActivityService
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.storage import MediaStore
from x121_desktop.services.transactions import in_transaction

MAX_ANNOTATION_BYTES = 256 * 1024
_MEMO_REFUSALS = ("22023", "P0002")  # invalid_parameter_value, no_data_found
_ANNOTATION_COLUMNS = "id, take_id, author_id, annotation_kind_id, frame_start, frame_count, data, voice_file_id"


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


class ReviewNotes:
    """Annotations, voice memos and comments of takes, as the signed-in user."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._store = MediaStore(studio.paths.media_root)

    async def _tx[T](self, write: bool, work: Callable[[Connection], T]) -> T:
        runtime = self._studio.runtime
        return await runtime.run(runtime.db_writer if write else runtime.db_read, in_transaction, self._studio, work)

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
