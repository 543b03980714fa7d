"""One dispatcher's claims: the repository's claim for a server, fed with job plans and work estimates.

`Claimer.claim` runs one claim transaction (`db.repositories.job_dispatch.claim_placed`: fair-share
order, placement, the finish-aware rule, capacity under the server's advisory lock) on one kept
connection: two round trips to PostgreSQL (look; take with its commit). What a queued job needs (node
types, models: `comfy.needs`) and how big it is (its stored work estimate, else `work_estimate` of
its prompt, in pixel-frames) is worked out once per job and kept while the job waits, since its
inputs and workflow never change; workflow versions are read once each (they never change either).
Capabilities stored by `x121 server check` are enough to place a job, but a job is refused as
impossible only on capabilities read from the servers themselves (they may have gained a model
since the check): until then it waits, and the servers' /object_info is read.

A server drained (or removed) while a claim was placing a job on it: the take's statements count it
as full unless it is still `is_enabled` (read committed, after the server's advisory lock: they see a
drain committed before them), so the job stays queued and the next claim places it elsewhere; no
claim that starts after a drain commits can give the drained server a job. A server this fleet
stopped following during the claim gets its job given back at once (CLAIMED → QUEUED).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from x121_desktop.comfy.needs import work_estimate
from x121_desktop.core.enums import ServerStatus
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.core.ids import JobId, ServerId
from x121_desktop.core.orchestration.placement import PlacementOutcome
from x121_desktop.db.engine import translate_db_error
from x121_desktop.db.repositories import job_dispatch, job_leases
from x121_desktop.db.repositories.job_order import JobPlan
from x121_desktop.services.orchestrator import records as rec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from concurrent.futures import Future

    from sqlalchemy.engine import Connection, Engine

    from x121_desktop.db.repositories.job_records import JobRow, StoredFile
    from x121_desktop.services.orchestrator.fleet import Fleet, ServerHandle

CANDIDATES = 24
"""Queued jobs looked at per claim: the finish-aware rule's look-ahead."""
FK_VIOLATION = "23503"

type UploadAhead = Callable[[ServerId, Mapping[str, StoredFile]], Future[dict[str, str]]]
"""Starts uploading input files to a server (on another thread); its future gives target → server name."""


@dataclass(frozen=True, slots=True)
class Claim:
    job: JobRow
    handle: ServerHandle
    resolved: rec.Resolved
    started: float
    """perf_counter() when the claim transaction began."""
    room_left: bool = False
    """A server still had a free slot after this claim: claim again at once."""
    uploads: Future[dict[str, str]] | None = None
    """The job's inputs going to its server, started while the claim took the job (first attempts)."""


class Claimer:
    def __init__(
        self, engine: Engine, fleet: Fleet, holder: str, lease_s: float, upload_ahead: UploadAhead | None = None
    ) -> None:
        self.engine, self.fleet, self.holder, self.lease = engine, fleet, holder, timedelta(seconds=lease_s)
        self.upload_ahead = upload_ahead
        self._ahead: dict[tuple[int, int], Future[dict[str, str]]] = {}
        self.refused = 0
        self.work: dict[JobId, float] = {}
        """Work estimates of the jobs this dispatcher holds (dropped when they end)."""
        self._plans: dict[JobId, tuple[JobPlan, rec.Workflow | None]] = {}
        self._workflows: dict[int, rec.Workflow] = {}
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        """One connection kept for claims (they run one at a time): no pool check-out or ping per claim."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def claim(
        self, down: set[ServerId], speeds: Mapping[ServerId, float], covers_all: bool, per_second: bool = False
    ) -> Claim | None:
        """Claim one job for one of the fleet's servers (None: nothing to take now).

        `speeds`: each server's speed; `per_second`: they are measured work per second, so a held job's
        running time counts (`job_dispatch.claim_placed`). `covers_all`: this fleet is every enabled
        server, so a job none of them can run is refused.
        """
        started = time.perf_counter()
        self._ahead.clear()  # uploads a previous claim started for tries it did not take: never reused
        snaps = self.fleet.snapshots(down, speeds)
        if not any(s.status is ServerStatus.ONLINE for s in snaps):
            return None  # no server up with known capabilities: decide on the next round
        capacity = {int(h.id): h.row.capacity for h in self.fleet.handles.values()}
        if len(self._plans) > 4 * CANDIDATES:
            self._plans.clear()  # plans of jobs other dispatchers took meanwhile
        if len(self._workflows) > 4 * CANDIDATES:
            self._workflows.clear()
        # Stored capabilities place jobs; only capabilities read from the servers themselves refuse one.
        live = all(h.info is not None for h in self.fleet.handles.values() if h.accepting)  # drained ones aside
        conn = self._connection()
        try:
            with conn.begin() as tx:
                result = job_dispatch.claim_placed(
                    conn,
                    self.holder,
                    self.lease,
                    snaps,
                    capacity,
                    lambda job: self._plan(conn, job),
                    work_of=lambda job_id: self.work.get(JobId(job_id)),
                    window=CANDIDATES,
                    refuse_impossible=covers_all and live,
                    per_second=per_second,
                    taking=self._taking,
                    commit_with_take=True,
                    follows_all=covers_all,
                )
                # The take counted a server drained in the database as full (`open_only`); one this fleet
                # stopped following during the claim is given back here.
                handle = self._still_accepting(result.server_id) if result.job is not None else None
                if result.job is not None and handle is None:  # removed meanwhile: give the job back
                    job_leases.release(conn, result.job.id, self.holder, "its server left the fleet during the claim")
                    tx.commit()
                    self._ahead.clear()
                    return None
        except DBAPIError as exc:
            self.close()  # a fresh connection next time (this one may be broken; prepared statements are cheap)
            if getattr(exc.orig, "sqlstate", None) == FK_VIOLATION:
                return None  # the chosen server's row was deleted under the claim: the fleet follows
            error = translate_db_error(exc)
            if isinstance(error, PermissionDenied):
                raise not_allowed("dispatch jobs", error) from exc
            raise error from exc
        self.refused += len(result.refused)
        if not live and any(p.outcome is PlacementOutcome.IMPOSSIBLE for p in result.placements.values()):
            for handle in self.fleet.handles.values():  # maybe stale: read /object_info before refusing
                handle.stale = handle.stale or (handle.accepting and handle.info is None)
        for refused in result.refused:
            self._plans.pop(refused.job.id, None)
        if result.job is None or handle is None:
            return None
        plan, workflow = self._plans.pop(result.job.id)
        handle.loaded = plan.needs.models
        self.work[result.job.id] = plan.work
        uploads = self._ahead.pop((int(result.job.id), int(handle.id)), None)
        self._ahead.clear()  # uploads for tries that were not taken finish on their own (harmless files)
        resolved = rec.Resolved(workflow, result.files)
        return Claim(result.job, handle, resolved, started, result.room_left, uploads)

    def _still_accepting(self, server_id: int | None) -> ServerHandle | None:
        """The handle of the server a claim is taking a job for, if this fleet still sends it claims."""
        handle = self.fleet.handles.get(ServerId(server_id)) if server_id is not None else None
        return handle if handle is not None and handle.accepting else None

    def _taking(self, job: JobRow, server_id: int, files: Mapping[str, StoredFile]) -> None:
        """About to take a first attempt on `server_id`: start its uploads now, beside the take and commit."""
        key = (int(job.id), server_id)
        if self.upload_ahead is not None and files and job.attempts == 0 and key not in self._ahead:
            self._ahead[key] = self.upload_ahead(ServerId(server_id), files)

    def _plan(self, conn: Connection, job: JobRow) -> JobPlan:
        """What the job needs and how big it is; InvalidInput (the claim refuses the job) when its inputs make
        no prompt: any client can queue any document, and one that cannot be read must not stop the claim."""
        cached = self._plans.get(job.id)
        if cached is None:
            workflow = self._workflow(conn, job)
            try:
                prompt = rec.render_prompt(job, workflow)
                work = job.work_estimate if job.work_estimate is not None else work_estimate(prompt)
                needs = self.fleet.needs(prompt)
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
                raise InvalidInput(
                    f"Job {job.id}'s inputs cannot make a ComfyUI prompt ({type(exc).__name__}: {exc})",
                    "Submit it again with a valid prompt or workflow.",
                ) from exc
            cached = self._plans[job.id] = (JobPlan(needs, work), workflow)
        return cached[0]

    def _workflow(self, conn: Connection, job: JobRow) -> rec.Workflow | None:
        version = job.workflow_version_id
        if version is None or "prompt" in job.inputs:
            return None
        workflow = self._workflows.get(version)
        if workflow is None:
            workflow = rec.load_workflow(conn, job)
            if workflow is not None:
                self._workflows[version] = workflow
        return workflow


def database_unreachable(exc: BaseException) -> str | None:
    """The sentence for a claim that failed because the database could not be reached (a restart, a
    dropped connection, a refused connect), else None: that kind of failure passes, every other stays."""
    for cause in (exc, exc.__cause__):
        if isinstance(cause, OperationalError | InterfaceError) or (
            isinstance(cause, DBAPIError) and cause.connection_invalidated
        ):
            first = str(getattr(cause, "orig", None) or cause).strip().splitlines()
            return f"cannot reach the database ({first[0] if first else type(cause).__name__})"
    return None


def not_allowed(what: str, error: PermissionDenied) -> PermissionDenied:
    """The database's refusal as one sentence: who may not do what, and who may."""
    why = error.problem.removeprefix("The database refused this: ")
    return PermissionDenied(
        f"This database login may not {what} ({why})", "Sign in as a creator or an admin; reviewers only watch jobs"
    )
