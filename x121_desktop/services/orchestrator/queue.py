"""Submitting, following and cancelling jobs: the async use cases over the job queue repository.

`JobQueueService(studio)` runs blocking work on the studio's executors (writes on `db_writer`,
reads on `db_read`, file hashing and copies on `io`) and commits one transaction per operation.

Submitting resolves the workflow version (by name, latest unless a version number is given),
checks the inputs against the version's parameter manifest (numbers and booleans given as text
are converted), copies every `image`/`video` input into the studio's media store (so a render box
can upload it later) and stores the job's inputs as `{"params": {...}, "files": {name: file_id}}`,
the shape the runner applies to the workflow.

Each job gets its work estimate when it is queued (`comfy.needs.work_estimate` of its rendered
prompt, pixel-frames; None when the prompt cannot be rendered yet, and the claim then refuses it
with the reason). `submit_batch` queues several jobs in one transaction: they form one batch
(one `created_at`), which the queue starts largest estimate first (docs/QUEUE.md).

Warm-start cache: the key is `core.orchestration.cache_key.warm_start_key(version content hash,
params, {file input: sha256 of its bytes}, seed)` where the seed is the `seed` parameter (given,
or the manifest default; None when the workflow has none). If a SUCCEEDED job with the same key
and outputs exists, the submission is recorded as a cache-hit job (SUCCEEDED at once, the same
output files linked, events CREATED + SUCCEEDED with `cache_hit: true`) instead of being queued.

A request may carry `also(conn, job_row)`: what the caller keeps with the job (seed generation keeps
its request, services/seed_generation.py). It runs in the submission's transaction right after the
job row is written (queued or cache hit), before the commit: when it raises, no job is kept either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.comfy.needs import work_estimate
from x121_desktop.comfy.templates import parse_manifest
from x121_desktop.core.enums import JobKind, JobStatus
from x121_desktop.core.errors import InvalidInput, NotFound, PermissionDenied, X121Error
from x121_desktop.core.ids import FileId, JobId, UserId
from x121_desktop.core.orchestration.cache_key import warm_start_key
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator import records as rec
from x121_desktop.services.orchestrator.claims import not_allowed
from x121_desktop.services.storage import Blob, MediaStore, kind_for
from x121_desktop.services.transactions import in_transaction

FILE_TYPES = frozenset({"image", "video"})

CancelOutcome = repo.CancelOutcome
"""What `JobQueueService.cancel` did (re-exported for front ends)."""


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    workflow: str
    inputs: Mapping[str, object]
    """Manifest parameter → value; `image`/`video` parameters take a file path."""
    version: int | None = None
    priority: int = 0
    kind: JobKind = JobKind.GENERATE
    project_id: int | None = None
    take_id: int | None = None
    redispatch_allowed: bool = True
    max_attempts: int = 3
    use_cache: bool = True
    also: Callable[[Connection, repo.JobRow], None] | None = None
    """Run in the submission's transaction after the job row is written; raising rolls the job back too."""


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as the UI and CLI show it."""

    id: JobId
    prompt_id: str
    owner_id: UserId
    kind: JobKind
    status: JobStatus
    priority: int
    attempts: int
    max_attempts: int
    cancel_requested: bool
    error: str | None
    workflow_version_id: int | None
    server_id: int | None
    lease_holder: str | None
    cache_key: str | None
    inputs: Mapping[str, Any]
    created_at: str
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True, slots=True)
class SubmitResult:
    job: JobView
    cache_hit: bool
    source_job_id: JobId | None
    """The earlier job whose outputs a cache hit reuses."""


@dataclass(frozen=True, slots=True)
class _Version:
    id: int
    version_no: int
    content_hash: str
    parameters: Mapping[str, Mapping[str, Any]]
    api_json: Mapping[str, Any]
    manifest: Any


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A submission with its files copied into the store, ready to be written."""

    request: SubmitRequest
    version: _Version
    params: dict[str, object]
    paths: dict[str, Path]
    blobs: dict[str, Blob]
    key: str


def view(job: repo.JobRow) -> JobView:
    def iso(value: Any) -> str | None:
        return None if value is None else str(value.isoformat())

    return JobView(
        id=job.id,
        prompt_id=str(job.prompt_id),
        owner_id=job.owner_id,
        kind=job.kind,
        status=job.status,
        priority=job.priority,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        cancel_requested=job.cancel_requested,
        error=job.error,
        workflow_version_id=job.workflow_version_id,
        server_id=job.server_id,
        lease_holder=job.lease_holder,
        cache_key=job.cache_key,
        inputs=job.inputs,
        created_at=str(job.created_at.isoformat()),
        started_at=iso(job.started_at),
        finished_at=iso(job.finished_at),
    )


def _resolve_version(conn: Connection, name: str, version: int | None) -> _Version:
    query = (
        "SELECT v.id, v.version_no, v.content_hash, v.manifest, v.api_json FROM workflow_versions v "
        "JOIN workflows w ON w.id = v.workflow_id WHERE w.name = :name"
    )
    if version is not None:
        query += " AND v.version_no = :version"
    row = conn.execute(
        text(query + " ORDER BY v.version_no DESC LIMIT 1"), {"name": name, "version": version}
    ).one_or_none()
    if row is None:
        which = f"version {version} of workflow" if version is not None else "workflow"
        raise NotFound(f"There is no {which} {name!r}", "Check the name with `x121 workflow list`")
    params = row[3].get("parameters") if isinstance(row[3], Mapping) else None
    return _Version(int(row[0]), int(row[1]), str(row[2]), dict(params or {}), dict(row[4] or {}), row[3])


def _work(version: _Version, inputs: Mapping[str, Any]) -> float | None:
    """The job's work estimate in pixel-frames, or None while its prompt cannot be rendered."""
    try:
        manifest = parse_manifest(version.manifest, f"workflow version {version.id}")
        return work_estimate(rec.render(inputs, rec.Workflow(dict(version.api_json), manifest)))
    except X121Error:
        return None  # the claim refuses the job, saying why


def _coerce(name: str, spec: Mapping[str, Any], value: object) -> object:
    kind = spec.get("type")
    if not isinstance(value, str) or kind not in ("int", "float", "bool"):
        return value
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except ValueError:
        what = "a whole number" if kind == "int" else "a number"
        raise InvalidInput(f"Input {name}={value!r} is not {what}", f"Give {name} {what}") from None
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(f"Input {name}={value!r} is not true or false", f"Give {name} true or false")


def split_inputs(
    version: _Version, workflow: str, inputs: Mapping[str, object]
) -> tuple[dict[str, object], dict[str, Path]]:
    """(params by value, file inputs by path), checked against the manifest's parameter names and types."""
    unknown = sorted(set(inputs) - set(version.parameters))
    if unknown and version.parameters:
        raise InvalidInput(
            f"Workflow {workflow!r} v{version.version_no} has no input {', '.join(unknown)}",
            f"Use its parameters: {', '.join(sorted(version.parameters))}",
        )
    params: dict[str, object] = {}
    files: dict[str, Path] = {}
    for name, value in inputs.items():
        spec = version.parameters.get(name, {})
        if spec.get("type") in FILE_TYPES:
            path = Path(str(value)).expanduser()
            if not path.is_file():
                raise InvalidInput(
                    f"Input {name} names {path}, which is not a file", "Give the path of an existing file"
                )
            files[name] = path
        else:
            params[name] = _coerce(name, spec, value)
    return params, files


def _seed(version: _Version, params: Mapping[str, object]) -> int | None:
    value = params.get("seed", version.parameters.get("seed", {}).get("default"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class JobQueueService:
    """Submit, inspect, list and cancel jobs as the signed-in studio user."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._runtime = studio.runtime
        self._store = MediaStore(studio.paths.media_root)

    async def _tx[T](self, write: bool, work: Callable[[Connection], T]) -> T:
        pool = self._runtime.db_writer if write else self._runtime.db_read
        return await self._runtime.run(pool, in_transaction, self._studio, work)

    async def submit(self, request: SubmitRequest) -> SubmitResult:
        """Queue one job (or record a cache hit), with the request's `also`, in one transaction."""
        return (await self.submit_batch([request]))[0]

    async def submit_batch(self, requests: Sequence[SubmitRequest]) -> list[SubmitResult]:
        """Queue several jobs in one transaction: one batch, started largest estimated work first.

        Only admins may submit above priority 0 (the database refuses it too, revision 0012)."""
        if any(r.priority > 0 for r in requests) and not (await self._tx(False, _whoami))[1]:
            raise PermissionDenied(
                "Only admins can submit a job above priority 0",
                "Submit it at priority 0 or lower; an admin can move it to the front of the queue",
            )
        prepared = [await self._prepare(r) for r in requests]

        def work(conn: Connection) -> list[SubmitResult]:
            return [self._record(conn, p) for p in prepared]

        try:
            return await self._tx(True, work)
        except PermissionDenied as exc:
            raise not_allowed("submit jobs", exc) from exc

    async def _prepare(self, request: SubmitRequest) -> _Prepared:
        version = await self._tx(False, lambda c: _resolve_version(c, request.workflow, request.version))
        params, paths = split_inputs(version, request.workflow, request.inputs)
        blobs: dict[str, Blob] = {}
        for name, path in paths.items():
            blobs[name] = await self._runtime.run(self._runtime.io, self._store.write_path, path)
        key = warm_start_key(
            version.content_hash, params, {n: b.sha256 for n, b in blobs.items()}, _seed(version, params)
        )
        return _Prepared(request, version, params, paths, blobs, key)

    def _record(self, conn: Connection, p: _Prepared) -> SubmitResult:
        files: dict[str, FileId] = {
            n: self._store.record(conn, b, kind=kind_for(p.paths[n].name)).file_id for n, b in p.blobs.items()
        }
        inputs = {"params": p.params, "files": files}
        new = repo.NewJob(
            kind=p.request.kind,
            inputs=inputs,
            priority=p.request.priority,
            workflow_version_id=p.version.id,
            project_id=p.request.project_id,
            take_id=p.request.take_id,
            cache_key=p.key,
            redispatch_allowed=p.request.redispatch_allowed,
            max_attempts=p.request.max_attempts,
            work_estimate=_work(p.version, inputs),
        )
        source = repo.find_cache_hit(conn, p.key) if p.request.use_cache else None
        job = repo.enqueue(conn, new) if source is None else repo.record_cache_hit(conn, new, source)
        if p.request.also is not None:
            p.request.also(conn, job)
        return SubmitResult(view(job), source is not None, None if source is None else source.id)

    async def status(self, job_id: int) -> JobView:
        return await self._tx(False, lambda c: view(repo.get_job(c, job_id)))

    async def events(self, job_id: int, after_id: int | None = None) -> list[repo.JobEventRow]:
        def work(conn: Connection) -> list[repo.JobEventRow]:
            repo.get_job(conn, job_id)
            return repo.job_events(conn, job_id, after_id=after_id)

        return await self._tx(False, work)

    async def outputs(self, job_id: int) -> list[repo.JobOutputRow]:
        return await self._tx(False, lambda c: repo.job_outputs(c, job_id))

    async def list(self, *, mine: bool = False, statuses: Sequence[JobStatus] = (), limit: int = 100) -> list[JobView]:
        def work(conn: Connection) -> list[JobView]:
            owner = _whoami(conn)[0] if mine else None
            rows = repo.list_jobs(conn, repo.JobFilter(owner_id=owner, statuses=tuple(statuses), limit=limit))
            return [view(r) for r in rows]

        return await self._tx(False, work)

    async def cancel(self, job_id: int) -> repo.CancelOutcome:
        """Cancel one job of yours (admins: anyone's). Other jobs are never touched.

        A queued job ends now; a running one is flagged for the dispatcher holding it, which interrupts
        it on its server and ends it as cancelled. The database function `x121_cancel_job` does it and
        checks the caller again (revision 0012)."""

        def work(conn: Connection) -> repo.CancelOutcome:
            me, admin = _whoami(conn)
            job = repo.get_job(conn, job_id)
            if job.owner_id != me and not admin:
                raise PermissionDenied(
                    f"Job {job_id} belongs to another user", "Ask its owner or a studio admin to cancel it"
                )
            return repo.request_cancel(conn, job_id)

        return await self._tx(True, work)


def _whoami(conn: Connection) -> tuple[int, bool]:
    row = conn.execute(text("SELECT x121_current_user_id(), x121_is_admin()")).one()
    if row[0] is None:
        raise PermissionDenied("This database login is not a studio user", "Ask an admin to add you (x121 user add)")
    return int(row[0]), bool(row[1])
