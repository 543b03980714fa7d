"""Seed generation through the job queue: the orchestrator's `SeedGenerator` (Forward/Reverse modes).

`JobSeedGenerator(studio, workflow)` queues a SEED_GENERATE job of an imported workflow whose
manifest takes the source seed as an image parameter (`seed_image_a` by default; a Seed B
workflow for Forward mode, a Seed A one for Reverse; services/seed_workflows.py picks the
project's). The request itself is kept in the database: a JOB_QUEUED activity event on the job
with `purpose = "seed_generation"`, the character, the kind to make and the source seed, written in
the job's own transaction (`SubmitRequest.also`), so no job is ever queued without it. A cache hit
(SUCCEEDED at once) is collected by `request_seed` itself.

`SeedCollector.collect()` finds those whose job SUCCEEDED and whose image is not yet a seed of the
character, and records each output image with `SeedService.record_generated` (GENERATED origin,
parent = the source seed, the workflow version, job, parameters and seed as provenance), one
transaction per job: the character is locked and the job checked again inside it, so two clients
collecting at once record it once. A job whose image cannot be recorded is reported as a problem
and does not stop the others. It is idempotent and restart-safe: the desktop collects when a job's
success NOTIFY arrives (`listen`), `x121 seed collect` does it headless, any number of times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import ActivityKind, JobKind, JobStatus, SeedKind
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import CharacterId, JobId, SeedImageId, UserId, WorkflowVersionId
from x121_desktop.db.notify import JobListener, ListenerHandle, ListenerReconnected, Notice, conninfo_from_engine
from x121_desktop.db.repositories import scenes as scene_repo
from x121_desktop.db.repositories.jobs import JobRow
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest
from x121_desktop.services.seeds import (
    GeneratedSeed,
    SeedGenerationRequest,
    SeedGenerationTicket,
    SeedService,
    SeedView,
)
from x121_desktop.services.storage import MediaStore
from x121_desktop.services.transactions import in_transaction

log = logging.getLogger(__name__)

PURPOSE = "seed_generation"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_ENDED_WITHOUT_IMAGE = (JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class _Finished:
    job_id: JobId
    character_id: CharacterId
    kind: SeedKind
    source_seed_id: SeedImageId
    workflow_version_id: WorkflowVersionId | None
    params: Mapping[str, Any]
    image: str


@dataclass(frozen=True, slots=True)
class CollectProblem:
    job_id: JobId
    character_id: CharacterId
    sentence: str


@dataclass(frozen=True, slots=True)
class SeedCollection:
    """What one collection recorded: the generated seeds (and their refined variants), and what failed."""

    seeds: tuple[SeedView, ...] = ()
    problems: tuple[CollectProblem, ...] = ()

    @property
    def generated(self) -> tuple[SeedView, ...]:
        """The generated seeds themselves (one per job), without refined variants."""
        return tuple(s for s in self.seeds if s.job_id is not None)


@dataclass(frozen=True, slots=True)
class PendingSeed:
    """A requested seed not recorded yet: its job is waiting, running, or finished and not collected."""

    job_id: JobId
    character_id: CharacterId
    kind: SeedKind
    status: JobStatus
    workflow: str


class JobSeedGenerator:
    """Implements `services.seeds.SeedGenerator` by submitting a SEED_GENERATE job."""

    def __init__(
        self,
        studio: Studio,
        workflow: str,
        *,
        image_parameter: str = "seed_image_a",
        params: Mapping[str, object] | None = None,
        version: int | None = None,
    ) -> None:
        self._studio = studio
        self._workflow = workflow
        self._version = version
        self._image_parameter = image_parameter
        self._params: dict[str, object] = dict(params or {})
        self._queue = JobQueueService(studio)

    async def request_seed(self, request: SeedGenerationRequest) -> SeedGenerationTicket:
        runtime = self._studio.runtime

        def project_of(conn: Connection) -> int:
            return int(
                conn.execute(
                    text("SELECT project_id FROM characters WHERE id = :c"), {"c": request.character_id}
                ).scalar_one()
            )

        project_id = await runtime.run(runtime.db_read, in_transaction, self._studio, project_of)
        inputs = {**self._params, self._image_parameter: request.source_path}
        data = {
            "purpose": PURPOSE, "character_id": request.character_id, "kind": request.kind.code,
            "source_seed_id": request.source_seed_id, "workflow": self._workflow,
        }  # fmt: skip
        submit = SubmitRequest(
            self._workflow, inputs, version=self._version, kind=JobKind.SEED_GENERATE, project_id=project_id,
            also=lambda conn, job: self._keep_request(conn, job, project_id, data),
        )  # fmt: skip
        result = await self._queue.submit(submit)
        job_id = result.job.id
        version = f" v{self._version}" if self._version is not None else ""
        head = f"Seed {request.kind.name} for {request.character_name}"
        if result.cache_hit:
            # Already SUCCEEDED, its request kept with it: collect it now (a listener may beat us to it).
            recorded = (await SeedCollector(self._studio).collect([job_id])).generated
            seed_ids = [int(s.id) for s in recorded] or await runtime.run(
                runtime.db_read, in_transaction, self._studio, lambda c: _seeds_of_job(c, job_id)
            )
            said = f"recorded as seed #{seed_ids[0]}" if seed_ids else "an image this character already has"
            cached = f"a cached result of workflow {self._workflow!r}{version} (job {job_id})"
            sentence = f"{head} came from {cached}: {said}."
        else:
            sentence = f"{head} is being generated by job {job_id} with workflow {self._workflow!r}{version}."
        return SeedGenerationTicket(job_id, sentence, recorded=result.cache_hit)

    def _keep_request(self, conn: Connection, job: JobRow, project_id: int, data: Mapping[str, object]) -> None:
        """The request, kept in the job's own transaction (`SubmitRequest.also`): no job without it."""
        scene_repo.add_activity(conn, ActivityKind.JOB_QUEUED, project_id, dict(data), job_id=job.id)

    async def collect(self) -> SeedCollection:
        """Record the images of every finished seed generation not recorded yet."""
        return await SeedCollector(self._studio).collect()


class SeedCollector:
    """Records finished seed generations as seeds; see the module docstring."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._store = MediaStore(studio.paths.media_root)

    async def collect(self, job_ids: Collection[int] | None = None) -> SeedCollection:
        """Record every finished seed generation not recorded yet (only these jobs when given)."""
        runtime = self._studio.runtime
        wanted = None if job_ids is None else sorted({int(j) for j in job_ids})
        done = await runtime.run(runtime.db_read, in_transaction, self._studio, lambda c: _finished(c, wanted))
        seeds = SeedService(self._studio)
        stored: list[SeedView] = []
        problems: list[CollectProblem] = []
        for item in done:
            generated = GeneratedSeed(
                item.character_id, item.kind, self._store.path_of(item.image), item.workflow_version_id,
                item.job_id, {"workflow_params": dict(item.params)},
                _seed_of(item.params), parent_seed_id=item.source_seed_id,
            )  # fmt: skip
            try:
                stored += (await seeds.record_generated(generated)).seeds
            except X121Error as exc:
                problems.append(CollectProblem(item.job_id, item.character_id, f"Job {item.job_id}: {exc.sentence}"))
        return SeedCollection(tuple(stored), tuple(problems))

    async def pending(self, character_id: int | None = None) -> list[PendingSeed]:
        """Requested seeds not recorded yet (their jobs neither failed nor were cancelled), oldest first."""
        runtime = self._studio.runtime
        return await runtime.run(
            runtime.db_read, in_transaction, self._studio, lambda c: pending_seeds(c, character_id)
        )  # fmt: skip

    def listen(self, on_ended: Callable[[JobEnded | None], None]) -> SeedJobListener:
        """A started LISTEN thread on `x121_jobs` as this studio's login (see `SeedJobListener`)."""
        return SeedJobListener(conninfo_from_engine(self._studio.engine), on_ended).start()

    async def me(self) -> tuple[UserId | None, bool]:
        """(the signed-in studio user, whether that role may record seeds: creators and admins)."""
        runtime = self._studio.runtime

        def work(conn: Connection) -> tuple[UserId | None, bool]:
            row = conn.execute(text("SELECT x121_current_user_id(), x121_is_creator()")).one()
            return (None if row[0] is None else UserId(int(row[0]))), bool(row[1])

        return await runtime.run(runtime.db_read, in_transaction, self._studio, work)


@dataclass(frozen=True, slots=True)
class JobEnded:
    """A job came to an end (succeeded, failed or was cancelled), as announced on `x121_jobs`."""

    job_id: JobId
    owner_id: UserId
    status: JobStatus


class SeedJobListener(ListenerHandle):
    """`on_ended(JobEnded)` for every job that succeeded, failed or was cancelled, and `on_ended(None)` after the
    LISTEN connection came back (notices in between were lost: collect everything). Runs on the listener
    thread: hand it over, never block there. stop() joins the thread."""

    def __init__(self, conninfo: str, on_ended: Callable[[JobEnded | None], None]) -> None:
        def hand_over(notice: Notice) -> None:
            if isinstance(notice, ListenerReconnected):
                on_ended(None)
            elif notice.status is JobStatus.SUCCEEDED or notice.status in _ENDED_WITHOUT_IMAGE:
                on_ended(JobEnded(notice.job_id, notice.owner_id, notice.status))

        self._listener = JobListener(conninfo, hand_over)


def _seeds_of_job(conn: Connection, job_id: int) -> list[int]:
    """The seeds recorded from a job's image (the generated one first)."""
    rows = conn.execute(text("SELECT id FROM seed_images WHERE job_id = :j ORDER BY id"), {"j": job_id})
    return [int(i) for (i,) in rows]


def _seed_of(params: Mapping[str, Any]) -> int | None:
    value = params.get("seed")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _preference(path: str) -> tuple[int, str]:
    return next(n for n, s in enumerate(_IMAGE_SUFFIXES) if path.lower().endswith(s)), path


_ENDED = (JobStatus.SUCCEEDED, *_ENDED_WITHOUT_IMAGE)
_RUNNING = tuple(s for s in JobStatus if s not in _ENDED)
"""Statuses of a job that has not ended (queued, held, claimed, running, lost and waiting to be re-sent, …)."""

_REQUESTS = (
    # from the jobs side: the claim index (status first) finds the few jobs in the statuses asked for
    "FROM jobs j JOIN activity_events a ON a.job_id = j.id AND a.activity_kind_id = :queued "
    "AND a.data ->> 'purpose' = :purpose "
    "WHERE j.job_kind_id = :seed_job AND j.job_status_id = ANY(:statuses) "
    # not recorded yet: no seed of this job, and no seed of the character holding one of its images
    "AND NOT EXISTS (SELECT 1 FROM seed_images s WHERE s.job_id = j.id) "
    "AND NOT EXISTS (SELECT 1 FROM job_outputs o JOIN seed_images s ON s.file_id = o.file_id "
    "                WHERE o.job_id = j.id AND s.character_id = (a.data ->> 'character_id')::integer) "
)


def _request_params(statuses: tuple[JobStatus, ...], **more: object) -> dict[str, object]:
    return {
        "queued": int(ActivityKind.JOB_QUEUED), "purpose": PURPOSE, "seed_job": int(JobKind.SEED_GENERATE),
        "statuses": [int(s) for s in statuses], **more,
    }  # fmt: skip


def _finished(conn: Connection, job_ids: list[int] | None) -> list[_Finished]:
    only = "" if job_ids is None else "AND j.id = ANY(:ids) "
    rows = conn.execute(
        text("SELECT a.job_id, a.data, j.workflow_version_id, j.inputs " + _REQUESTS + only + "ORDER BY a.id"),
        _request_params((JobStatus.SUCCEEDED,), ids=job_ids),
    ).all()
    out: list[_Finished] = []
    for r in rows:
        images = [
            str(p)
            for (p,) in conn.execute(
                text("SELECT f.rel_path FROM job_outputs o JOIN files f ON f.id = o.file_id WHERE o.job_id = :j"),
                {"j": r.job_id},
            )
            if str(p).lower().endswith(_IMAGE_SUFFIXES)
        ]
        if not images:
            log.warning("seed generation job %s succeeded without an image output; nothing to record", r.job_id)
            continue
        data: dict[str, Any] = dict(r.data)
        out.append(
            _Finished(
                JobId(r.job_id), CharacterId(int(data["character_id"])), SeedKind.from_code(str(data["kind"])),
                SeedImageId(int(data["source_seed_id"])),
                None if r.workflow_version_id is None else WorkflowVersionId(r.workflow_version_id),
                dict((r.inputs or {}).get("params", {})), min(images, key=_preference),
            )
        )  # fmt: skip
    return out


def pending_seeds(
    conn: Connection, character_id: int | None = None, *, running_only: bool = False
) -> list[PendingSeed]:
    """See `SeedCollector.pending` (in the caller's transaction); `running_only`: leave out the jobs that
    succeeded and wait to be collected (the navigator's "generating")."""
    only = "" if character_id is None else "AND (a.data ->> 'character_id')::integer = :c "
    statuses = _RUNNING if running_only else (*_RUNNING, JobStatus.SUCCEEDED)
    rows = conn.execute(
        text("SELECT a.job_id, a.data, j.job_status_id " + _REQUESTS + only + "ORDER BY a.id"),
        _request_params(statuses, c=character_id),
    ).all()
    return [
        PendingSeed(
            JobId(r.job_id), CharacterId(int(r.data["character_id"])), SeedKind.from_code(str(r.data["kind"])),
            JobStatus(r.job_status_id), str(r.data.get("workflow", "")),
        )
        for r in rows
    ]  # fmt: skip


__all__ = [
    "CollectProblem",
    "JobEnded",
    "JobSeedGenerator",
    "PendingSeed",
    "SeedCollection",
    "SeedCollector",
    "SeedJobListener",
    "pending_seeds",
]
