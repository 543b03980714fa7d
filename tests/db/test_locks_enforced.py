"""Segment locks are enforced by PostgreSQL itself (revision 0006), tried with psycopg directly.

The fixture's creator holds a live lock on the fixture segment (taken through the old direct
insert, so its lease token is a server default). Another user with full write privileges (the
admin) is refused by the guard trigger with SQLSTATE 55P03 on the segment, its takes and seams;
the holder may write; a transaction that declares a lease it no longer holds is refused too.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import SeamGrade, TakeReason, TakeStatus

__all__ = ["secure_studio"]
LOCK_NOT_AVAILABLE = "55P03"
Conn = psycopg.Connection[Any]


def _try(studio: SecureStudio, who: str, sql: str, params: tuple[object, ...], *, token: str | None = None) -> Any:
    conn = studio.connect(who)
    try:
        if token is not None:
            conn.execute("SELECT set_config('x121.lease_token', %s, true)", (token,))
        return conn.execute(sql, params).rowcount
    except psycopg.Error as exc:
        return exc
    finally:
        conn.rollback()
        conn.close()


def _writes(s: SecureStudio) -> list[tuple[str, tuple[object, ...]]]:
    seg, take = s.ids["segment"], s.ids["spare_take"]
    return [
        ("UPDATE segments SET prompt = 'mine now' WHERE id = %s", (seg,)),
        ("DELETE FROM segments WHERE id = %s", (seg,)),
        (
            "INSERT INTO takes (segment_id, take_reason_id, take_status_id) VALUES (%s, %s, %s)",
            (seg, TakeReason.INITIAL, TakeStatus.READY),
        ),
        ("UPDATE takes SET seed = 42 WHERE id = %s", (take,)),
        ("DELETE FROM takes WHERE id = %s", (take,)),
        (
            "INSERT INTO seams (scene_id, left_take_id, right_take_id, seam_grade_id, score) "
            "VALUES (%s, %s, %s, %s, 0.5)",
            (s.ids["scene"], s.ids["take"], take, SeamGrade.GREEN),
        ),
    ]


@pytest.mark.parametrize("index", range(6))
def test_another_user_cannot_write_a_locked_segment(secure_studio: SecureStudio, index: int) -> None:
    sql, params = _writes(secure_studio)[index]
    outcome = _try(secure_studio, "admin", sql, params)
    assert isinstance(outcome, psycopg.Error), f"admin could run {sql!r}"
    assert outcome.sqlstate == LOCK_NOT_AVAILABLE
    assert "is locked by Creator" in str(outcome)
    assert outcome.diag.message_hint == "Wait for the lock to be released, or ask an admin to break it."


@pytest.mark.parametrize("index", [0, 2, 3, 5])
def test_the_holder_can_write(secure_studio: SecureStudio, index: int) -> None:
    sql, params = _writes(secure_studio)[index]
    assert _try(secure_studio, "creator", sql, params) == 1


def test_the_superuser_is_bound_too(secure_studio: SecureStudio) -> None:
    sql, params = _writes(secure_studio)[0]
    outcome = _try(secure_studio, SUPERUSER, sql, params)
    assert isinstance(outcome, psycopg.Error)
    assert outcome.sqlstate == LOCK_NOT_AVAILABLE


def test_a_declared_lease_must_be_live_and_own(secure_studio: SecureStudio) -> None:
    s = secure_studio
    with s.connect(SUPERUSER) as su:
        row = su.execute("SELECT lease_token FROM segment_locks WHERE segment_id = %s", (s.ids["segment"],)).fetchone()
        assert row is not None
        real = str(row[0])
    sql, params = _writes(s)[0]
    assert _try(s, "creator", sql, params, token=real) == 1
    stale = _try(s, "creator", sql, params, token=str(uuid.uuid4()))
    assert isinstance(stale, psycopg.Error)
    assert stale.sqlstate == LOCK_NOT_AVAILABLE
    assert "expired or was taken" in str(stale)
    garbage = _try(s, "creator", sql, params, token="not-a-token")
    assert isinstance(garbage, psycopg.Error)
    assert garbage.sqlstate == "22023"


def test_writes_to_unlocked_or_expired_segments_pass(secure_studio: SecureStudio) -> None:
    s = secure_studio
    conn = s.connect(SUPERUSER)
    try:
        conn.execute(
            "UPDATE segment_locks SET acquired_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' "
            "WHERE segment_id = %s",
            (s.ids["segment"],),
        )
        assert conn.execute("UPDATE segments SET prompt = 'lapsed' WHERE id = %s", (s.ids["segment"],)).rowcount == 1
    finally:
        conn.rollback()
        conn.close()


def test_lock_functions_are_for_creators_and_breaking_for_admins(secure_studio: SecureStudio) -> None:
    s = secure_studio
    seg = s.ids["segment"]
    refused = _try(s, "reviewer", "SELECT * FROM x121_acquire_segment_lock(%s, %s, 'ws', 30)", (seg, uuid.uuid4()))
    assert isinstance(refused, psycopg.Error)
    assert refused.sqlstate == "42501"
    held = s.connect("admin")
    try:
        row = held.execute(
            "SELECT * FROM x121_acquire_segment_lock(%s, %s, 'ws-a', 30)", (seg, uuid.uuid4())
        ).fetchone()
        assert row is not None
        got, holder, role, machine = row[:4]
        assert (got, holder, role, machine) == (False, s.user_ids["creator"], s.roles["creator"], "ws-7")
        assert held.execute("SELECT x121_break_segment_lock(%s, 'creator is away')", (seg,)).fetchone() == (True,)
        note = held.execute(
            "SELECT e.data ->> 'previous_holder', e.data ->> 'reason' FROM activity_events e "
            "WHERE e.activity_kind_id = 21 ORDER BY e.id DESC LIMIT 1"
        ).fetchone()
        assert note == (s.roles["creator"], "creator is away")
    finally:
        held.rollback()
        held.close()
    creator_break = _try(s, "creator", "SELECT x121_break_segment_lock(%s, 'mine')", (seg,))
    assert isinstance(creator_break, psycopg.Error)
    assert creator_break.sqlstate == "42501"
