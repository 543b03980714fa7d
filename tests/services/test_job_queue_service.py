"""JobQueueService on a real database and media store: submit resolves the workflow version, stores
file inputs by content, computes the warm-start key and records a cache hit instead of queueing;
status, events, list and cancel with the database deciding who is who."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import cv2
import pytest
from skimage import data
from sqlalchemy import create_engine, make_url, text

from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import InvalidInput, NotFound, PermissionDenied
from x121_desktop.core.orchestration.cache_key import warm_start_key
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.migrate import upgrade
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.db.security import scram_verifier
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest

CONTENT_HASH = "c0" * 32
MANIFEST = {
    "format": "x121.workflow-manifest",
    "version": 1,
    "parameters": {
        "seed_image_a": {"type": "image", "required": True, "targets": [{"node": "1", "input": "image"}]},
        "seed": {"type": "int", "default": 1, "targets": [{"node": "4", "input": "seed"}]},
        "prompt": {"type": "string", "default": "", "targets": [{"node": "2", "input": "text"}]},
        "fps": {"type": "float", "default": 8.0, "targets": [{"node": "5", "input": "fps"}]},
    },
}


@pytest.fixture(scope="module")
def db_url(new_database: Callable[[], str]) -> str:
    url = new_database()
    engine = create_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            wid = conn.execute(text("INSERT INTO workflows (name) VALUES ('walk-i2v') RETURNING id")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, manifest) "
                    "VALUES (:w, 1, :h, '{\"1\": {}}'::jsonb, CAST(:m AS jsonb))"
                ),
                {"w": wid, "h": CONTENT_HASH, "m": json.dumps(MANIFEST)},
            )
    finally:
        engine.dispose()
    return url


@pytest.fixture
def studio(db_url: str, tmp_path: Path) -> Iterator[Studio]:
    built = open_studio(LaunchOptions(database_url=db_url, home=str(tmp_path / "home")))
    with built.engine.begin() as conn:
        for table in ("notifications", "activity_events", "cost_records", "jobs"):
            conn.execute(text(f"DELETE FROM {table}"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "astronaut.png"
    ok, png = cv2.imencode(".png", cv2.cvtColor(data.astronaut()[::8, ::8], cv2.COLOR_RGB2BGR))
    assert ok
    path.write_bytes(png.tobytes())
    return path


def _request(photo: Path, **inputs: object) -> SubmitRequest:
    return SubmitRequest("walk-i2v", {"seed_image_a": str(photo), "seed": "7", "prompt": "walk", **inputs})


def _finish_with_output(studio: Studio, job_id: int, file_id: int) -> None:
    """What a dispatcher does: claim, run, store the output, succeed."""
    me = f"test:{uuid.uuid4().hex[:6]}"
    with studio.engine.begin() as conn:
        (claimed,) = repo.claim(conn, me, timedelta(seconds=30))
        assert claimed.id == job_id
        for to, ev in (
            (JobStatus.SUBMITTED, JobEventKind.SUBMITTED),
            (JobStatus.DOWNLOADING, JobEventKind.OUTPUT_STORED),
        ):
            repo.transition(conn, job_id, me, to, ev)
        repo.add_output(conn, job_id, me, file_id, "6")
        repo.transition(conn, job_id, me, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED)


def test_submit_queues_with_stored_files_and_an_explicit_warm_start_key(studio: Studio, photo: Path) -> None:
    result = asyncio.run(JobQueueService(studio).submit(_request(photo, fps="12.5")))
    job = result.job
    assert not result.cache_hit
    assert job.status is JobStatus.QUEUED
    params = {"seed": 7, "prompt": "walk", "fps": 12.5}
    assert job.inputs["params"] == params
    file_id = job.inputs["files"]["seed_image_a"]
    with studio.engine.begin() as conn:
        sha, rel = conn.execute(text("SELECT sha256, rel_path FROM files WHERE id = :i"), {"i": file_id}).one()
    assert (studio.paths.media_root / rel).read_bytes() == photo.read_bytes()
    assert job.cache_key == warm_start_key(CONTENT_HASH, params, {"seed_image_a": sha}, 7)


def test_identical_submission_is_a_cache_hit_and_a_changed_seed_is_not(
    studio: Studio, photo: Path, tmp_path: Path
) -> None:
    service = JobQueueService(studio)
    first = asyncio.run(service.submit(_request(photo))).job
    output = first.inputs["files"]["seed_image_a"]  # any stored file will do as the output
    _finish_with_output(studio, first.id, output)
    same_picture = tmp_path / "renamed-copy.png"
    same_picture.write_bytes(photo.read_bytes())
    hit = asyncio.run(service.submit(_request(same_picture)))
    assert hit.cache_hit
    assert hit.source_job_id == first.id
    assert hit.job.status is JobStatus.SUCCEEDED
    assert hit.job.attempts == 0
    assert [o.file_id for o in asyncio.run(service.outputs(hit.job.id))] == [output]
    events = asyncio.run(service.events(hit.job.id))
    assert events[-1].kind is JobEventKind.SUCCEEDED
    assert events[-1].data["cache_hit"] is True
    miss = asyncio.run(service.submit(_request(photo, seed="8")))
    assert not miss.cache_hit
    assert miss.job.status is JobStatus.QUEUED
    no_cache = asyncio.run(service.submit(replace(_request(photo), use_cache=False)))
    assert no_cache.job.status is JobStatus.QUEUED


def test_status_list_and_cancel(studio: Studio, photo: Path) -> None:
    service = JobQueueService(studio)
    a = asyncio.run(service.submit(_request(photo))).job
    b = asyncio.run(service.submit(replace(_request(photo, seed="2"), use_cache=False))).job
    assert asyncio.run(service.cancel(a.id)) is repo.CancelOutcome.CANCELLED
    assert asyncio.run(service.status(a.id)).status is JobStatus.CANCELLED
    assert asyncio.run(service.status(b.id)).status is JobStatus.QUEUED
    mine = asyncio.run(service.list(mine=True))
    assert [j.id for j in mine] == [b.id, a.id]
    queued = asyncio.run(service.list(statuses=[JobStatus.QUEUED]))
    assert [j.id for j in queued] == [b.id]
    with pytest.raises(NotFound, match="no job"):
        asyncio.run(service.status(b.id + 1000))


def test_bad_requests_are_one_sentence_errors(studio: Studio, photo: Path) -> None:
    service = JobQueueService(studio)
    with pytest.raises(NotFound, match="no workflow 'nope'"):
        asyncio.run(service.submit(SubmitRequest("nope", {})))
    with pytest.raises(NotFound, match="no version 9"):
        asyncio.run(service.submit(SubmitRequest("walk-i2v", {}, version=9)))
    with pytest.raises(InvalidInput, match="has no input colour"):
        asyncio.run(service.submit(_request(photo, colour="red")))
    with pytest.raises(InvalidInput, match="is not a whole number"):
        asyncio.run(service.submit(_request(photo, seed="seven")))
    with pytest.raises(InvalidInput, match="not a file"):
        asyncio.run(service.submit(_request(photo.with_name("missing.png"))))


def test_a_creator_cannot_cancel_someone_elses_job(
    studio: Studio, photo: Path, db_url: str, pg_server: EmbeddedServer, tmp_path: Path
) -> None:
    theirs = asyncio.run(JobQueueService(studio).submit(_request(photo))).job  # owned by the admin
    role = f"t_cre_{uuid.uuid4().hex[:8]}"
    with studio.engine.begin() as conn:
        verifier = scram_verifier(conn.connection.dbapi_connection.pgconn, role, "pw-long-enough")  # type: ignore[union-attr]
        conn.execute(text("SELECT x121_create_user(:r, 'creator', :v, 'Cre')"), {"r": role, "v": verifier})
    database = make_url(db_url).database
    assert database is not None
    creator = open_studio(LaunchOptions(database_url=pg_server.url(database, role), home=str(tmp_path / "c")))
    try:
        service = JobQueueService(creator)
        with pytest.raises(PermissionDenied, match="belongs to another user"):
            asyncio.run(service.cancel(theirs.id))
        own = asyncio.run(service.submit(_request(photo, seed="3"))).job
        assert asyncio.run(service.cancel(own.id)) is repo.CancelOutcome.CANCELLED
    finally:
        creator.close()
    assert asyncio.run(JobQueueService(studio).status(theirs.id)).status is JobStatus.QUEUED
