"""LISTEN/NOTIFY for job changes (a real listener thread on the embedded server), and owner
notifications written through the feed as real login roles."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ProgrammingError

from tests.db.job_queue_studio import holder, new_job, queue_db, su_engine
from tests.db.security_studio import SecureStudio, secure_studio
from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.ids import JobId, UserId
from x121_desktop.db.notify import JobListener, JobNotice, ListenerReconnected, Notice, parse_notice
from x121_desktop.db.repositories import jobs as repo

__all__ = ["queue_db", "secure_studio", "su_engine"]  # fixtures used by this module

WAIT_S = 5.0


@pytest.fixture(autouse=True)
def _no_listener_left() -> Iterator[None]:
    yield
    assert not [t for t in threading.enumerate() if t.name == "x121-job-listener"]


@pytest.fixture
def listener(queue_db: Engine) -> Iterator[JobListener]:
    with JobListener.for_engine(queue_db) as started:
        assert started.listening.wait(WAIT_S)
        yield started
    assert not started.alive


def _next(listener: JobListener, timeout: float = WAIT_S) -> Notice:
    return listener.notices.get(timeout=timeout)


def _drain(listener: JobListener, settle_s: float = 0.3) -> list[Notice]:
    time.sleep(settle_s)
    out: list[Notice] = []
    while True:
        try:
            out.append(listener.notices.get_nowait())
        except queue.Empty:
            return out


def test_listener_hears_committed_changes_only(
    listener: JobListener, queue_db: Engine, secure_studio: SecureStudio
) -> None:
    owner = secure_studio.user_ids["creator"]
    with queue_db.connect() as conn:
        repo.enqueue(conn, new_job(owner))
        conn.rollback()
    assert _drain(listener) == []
    me = holder("w")
    with queue_db.begin() as conn:
        job = repo.enqueue(conn, new_job(owner))
    with queue_db.begin() as conn:
        repo.claim(conn, me, timedelta(seconds=30))
        repo.transition(conn, job.id, me, JobStatus.FAILED, JobEventKind.FAILED, error="boom")
    seen = [_next(listener) for _ in range(3)]
    assert all(isinstance(n, JobNotice) for n in seen)
    assert [(n.job_id, n.status, n.event, n.owner_id) for n in seen if isinstance(n, JobNotice)] == [
        (job.id, JobStatus.QUEUED, JobEventKind.CREATED, owner),
        (job.id, JobStatus.CLAIMED, JobEventKind.CLAIMED, owner),
        (job.id, JobStatus.FAILED, JobEventKind.FAILED, owner),
    ]
    with queue_db.begin() as conn:
        ids = [e.id for e in repo.job_events(conn, job.id)]
    assert [n.event_id for n in seen if isinstance(n, JobNotice)] == ids


def test_listener_reconnects_after_its_connection_is_killed(
    listener: JobListener, queue_db: Engine, secure_studio: SecureStudio
) -> None:
    with queue_db.begin() as conn:
        killed = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
            )
        ).all()
    assert killed == [(True,)]
    assert isinstance(_next(listener), ListenerReconnected)
    assert listener.listening.wait(WAIT_S)
    with queue_db.begin() as conn:
        job = repo.enqueue(conn, new_job(secure_studio.user_ids["creator"]))
    notice = _next(listener)
    assert isinstance(notice, JobNotice)
    assert notice.job_id == job.id


def test_a_failing_callback_does_not_stop_the_listener(queue_db: Engine, secure_studio: SecureStudio) -> None:
    got: list[Notice] = []

    def handler(notice: Notice) -> None:
        got.append(notice)
        if len(got) == 1:
            raise RuntimeError("consumer bug")

    with JobListener.for_engine(queue_db, handler) as listener:
        assert listener.listening.wait(WAIT_S)
        for _ in range(2):
            with queue_db.begin() as conn:
                repo.enqueue(conn, new_job(secure_studio.user_ids["creator"]))
        deadline = time.monotonic() + WAIT_S
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(got) == 2


def test_stop_joins_within_a_poll_interval(queue_db: Engine) -> None:
    listener = JobListener.for_engine(queue_db).start()
    assert listener.listening.wait(WAIT_S)
    started = time.monotonic()
    listener.stop()
    assert not listener.alive
    assert time.monotonic() - started < 2.0


def test_malformed_payloads_are_ignored() -> None:
    assert parse_notice("not json") is None
    assert parse_notice('{"job_id": 1, "status": "exploded", "owner_id": 2}') is None
    assert parse_notice('{"job_id": 1, "status": "queued", "owner_id": 2}') == JobNotice(
        job_id=JobId(1), status=JobStatus.QUEUED, owner_id=UserId(2), event=None, event_id=None
    )


def test_notify_owner_as_a_creator_login(queue_db: Engine, secure_studio: SecureStudio) -> None:
    """A dispatcher signed in as a creator tells another user's job owner (RLS: own events only)."""

    a = secure_studio.user_ids["admin"]
    with queue_db.begin() as conn:
        job_id = repo.enqueue(conn, new_job(a)).id
    engine = create_engine(secure_studio.url("creator"))
    try:
        with engine.begin() as conn:
            mine = repo.enqueue(conn, new_job()).id  # owner defaults to the creator
            repo.notify_owner(conn, job_id, JobStatus.FAILED, "Node 3 (KSampler) raised OutOfMemoryError")
            owner = repo.get_job(conn, mine).owner_id
    finally:
        engine.dispose()
    with queue_db.begin() as conn:
        row = conn.execute(
            text(
                "SELECT n.user_id, e.actor_id, e.data->>'message' FROM notifications n "
                "JOIN activity_events e ON e.id = n.activity_event_id"
            )
        ).one()
    assert owner == secure_studio.user_ids["creator"]
    assert tuple(row) == (a, owner, "Node 3 (KSampler) raised OutOfMemoryError")


def test_reviewer_cannot_enqueue(secure_studio: SecureStudio) -> None:

    engine = create_engine(secure_studio.url("reviewer"))
    try:
        with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as conn:
            repo.enqueue(conn, new_job())
    finally:
        engine.dispose()
