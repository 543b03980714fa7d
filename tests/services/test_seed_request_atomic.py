"""A seed generation's job and its request (the activity `SeedCollector` finds) are kept in one transaction.

`SubmitRequest.also` runs inside the submission's transaction after the job row is written; a failure
there (injected by a hook that raises) leaves neither job nor request, for a queued job and for a cache
hit. A normal request leaves both, written by the same transaction (equal `xmin`). Real database and
media store; the workflow is the bundled model-free seed workflow, imported with `x121 workflow import`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from tests.services.test_job_queue_service import _finish_with_output, photo
from tests.services.test_pipeline_e2e import WORKFLOWS, database, rows
from x121_desktop.cli.main import main
from x121_desktop.core.enums import ActivityKind, CharacterMode, JobKind, JobStatus, SeedKind
from x121_desktop.core.ids import CharacterId, SeedImageId
from x121_desktop.db.repositories.jobs import JobRow
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest
from x121_desktop.services.seed_generation import PURPOSE, JobSeedGenerator, SeedCollector
from x121_desktop.services.seeds import SeedGenerationRequest

__all__ = ["database", "photo"]

PARAMS = {"width": 64, "height": 36, "seed": 5}


class Injected(RuntimeError):
    """The failure a test injects inside the submission's transaction."""


@pytest.fixture
def studio(database: tuple[str, Engine], tmp_path: Path) -> Iterator[Studio]:
    url = database[0]
    assert main(["--database-url", url, "--home", str(tmp_path / "home"), "workflow", "import", "--name", "seedb",
                 str(WORKFLOWS / "x121-seed-modelfree.api.json")]) == 0  # fmt: skip
    built = open_studio(LaunchOptions(database_url=url, home=str(tmp_path / "home")))
    try:
        yield built
    finally:
        built.close()


def _character(engine: Engine) -> tuple[int, int]:
    """(project id, character id) of a Forward-mode character 'Ada'."""
    with engine.begin() as conn:
        project = conn.execute(text("INSERT INTO projects (name, project_status_id) VALUES ('Atoms', 1) RETURNING id"))
        pid = int(project.scalar_one())
        character = conn.execute(
            text("INSERT INTO characters (project_id, name, character_mode_id) VALUES (:p, 'Ada', :m) RETURNING id"),
            {"p": pid, "m": int(CharacterMode.FORWARD)},
        )
        return pid, int(character.scalar_one())


def _counts(engine: Engine) -> tuple[int, int, int]:
    """(jobs, job events, seed-generation requests) in the database."""
    found = rows(
        engine,
        "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM job_events), "
        "(SELECT count(*) FROM activity_events WHERE data ->> 'purpose' = :p)",
        p=PURPOSE,
    )[0]
    return int(found[0]), int(found[1]), int(found[2])


def _same_transaction(engine: Engine, job_id: int) -> None:
    """The job row and its request were written by one transaction (before anything else touched the job)."""
    [(job_xmin, request_xmin)] = rows(
        engine,
        "SELECT j.xmin::text, a.xmin::text FROM jobs j JOIN activity_events a ON a.job_id = j.id "
        "WHERE j.id = :j AND a.data ->> 'purpose' = :p",
        j=job_id,
        p=PURPOSE,
    )
    assert job_xmin == request_xmin


def _request(character_id: int, photo: Path) -> SeedGenerationRequest:
    return SeedGenerationRequest(CharacterId(character_id), "Ada", SeedKind.B, SeedImageId(1), photo, Fraction(16, 9))


class _FailsAfterKeeping(JobSeedGenerator):
    """A generator whose transaction fails after the job and its request were written (a crash before commit)."""

    def _keep_request(self, conn: Connection, job: JobRow, project_id: int, data: Any) -> None:
        super()._keep_request(conn, job, project_id, data)
        assert conn.execute(text("SELECT count(*) FROM jobs WHERE id = :j"), {"j": job.id}).scalar_one() == 1
        raise Injected("crash between the job and the commit")


def test_a_failure_after_the_job_is_written_keeps_neither_job_nor_request(
    database: tuple[str, Engine], studio: Studio, photo: Path
) -> None:
    engine = database[1]
    _, character = _character(engine)
    failing = _FailsAfterKeeping(studio, "seedb", image_parameter="source_image", params=PARAMS)
    with pytest.raises(Injected):
        asyncio.run(failing.request_seed(_request(character, photo)))
    assert _counts(engine) == (0, 0, 0)
    assert asyncio.run(SeedCollector(studio).pending()) == []

    generator = JobSeedGenerator(studio, "seedb", image_parameter="source_image", params=PARAMS)
    ticket = asyncio.run(generator.request_seed(_request(character, photo)))
    assert not ticket.recorded
    assert _counts(engine) == (1, 1, 1)  # the job, its CREATED event, its request
    _same_transaction(engine, ticket.job_id)
    [pending] = asyncio.run(SeedCollector(studio).pending(character))
    assert (pending.job_id, pending.kind, pending.status) == (ticket.job_id, SeedKind.B, JobStatus.QUEUED)


def test_submit_runs_also_in_its_own_transaction_for_a_queued_job_and_a_cache_hit(
    database: tuple[str, Engine], studio: Studio, photo: Path
) -> None:
    engine = database[1]
    project, _ = _character(engine)
    queue = JobQueueService(studio)
    inputs = {**PARAMS, "source_image": photo}
    seen: list[int] = []

    def keep(conn: Connection, job: JobRow) -> None:
        seen.append(job.id)
        conn.execute(
            text("INSERT INTO activity_events (activity_kind_id, project_id, job_id, data) "
                 "VALUES (:k, :p, :j, CAST(:d AS jsonb))"),
            {"k": int(ActivityKind.JOB_QUEUED), "p": project, "j": job.id, "d": f'{{"purpose": "{PURPOSE}"}}'},
        )  # fmt: skip

    def keep_then_fail(conn: Connection, job: JobRow) -> None:
        keep(conn, job)
        raise Injected("after the job insert, before the commit")

    def request(also: Any) -> SubmitRequest:
        return SubmitRequest("seedb", inputs, kind=JobKind.SEED_GENERATE, project_id=project, also=also)

    with pytest.raises(Injected):
        asyncio.run(queue.submit(request(keep_then_fail)))
    assert len(seen) == 1  # the hook ran with a written job row
    assert _counts(engine) == (0, 0, 0)

    first = asyncio.run(queue.submit(request(keep)))
    assert (first.cache_hit, first.job.status, seen[-1]) == (False, JobStatus.QUEUED, first.job.id)
    _same_transaction(engine, first.job.id)
    _finish_with_output(studio, first.job.id, first.job.inputs["files"]["source_image"])

    # the same submission again is a cache hit (SUCCEEDED at insert): a failing hook keeps no job either
    jobs_before, events_before, requests_before = _counts(engine)
    with pytest.raises(Injected):
        asyncio.run(queue.submit(request(keep_then_fail)))
    assert _counts(engine) == (jobs_before, events_before, requests_before)
    hit = asyncio.run(queue.submit(request(keep)))
    assert (hit.cache_hit, hit.source_job_id, hit.job.status) == (True, first.job.id, JobStatus.SUCCEEDED)
    _same_transaction(engine, hit.job.id)
    assert _counts(engine)[0] == jobs_before + 1
