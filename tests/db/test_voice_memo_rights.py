"""Revision 0008: a reviewer saves a voice memo through `x121_add_voice_memo` and still cannot insert files.

Real login roles (tests/db/security_studio.py) connect with psycopg directly, as a person with psql
could: the function stores exactly a memo (an audio `files` row named by its sha256 + a VOICE
annotation, both authored by the caller) after checking caller, take, frames and file; a direct
INSERT into `files` stays refused, and so does anything the function was not made for.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import AnnotationKind, FileKind, RetentionClass

__all__ = ["secure_studio"]

MEMO = "SELECT x121_add_voice_memo(%s, %s, %s, %s::jsonb, %s, %s, %s)"
FRAMES = 48


def _memo_args(take: int, data: bytes, *, start: int = 3, count: int = 10, suffix: str = ".wav") -> tuple[Any, ...]:
    sha = hashlib.sha256(data).hexdigest()
    return (take, start, count, '{"version": 1, "audio": "wav"}', sha, f"{sha[:2]}/{sha[2:]}{suffix}", len(data))


@pytest.fixture(scope="module")
def rendered_take(secure_studio: SecureStudio) -> int:
    """The fixture's spare take, rendered (a video file and a frame count), as memos need."""
    s = secure_studio
    with s.connect(SUPERUSER) as conn:
        row = conn.execute(
            "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by) "
            "VALUES (repeat('d', 64), 'dd/take.mp4', 4096, %s, %s, %s) RETURNING id",
            (FileKind.VIDEO, RetentionClass.WORKING, s.user_ids["creator"]),
        ).fetchone()
        assert row is not None
        # the fixture's creator holds the segment's lock: step it aside for this write (the guard of 0006)
        lock = conn.execute("DELETE FROM segment_locks WHERE segment_id = %s RETURNING *", (s.ids["segment"],))
        held = lock.fetchone()
        assert held is not None
        columns = [c.name for c in lock.description or ()]
        conn.execute(
            "UPDATE takes SET file_id = %s, frame_count = %s WHERE id = %s", (row[0], FRAMES, s.ids["spare_take"])
        )
        conn.execute(
            f"INSERT INTO segment_locks ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
            held,
        )
    return int(s.ids["spare_take"])


def _refused(s: SecureStudio, who: str, sql: str, params: tuple[Any, ...]) -> psycopg.Error | None:
    """The error that refused `sql` as `who` (rolled back), or None when it ran."""
    with s.connect(who) as conn:
        try:
            conn.execute(sql, params)
        except psycopg.Error as exc:
            return exc
        finally:
            conn.rollback()
    return None


def _refusal(s: SecureStudio, who: str, sql: str, params: tuple[Any, ...]) -> str | None:
    """The SQLSTATE that refused `sql` as `who`, or None when it ran."""
    error = _refused(s, who, sql, params)
    return None if error is None else error.sqlstate


def test_a_reviewer_saves_a_memo_as_themselves(secure_studio: SecureStudio, rendered_take: int) -> None:
    s = secure_studio
    audio = b"RIFF memo of a reviewer"
    with s.connect("reviewer") as conn:
        row = conn.execute(MEMO, _memo_args(rendered_take, audio)).fetchone()
        assert row is not None
        memo_id = int(row[0])
        conn.commit()
    with s.connect(SUPERUSER) as conn:
        memo = conn.execute(
            "SELECT a.take_id, a.author_id, a.annotation_kind_id, a.frame_start, a.frame_count, a.data, "
            "f.sha256, f.rel_path, f.size_bytes, f.file_kind_id, f.created_by "
            "FROM annotations a JOIN files f ON f.id = a.voice_file_id WHERE a.id = %s",
            (memo_id,),
        ).fetchone()
    sha = hashlib.sha256(audio).hexdigest()
    me = s.user_ids["reviewer"]
    assert memo == (
        rendered_take, me, AnnotationKind.VOICE, 3, 10, {"version": 1, "audio": "wav"},
        sha, f"{sha[:2]}/{sha[2:]}.wav", len(audio), FileKind.AUDIO, me,
    )  # fmt: skip


def test_equal_audio_shares_one_file_row(secure_studio: SecureStudio, rendered_take: int) -> None:
    s = secure_studio
    args = _memo_args(rendered_take, b"the same few words")
    ids = []
    for who in ("reviewer", "reviewer2"):
        with s.connect(who) as conn:
            row = conn.execute(MEMO, args).fetchone()
            assert row is not None
            ids.append(int(row[0]))
            conn.commit()
    with s.connect(SUPERUSER) as conn:
        files = conn.execute("SELECT DISTINCT voice_file_id FROM annotations WHERE id = ANY(%s)", (ids,)).fetchall()
        authors = conn.execute("SELECT author_id FROM annotations WHERE id = ANY(%s) ORDER BY id", (ids,)).fetchall()
    assert len(files) == 1
    assert [a[0] for a in authors] == [s.user_ids["reviewer"], s.user_ids["reviewer2"]]


def test_a_reviewer_still_cannot_insert_or_change_files(secure_studio: SecureStudio, rendered_take: int) -> None:
    s = secure_studio
    insert = (
        "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id) "
        "VALUES (repeat('e', 64), 'ee/anything.exe', 1, %s, %s)"
    )
    assert _refusal(s, "reviewer", insert, (FileKind.OTHER, RetentionClass.WORKING)) == "42501"
    assert _refusal(s, "reviewer", "UPDATE files SET rel_path = 'x/y' WHERE id = %s", (s.ids["file_a"],)) == "42501"
    assert _refusal(s, "reviewer", "DELETE FROM files WHERE id = %s", (s.ids["file_free"],)) == "42501"
    # the creator's direct insert still works (their right is unchanged)
    assert _refusal(s, "creator", insert, (FileKind.OTHER, RetentionClass.WORKING)) is None


@pytest.mark.parametrize(
    ("case", "sqlstate", "said"),
    [
        ("a video, not audio", "22023", "must be an audio file"),
        ("a path that is not its hash", "22023", "must be an audio file"),
        ("a path outside the store layout", "22023", "must be an audio file"),
        ("frames past the take's end", "22023", "are not inside take"),
        ("a negative frame", "22023", "are not inside take"),
        ("no size", "22023", "between 1 byte and 256 MiB"),
        ("a take without video", "22023", "has no rendered video"),
        ("a take that does not exist", "P0002", "does not exist"),
    ],
)
def test_the_function_stores_only_a_memo(
    secure_studio: SecureStudio, rendered_take: int, case: str, sqlstate: str, said: str
) -> None:
    s = secure_studio
    data = case.encode()
    sha = hashlib.sha256(data).hexdigest()
    args = list(_memo_args(rendered_take, data))
    if case == "a video, not audio":
        args[5] = f"{sha[:2]}/{sha[2:]}.mp4"
    elif case == "a path that is not its hash":
        args[5] = f"{sha[:2]}/{'0' * 62}.wav"
    elif case == "a path outside the store layout":
        args[5] = f"../../{sha}.wav"
    elif case == "frames past the take's end":
        args[1], args[2] = FRAMES - 5, 10
    elif case == "a negative frame":
        args[1] = -1
    elif case == "no size":
        args[6] = 0
    elif case == "a take without video":
        args[0] = s.ids["take"]
    else:
        args[0] = 10_000_000
    error = _refused(s, "reviewer", MEMO, tuple(args))
    assert error is not None, case
    assert (error.sqlstate, said in str(error)) == (sqlstate, True), (case, str(error))


def test_bytes_stored_as_another_kind_cannot_become_a_memo(secure_studio: SecureStudio, rendered_take: int) -> None:
    s = secure_studio
    with s.connect(SUPERUSER) as conn:
        sha = conn.execute("SELECT sha256 FROM files WHERE id = %s", (s.ids["file_a"],)).fetchone()
    assert sha is not None
    args = (rendered_take, 0, 1, "{}", sha[0], f"{sha[0][:2]}/{sha[0][2:]}.wav", 10)
    error = _refused(s, "reviewer", MEMO, args)
    assert error is not None
    assert (error.sqlstate, "not audio" in str(error)) == ("22023", True)


def test_an_inactive_user_and_public_cannot_save_memos(secure_studio: SecureStudio, rendered_take: int) -> None:
    s = secure_studio
    with s.connect(SUPERUSER, autocommit=True) as su:
        public = su.execute(
            "SELECT has_function_privilege('public', "
            "'x121_add_voice_memo(integer, integer, integer, jsonb, text, text, bigint)', 'EXECUTE')"
        ).fetchone()
        assert public == (False,)
        su.execute("UPDATE users SET is_active = false WHERE id = %s", (s.user_ids["reviewer2"],))
        try:
            assert _refusal(s, "reviewer2", MEMO, _memo_args(rendered_take, b"after leaving")) == "42501"
        finally:
            su.execute("UPDATE users SET is_active = true WHERE id = %s", (s.user_ids["reviewer2"],))
