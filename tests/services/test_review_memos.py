"""Voice memos through ReviewService on the reviewer's own login connection (revision 0008).

Before 0008 a reviewer's memo failed: storing the audio inserts into `files`, which reviewers may not
do. Now the service writes the bytes into the media store and calls `x121_add_voice_memo`; the rows
are the reviewer's, the feed shows the annotation, and a direct file insert stays refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import wave
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.db.security_studio import SUPERUSER
from tests.services.review_studio import CLIP_FRAMES, ReviewStudio, review_studio, studio_as
from x121_desktop.core.enums import ActivityKind, AnnotationKind, FileKind
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService
from x121_desktop.services.scenes import in_transaction
from x121_desktop.services.storage import MediaStore

__all__ = ["review_studio", "studio_as"]


def tone(path: Path, frames: int = 4000, level: int = 3) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes((i * level) % 251 for i in range(2 * frames)))
    return path


def test_a_reviewer_saves_a_memo_on_their_own_login(
    review_studio: ReviewStudio, studio_as: Callable[[str], Studio], tmp_path: Path
) -> None:
    studio = studio_as("reviewer")
    with studio.engine.connect() as conn:  # the service really runs as the reviewer's login role
        assert conn.execute(text("SELECT session_user")).scalar_one() == review_studio.secure.roles["reviewer"]
        assert conn.execute(text("SELECT x121_is_creator()")).scalar_one() is False
    review = ReviewService(studio)
    take = review_studio.take_ids[1]
    audio = tone(tmp_path / "memo.wav")
    memo = asyncio.run(review.add_voice_memo(take, 4, 6, audio))
    me = review_studio.secure.user_ids["reviewer"]
    assert (memo.take_id, memo.author_id, memo.kind, memo.frame_start, memo.frame_count) == (
        take, me, AnnotationKind.VOICE, 4, 6,
    )  # fmt: skip
    assert memo.voice_file_id is not None
    stored = asyncio.run(review.media_path(memo.voice_file_id))
    assert stored.read_bytes() == audio.read_bytes()
    assert (
        stored.relative_to(review_studio.home / "media")
        .as_posix()
        .startswith(hashlib.sha256(audio.read_bytes()).hexdigest()[:2] + "/")
    )
    assert [a.id for a in asyncio.run(review.annotations(take)) if a.kind is AnnotationKind.VOICE] == [memo.id]
    with review_studio.secure.connect(SUPERUSER) as conn:
        file_row = conn.execute(
            "SELECT file_kind_id, created_by FROM files WHERE id = %s", (memo.voice_file_id,)
        ).fetchone()
        events = conn.execute(
            "SELECT actor_id, data->>'kind', (data->>'frame')::int FROM activity_events "
            "WHERE take_id = %s AND activity_kind_id = %s",
            (take, ActivityKind.ANNOTATION_ADDED),
        ).fetchall()
    assert file_row == (FileKind.AUDIO, me)
    assert events == [(me, "voice", 4)]

    # the same recording again reuses its file row
    again = asyncio.run(review.add_voice_memo(take, 10, 2, audio))
    assert again.voice_file_id == memo.voice_file_id


def test_memo_refusals_are_sentences_and_files_stay_closed_to_reviewers(
    review_studio: ReviewStudio, studio_as: Callable[[str], Studio], tmp_path: Path
) -> None:
    studio = studio_as("reviewer2")
    review = ReviewService(studio)
    take = review_studio.take_ids[2]
    audio = tone(tmp_path / "late.wav", level=7)
    with pytest.raises(InvalidInput) as outside:
        asyncio.run(review.add_voice_memo(take, CLIP_FRAMES - 2, 5, audio))
    assert f"are not inside take {take}" in outside.value.sentence
    with pytest.raises(InvalidInput):
        asyncio.run(review.add_voice_memo(take, 0, 1, tmp_path / "missing.wav"))
    # the old way (the media store's own INSERT into files) is still refused to a reviewer
    store = MediaStore(studio.paths.media_root)
    with pytest.raises(PermissionDenied):
        in_transaction(studio, lambda conn: store.put_path(conn, audio))
    assert [a for a in asyncio.run(review.annotations(take)) if a.kind is AnnotationKind.VOICE] == []
