"""Shared fixtures for the job queue tests: a secure studio database whose jobs are wiped per test.

The queue tests commit (claimers and reclaimers race on separate connections), so they run in
the secure studio's own database (login roles: creator, reviewer, admin), never the shared one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine

from tests.db.security_studio import SUPERUSER, SecureStudio
from x121_desktop.core.enums import JobKind
from x121_desktop.db.repositories import jobs as repo

WIPE = (
    "DELETE FROM notifications",
    "DELETE FROM activity_events",
    "DELETE FROM cost_records",
    "UPDATE takes SET job_id = NULL WHERE job_id IS NOT NULL",
    "DELETE FROM jobs",
)


def wipe_jobs(engine: Engine) -> None:
    with engine.begin() as conn:
        for statement in WIPE:
            conn.execute(text(statement))


@pytest.fixture(scope="module")
def su_engine(secure_studio: SecureStudio) -> Iterator[Engine]:
    engine = create_engine(secure_studio.url(SUPERUSER), pool_size=10, max_overflow=10)
    yield engine
    engine.dispose()


@pytest.fixture
def queue_db(su_engine: Engine) -> Iterator[Engine]:
    """The superuser engine with no jobs before and after the test."""
    wipe_jobs(su_engine)
    yield su_engine
    wipe_jobs(su_engine)


def new_job(owner: int | None = None, *, priority: int = 0, **kw: Any) -> repo.NewJob:
    return repo.NewJob(kind=JobKind.GENERATE, inputs=kw.pop("inputs", {}), priority=priority, owner_id=owner, **kw)


def enqueue_many(conn: Connection, owner: int, count: int, *, priority: int = 0) -> list[int]:
    return [int(repo.enqueue(conn, new_job(owner, priority=priority)).id) for _ in range(count)]


def holder(name: str) -> str:
    return f"{name}:{uuid.uuid4().hex[:6]}"
