"""Editor test runs recorded as jobs of kind `editor_test_run`, like any job the queue runs.

A test run goes straight to the server the artist chose (no waiting in the queue), but it leaves
the same records a queued job leaves: the job row (inline prompt, client-chosen prompt_id), its
attempt on that server, the event log (claimed, submitted, started, node started/finished,
progress, outputs, the ending), the output files in the media store, per-node timings in
`node_timings` (so the editor's historical average per node includes editor runs) and the GPU cost.

The job is inserted and claimed for the chosen server in one transaction, so no dispatcher ever
sees it queued. The claim is the guarded one every dispatcher's claim uses (docs/QUEUE.md "Take":
the server's advisory lock, then its slot count), so a test run never overfills a server that
dispatchers are feeding: while the server's slots (running + queued) are all taken the run waits
up to `room_wait_s` for one to free, then is refused with a sentence; a drained server is refused
at once. A refused run leaves no job behind. `redispatch_allowed` is false and `max_attempts` 1,
so if this client dies mid-run the lease runs out and the job ends FAILED instead of running again
elsewhere. While the run lasts the lease is renewed; a cancel requested from elsewhere
(`x121 job cancel`, the jobs panel) comes back through the renewal and interrupts the run. Every
write is one short transaction on the runtime's `db_writer`; the methods block and are called from
the run's worker thread.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.enums import JobEventKind, JobKind, JobStatus, RetentionClass
from x121_desktop.core.errors import ComfyError, NotFound, X121Error
from x121_desktop.db.engine import translate_db_error
from x121_desktop.db.repositories import job_dispatch, job_leases, job_runs
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.db.repositories.job_records import LeaseLost
from x121_desktop.services.node_editor_runs import (
    NodeFinished,
    NodeProgressed,
    NodesCached,
    NodeStarted,
    RunEnded,
    RunEvent,
    RunFailed,
    RunStarted,
    Sink,
)
from x121_desktop.services.storage import kind_for

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from x121_desktop.comfy.client import ComfyClient
    from x121_desktop.comfy.protocol import OutputFile
    from x121_desktop.comfy.rest import HistoryEntry
    from x121_desktop.core.cancel import CancelToken
    from x121_desktop.services.runtime import Runtime
    from x121_desktop.services.storage import Blob, MediaStore

PROGRESS_EVERY_S = 1.0
HISTORY_WAIT_S = 5.0
ROOM_POLL_S = 0.25
"""How often a test run waiting for a free slot asks again."""


class ServerFull(ComfyError):
    """The chosen server has no free slot (or takes no new jobs) for an editor test run."""


class _NoRoom(Exception):
    """Every slot of the server is taken: roll the insert back and ask again."""


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """What a recorded test run is known by: its job, prompt id and the server it ran on."""

    job_id: int
    prompt_id: str
    server_id: int
    server: str


class EditorRunJobs:
    """Opens editor test runs as jobs (one per run) for the signed-in user; see the module text."""

    def __init__(
        self,
        engine: Engine,
        runtime: Runtime,
        store: MediaStore,
        lease: timedelta = timedelta(seconds=60),
        room_wait_s: float = 5.0,
    ) -> None:
        self._engine, self._runtime, self._store, self.lease = engine, runtime, store, lease
        self.room_wait_s = room_wait_s
        """How long a run waits for a free slot on a busy server before it is refused."""
        self.holder = f"editor:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    def write[T](self, work: Callable[[Connection], T]) -> T:
        """One transaction on the db_writer executor (serial with this client's other writes); blocks."""
        return self._runtime.db_writer.submit(self._tx, work).result()

    def _tx[T](self, work: Callable[[Connection], T]) -> T:
        try:
            with self._engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            raise translate_db_error(exc) from exc

    def server_id(self, server: str) -> int:
        """The id of the registered server `server` (asked before anything is sent to it)."""

        def read() -> int | None:
            with self._engine.connect() as conn:
                found = conn.execute(text("SELECT id FROM comfy_servers WHERE name = :n"), {"n": server}).scalar()
                return None if found is None else int(found)

        found = self._runtime.db_read.submit(read).result()
        if found is None:
            raise NotFound(f"There is no ComfyUI server named {server!r}", "Add it with `x121 server add`.")
        return found

    def open(
        self,
        server: str,
        server_id: int,
        prompt: Mapping[str, Any],
        prompt_id: str,
        client: ComfyClient,
        *,
        waiting: Callable[[int], object] | None = None,
        cancel: CancelToken | None = None,
    ) -> EditorRunJob:
        """Insert the job and claim it for the server (CLAIMED, attempt 1 there), in one transaction.

        Only into a free slot, under the server's advisory lock (`job_dispatch.assign_if_room`); while the
        server is full this asks again every ROOM_POLL_S for up to `room_wait_s`, then raises `ServerFull`.
        `waiting(slots)` is called once, when the first try finds every one of the server's `slots` taken
        (the person is told it waits); `cancel` stops the wait (`Cancelled`), leaving no job behind.
        """

        def work(conn: Connection) -> RecordedRun:
            found = conn.execute(
                text("SELECT slots + queued_slots, is_enabled FROM comfy_servers WHERE id = :s"), {"s": server_id}
            ).one_or_none()
            if found is None:
                raise NotFound(f"There is no ComfyUI server named {server!r}", "Add it with `x121 server add`.")
            capacity, enabled = int(found[0]), bool(found[1])
            if not enabled:
                raise ServerFull(
                    f"ComfyUI server {server!r} is drained and takes no new jobs",
                    "Resume it in the Servers panel, or run the test on another server.",
                )
            new = repo.NewJob(
                kind=JobKind.EDITOR_TEST_RUN,
                inputs={"prompt": dict(prompt)},
                prompt_id=uuid.UUID(prompt_id),
                redispatch_allowed=False,
                max_attempts=1,
            )
            job = repo.enqueue(conn, new)
            room, claimed = job_dispatch.assign_if_room(
                conn, job.id, self.holder, self.lease, server_id, capacity, {"server": server}
            )
            if not room:
                raise _NoRoom(capacity)  # rolls the insert back
            assert claimed is not None, "a job inserted in this transaction is visible to no other claimer"
            return RecordedRun(int(job.id), prompt_id, server_id, server)

        deadline = time.monotonic() + self.room_wait_s
        told = False
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled(f"The test run on {server} (waiting for a free slot)")
            try:
                return EditorRunJob(self, self.write(work), client)
            except _NoRoom as full:
                if waiting is not None and not told:
                    told = True
                    waiting(int(full.args[0]))
                if time.monotonic() >= deadline:
                    slots = "its only job slot is" if full.args[0] == 1 else f"all {full.args[0]} of its job slots are"
                    raise ServerFull(
                        f"ComfyUI server {server!r} is busy: {slots} taken",
                        "Run the test again when one of its jobs has finished, or choose another server.",
                    ) from None
            time.sleep(ROOM_POLL_S)

    @property
    def store(self) -> MediaStore:
        return self._store


@dataclass
class EditorRunJob:
    """One recorded run: turns the run's events into the job's state changes, events and records."""

    jobs: EditorRunJobs
    run: RecordedRun
    client: ComfyClient
    cancel_requested: bool = False
    ended: bool = False
    started_ms: int | None = None
    timings: list[NodeFinished] = field(default_factory=list)
    _renewed: float = field(default_factory=time.monotonic)
    _progress_at: float = 0.0

    @property
    def job_id(self) -> int:
        return self.run.job_id

    # ------------------------------------------------------------ writes

    def _move(self, to: JobStatus, kind: JobEventKind, data: Mapping[str, Any], error: str | None = None) -> None:
        self.jobs.write(lambda c: job_leases.transition(c, self.job_id, self.jobs.holder, to, kind, data, error))

    def _event(self, kind: JobEventKind, data: Mapping[str, Any]) -> None:
        self.jobs.write(lambda c: job_leases.append_event(c, self.job_id, self.jobs.holder, kind, data))

    def submitted(self) -> None:
        self._move(JobStatus.SUBMITTED, JobEventKind.SUBMITTED, {"server": self.run.server, "editor": True})

    def heartbeat(self) -> bool:
        """Renew the lease when a third of it has passed; True once a cancel was requested for the job."""
        if self.ended or time.monotonic() - self._renewed < self.jobs.lease.total_seconds() / 3:
            return self.cancel_requested
        self._renewed = time.monotonic()
        held, cancel = self.jobs.write(lambda c: job_runs.renew(c, self.jobs.holder, [self.job_id], self.jobs.lease))
        if self.job_id not in held:
            raise LeaseLost(self.job_id, self.jobs.holder, None, JobStatus.LOST)
        self.cancel_requested = self.cancel_requested or self.job_id in cancel
        return self.cancel_requested

    def observe(self, sink: Sink) -> Sink:
        """A sink that records each run event on the job, then passes it on to `sink`."""

        def both(event: RunEvent) -> None:
            self.record(event)
            sink(event)

        return both

    def record(self, event: RunEvent) -> None:
        if self.ended:
            return
        if isinstance(event, RunStarted):
            self.started_ms = event.timestamp_ms
            self._move(JobStatus.RUNNING, JobEventKind.STARTED, {"server": self.run.server})
        elif isinstance(event, NodeStarted):
            self._event(JobEventKind.NODE_STARTED, {"node": event.node_id})
        elif isinstance(event, NodeFinished):
            self.timings.append(event)
            data = {"node": event.node_id, "class_type": event.class_type, "seconds": round(event.seconds, 4)}
            self._event(JobEventKind.NODE_FINISHED, data)
        elif isinstance(event, NodesCached) and event.node_ids:
            self._event(JobEventKind.LOG, {"cached": list(event.node_ids)})
        elif isinstance(event, NodeProgressed) and time.monotonic() - self._progress_at >= PROGRESS_EVERY_S:
            self._progress_at = time.monotonic()
            self._event(JobEventKind.PROGRESS, {"node": event.node_id, "value": event.value, "max": event.maximum})
        elif isinstance(event, RunFailed):
            self.fail(event.sentence, {"node_id": event.node_id} if event.node_id else {})
        elif isinstance(event, RunEnded) and event.ok:
            try:
                self.succeed(event)
            except X121Error as exc:  # the run worked; storing what it made did not
                self.fail(f"The run finished but its results could not be recorded: {exc.sentence}")

    # ------------------------------------------------------------ endings

    def fail(self, sentence: str, data: Mapping[str, Any] | None = None) -> None:
        """FAILED with the sentence, or CANCELLED when a cancel was asked for (by the artist or elsewhere)."""
        if self.ended:
            return
        self.ended = True
        try:
            if self.cancel_requested:
                self._move(JobStatus.CANCELLED, JobEventKind.CANCELLED, {"why": sentence, **(data or {})})
            else:
                self._move(JobStatus.FAILED, JobEventKind.FAILED, {"error": sentence, **(data or {})}, sentence)
        except LeaseLost:
            pass  # the job is no longer ours (its lease ran out and it was reclaimed): nothing left to record

    def succeed(self, ended: RunEnded) -> None:
        """Outputs from /history into the media store, node timings, GPU cost, then SUCCEEDED."""
        entry = self._history()
        files = [] if entry is None else [(o.node_id, f) for o in entry.outputs for f in o.files]
        self._move(JobStatus.DOWNLOADING, JobEventKind.OUTPUT_STORED, {"files": len(files)})
        blobs = []
        for node_id, f in files:
            self.heartbeat()  # big outputs take a while: keep the lease
            blobs.append((node_id, f.filename, self._download(f)))
        timings = [(t.node_id, t.class_type, t.seconds) for t in self.timings]
        if self.started_ms is not None and ended.finished_ms is not None:
            gpu_s = max(0.0, (ended.finished_ms - self.started_ms) / 1000.0)
        else:
            gpu_s = sum(s for _, _, s in timings)
        store, holder, run = self.jobs.store, self.jobs.holder, self.run

        def work(conn: Connection) -> None:
            outputs = []
            for node_id, name, blob in blobs:
                stored = store.record(conn, blob, kind=kind_for(name), retention=RetentionClass.SCRATCH)
                job_leases.add_output(conn, run.job_id, holder, stored.file_id, node_id)
                outputs.append({"node": node_id, "file_id": int(stored.file_id), "sha256": stored.sha256})
            job_runs.record_node_timings(conn, run.job_id, run.server_id, timings)
            job_runs.record_cost(conn, run.job_id, run.server_id, round(gpu_s, 3))
            data = {"outputs": outputs, "gpu_seconds": round(gpu_s, 3), "server": run.server}
            job_leases.transition(conn, run.job_id, holder, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED, data)

        self.jobs.write(work)
        self.ended = True

    def _history(self) -> HistoryEntry | None:
        """ComfyUI writes the history entry just after `execution_success`: wait for it a little."""
        deadline = time.monotonic() + HISTORY_WAIT_S
        while True:
            entry = self.client.history(self.run.prompt_id)
            if entry is not None or time.monotonic() > deadline:
                return entry
            time.sleep(0.05)

    def _download(self, file: OutputFile) -> Blob:
        incoming = self.jobs.store.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=incoming) as folder:
            return self.jobs.store.adopt(self.client.download(file, Path(folder) / file.filename))
