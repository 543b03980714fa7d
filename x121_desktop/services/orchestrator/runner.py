"""Running one claimed job on one ComfyUI server, from upload to stored outputs.

The job is submitted with its own prompt_id. Before any resubmission the runner asks every
server an earlier attempt went to, and the target, whether that prompt_id is already queued or
in history: if so it follows or collects that run instead, so a prompt never runs twice; if not,
it sends it again only where the job's policy allows (`adoption`).
Execution errors fail the job and notify its owner (no retry). A lost server (socket gone,
restart, health probe timeout) is reported to the owner and the job goes back to the queue only
when its policy allows (event `requeued` with `redispatched: true`), else it fails.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from x121_desktop.comfy import protocol as p
from x121_desktop.comfy.errors import PromptRejected
from x121_desktop.comfy.stream import PromptFinishedOffline, PromptLost, ServerEvent, ServerRestarted
from x121_desktop.core.enums import JobEventKind, JobStatus, RetentionClass
from x121_desktop.core.errors import ComfyError
from x121_desktop.core.orchestration.states import TERMINAL
from x121_desktop.db.repositories import job_leases, job_runs
from x121_desktop.services.orchestrator import adoption
from x121_desktop.services.orchestrator import records as rec
from x121_desktop.services.storage import kind_for

if TYPE_CHECKING:
    from concurrent.futures import Future

    from sqlalchemy.engine import Connection

    from x121_desktop.comfy.rest import HistoryEntry
    from x121_desktop.db.repositories.job_records import JobRow
    from x121_desktop.services.orchestrator.dispatcher import Dispatcher
    from x121_desktop.services.orchestrator.fleet import ServerHandle

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0


class LeaseLost(Exception):
    """Another dispatcher owns the job now; stop without touching it."""


class Abandoned(Exception):
    """The dispatcher is stopping and gave the job back before its prompt was sent: do not send it."""


@dataclass(frozen=True, slots=True)
class ServerDown:
    reason: str


@dataclass(frozen=True, slots=True)
class CancelRequested:
    pass


type RunnerSignal = ServerEvent | ServerDown | CancelRequested
UPLOADED = JobEventKind.UPLOADED


class JobRunner:
    def __init__(self, dispatcher: Dispatcher, job: JobRow, handle: ServerHandle, resolved: rec.Resolved) -> None:
        self.d = dispatcher
        self.workflow = resolved.workflow
        self.files = resolved.files
        self.job = job
        self.handle = handle
        self.signals: asyncio.Queue[RunnerSignal] = asyncio.Queue()
        self.attempt = job.attempts
        self.prompt: dict[str, Any] = {}
        self.timing = rec.RunTiming()
        self.cancel = False
        self.submitted = False
        """Set (under `_gate`) just before POST /prompt: from then on the prompt may be on the server."""
        self._gate = threading.Lock()
        self._abandoned = False
        self.early: Future[None] | None = None
        """Upload + POST started by the claim's thread (first attempts), awaited by `run`."""
        self.uploads: Future[dict[str, str]] | None = None
        """The inputs' upload, started while the claim was taking the job (first attempts)."""
        self._last_progress = 0.0

    @property
    def pid(self) -> str:
        return str(self.job.prompt_id)

    def abandon(self) -> bool:
        """Stop before the prompt is sent, if it was not (then True: the job may be given back to the queue)."""
        with self._gate:
            self._abandoned = not self.submitted
            return self._abandoned

    # ------------------------------------------------------------ db helpers

    async def _write(self, fn: Any, *args: Any, durable: bool = True) -> Any:
        """Run `fn(conn, *args)` in its own transaction on the dispatcher's db pool.

        `durable=False` commits without waiting for the WAL flush (`synchronous_commit = off`): for
        steps a PostgreSQL crash may forget (UPLOADING, SUBMITTED, RUNNING, progress). The job then
        looks held at an earlier step, its lease runs out, and the next attempt adopts its prompt
        from the server (same prompt_id) instead of running it again. Endings stay durable.
        """

        def work() -> Any:
            with self.d.engine.begin() as conn:
                if not durable:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                return fn(conn, *args)

        return await self.d.runtime.run(self.d.db_pool, work)

    async def _to(self, to: JobStatus, kind: JobEventKind, data: dict[str, Any] | None = None, **kw: Any) -> None:
        def change(conn: Connection) -> bool:
            return rec.move(conn, self.job.id, self.d.holder, to, kind, data, **kw)

        if not await self._write(change, durable=to in TERMINAL):
            raise LeaseLost(self.job.id)

    async def _io(self, fn: Any, *args: Any) -> Any:
        return await self.d.runtime.run(self.d.runtime.io, fn, *args)

    # ------------------------------------------------------------ the run

    async def run(self) -> JobStatus | None:
        try:
            return await self._run()
        except LeaseLost:
            log.warning("job %s: lease taken over by another dispatcher; leaving it", self.job.id)
            return None

    async def _run(self) -> JobStatus | None:
        self.prompt = rec.render_prompt(self.job, self.workflow)
        if self.job.attempts > 1:  # an earlier attempt may have left this prompt on some server
            found = await adoption.search(self)
            if found.handle is not None:
                return await self._adopt(found.handle, found.entry)
            if not adoption.may_run_again(self.job):
                return await self._failed(adoption.why_not_again(self.job, found), {"adoption": "not found"})
        if self.cancel and self.early is None:
            return await self._cancelled("before submit")
        try:  # uploads and POST in one io thread, back to back (started by the claim); states written after
            await (asyncio.wrap_future(self.early) if self.early is not None else self._io(self.upload_and_submit))
        except PromptRejected as exc:
            return await self._failed(exc.sentence, {"rejected": True})
        except ComfyError as exc:
            return await self._lost(exc.sentence)
        server = {"server": self.handle.row.name}

        def moved(conn: Connection) -> bool:  # one transaction; a lost one is adopted by prompt_id (see _write)
            if self.files and not rec.move(conn, self.job.id, self.d.holder, JobStatus.UPLOADING, UPLOADED, server):
                return False
            return rec.move(conn, self.job.id, self.d.holder, JobStatus.SUBMITTED, JobEventKind.SUBMITTED, server)

        if not await self._write(moved, durable=False):
            raise LeaseLost(self.job.id)
        return await self._follow()

    def upload_and_submit(self) -> None:
        """Upload the inputs, then POST the prompt with its own prompt_id (blocking; on the io pool)."""
        began = time.perf_counter()
        if (claimed := self.d.claimed(self.job.id)) is not None:
            self.d.note("handoff", claimed)
        if self.uploads is not None:
            names = self.uploads.result()
        else:
            names = rec.upload_inputs(self.handle.client, self.d.store, self.files)
        if self.files:
            self.d.note("upload", began)
        self.prompt = rec.render_prompt(self.job, self.workflow, names)
        with self._gate:  # the dispatcher's shutdown either sees it submitted or stops it here
            if self._abandoned:
                raise Abandoned(self.job.id)
            self.handle.stream.watch(self.pid)
            self.d.follow(self)  # route its messages before they can arrive; they wait in `signals`
            self.submitted = True
        began = time.perf_counter()
        try:
            self.handle.client.submit(self.prompt, prompt_id=self.pid)
        except Exception:
            # A refused prompt may name an input someone deleted on the server since it was sent:
            # send everything again next time rather than trust what was staged there.
            self.d.staged.forget(self.handle.id)
            raise
        self.d.note("POST", began)
        self.d.note_submitted(self)  # accepted: the end of the dispatch overhead

    async def _adopt(self, handle: ServerHandle, entry: HistoryEntry | None) -> JobStatus | None:
        """Follow (or, ended, collect) the prompt an earlier attempt left on `handle`."""
        self.handle = handle
        await self._write(job_runs.move_to_server, self.job.id, self.d.holder, handle.id)
        self.submitted = True
        await self._to(JobStatus.SUBMITTED, JobEventKind.SUBMITTED, {"adopted": True, "server": handle.row.name})
        if entry is not None:
            return await self._finish(entry)
        handle.stream.watch(self.pid)  # a restart of that server now reports this prompt lost, as for our own
        self.d.follow(self)
        return await self._follow()

    async def _follow(self) -> JobStatus | None:
        quiet = 0
        while True:
            try:
                signal = await asyncio.wait_for(self.signals.get(), timeout=self.d.poll_s)
                quiet = 0
            except TimeoutError:
                quiet += 1
                outcome = await self._poll(quiet)
                if outcome is not None:
                    return outcome
                continue
            outcome = await self._on(signal)
            if outcome is not None:
                return outcome

    async def _poll(self, quiet: int) -> JobStatus | None:
        """No message for a while: ask /history (messages can be missed across a reconnect)."""
        try:  # queue first: a prompt leaves it only once its history is written
            if (await self._io(self.handle.client.queue)).contains(self.pid):
                return None
            entry = await self._io(self.handle.client.history, self.pid)
            if entry is not None:
                return await self._finish(entry)
            if quiet >= 2:
                return await self._lost(f"ComfyUI at {self.handle.client.url} no longer knows prompt {self.pid}")
        except ComfyError:
            return None  # the health probe decides whether the server is gone
        return None

    async def _on(self, signal: RunnerSignal) -> JobStatus | None:
        if isinstance(signal, ServerDown):
            return await self._lost(signal.reason)
        if isinstance(signal, CancelRequested):
            self.cancel = True
            await self._io(self._interrupt)
            return None
        return await self._on_event(signal.event)

    async def _on_event(self, ev: object) -> JobStatus | None:
        if isinstance(ev, p.ExecutionStart):
            self.timing.started_ms = ev.timestamp
            await self._to(JobStatus.RUNNING, JobEventKind.STARTED, {"server": self.handle.row.name})
        elif isinstance(ev, p.Executing):
            self.timing.node(ev.node)
            # ComfyUI writes /history after execution_success; `executing {node: null}` comes after that
            if ev.node is None and self.timing.finished_ms is not None:
                return await self._collect()
        elif isinstance(ev, p.Progress):
            await self._progress(ev)
        elif isinstance(ev, p.ExecutionSuccess):
            self.timing.node(None)
            self.timing.finished_ms = ev.timestamp
        elif isinstance(ev, p.ExecutionError):
            self.timing.node(None)
            message = ev.exception_message.strip()
            data = {"node_id": ev.node_id, "node_type": ev.node_type, "exception_type": ev.exception_type,
                    "exception_message": message}  # fmt: skip
            sentence = f"Node {ev.node_id} ({ev.node_type}) failed on {self.handle.row.name}: {ev.exception_type}: "
            return await self._failed(sentence + message, data)
        elif isinstance(ev, p.ExecutionInterrupted):
            if self.cancel:
                return await self._cancelled(f"interrupted at node {ev.node_id}")
            return await self._failed(f"The run was interrupted on {self.handle.row.name} at node {ev.node_id}", {})
        elif isinstance(ev, PromptLost) or (isinstance(ev, ServerRestarted) and self.pid in ev.lost_prompt_ids):
            return await self._lost(getattr(ev, "reason", f"ComfyUI at {self.handle.client.url} restarted"))
        elif isinstance(ev, PromptFinishedOffline):
            return await self._collect()
        return None

    async def _collect(self) -> JobStatus | None:
        entry = await self._io(self.handle.client.history, self.pid)
        return None if entry is None else await self._finish(entry)

    async def _progress(self, ev: p.Progress) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        data = {"node": ev.node, "value": ev.value, "max": ev.max}
        await self._write(rec.progress, self.job.id, self.d.holder, data, durable=False)

    def _interrupt(self) -> None:
        try:
            self.handle.client.delete_from_queue([self.pid])
            self.handle.client.interrupt(self.pid)
        except ComfyError as exc:
            log.warning("%s", exc.sentence)

    # ------------------------------------------------------------ endings

    async def _finish(self, entry: HistoryEntry) -> JobStatus:
        self.d.unwatch(self)
        if not entry.succeeded:
            if self.cancel and "execution_interrupted" in entry.message_types:
                return await self._cancelled("interrupted")
            return await self._failed(f"The run of prompt {self.pid} ended with status {entry.status_str}", {})
        await self._to(
            JobStatus.DOWNLOADING, JobEventKind.OUTPUT_STORED, {"files": sum(len(o.files) for o in entry.outputs)}
        )
        blobs = []
        for output in entry.outputs:
            for file in output.files:
                blobs.append((output.node_id, file.filename, await self._io(self._download, file)))
        timings = [
            (n, str(self.prompt.get(n, {}).get("class_type", "?")), s) for n, s in self.timing.node_seconds.items()
        ]
        if self.timing.started_ms is not None and self.timing.finished_ms is not None:
            gpu_s = max(0.0, (self.timing.finished_ms - self.timing.started_ms) / 1000.0)
        else:
            gpu_s = sum(s for _, _, s in timings)
        server_id = self.handle.id

        def store(conn: Connection) -> bool:
            outputs = []
            for node_id, name, blob in blobs:
                stored = self.d.store.record(conn, blob, kind=kind_for(name), retention=RetentionClass.WORKING)
                job_leases.add_output(conn, self.job.id, self.d.holder, stored.file_id, node_id)
                outputs.append({"node": node_id, "file_id": int(stored.file_id), "sha256": stored.sha256})
            job_runs.record_node_timings(conn, self.job.id, server_id, timings)
            job_runs.record_cost(conn, self.job.id, server_id, round(gpu_s, 3))
            data = {"outputs": outputs, "gpu_seconds": round(gpu_s, 3), "server": self.handle.row.name}
            return rec.move(conn, self.job.id, self.d.holder, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED, data)

        if not await self._write(store):
            raise LeaseLost(self.job.id)
        return JobStatus.SUCCEEDED

    def _download(self, file: p.OutputFile) -> Any:
        incoming = self.d.store.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=incoming)) / file.filename
        try:
            self.handle.client.download(file, tmp)
            return self.d.store.adopt(tmp)
        finally:
            tmp.unlink(missing_ok=True)
            tmp.parent.rmdir()

    async def _failed(self, sentence: str, data: dict[str, Any]) -> JobStatus:
        self.d.unwatch(self)

        def fail(conn: Connection) -> bool:
            if not rec.move(
                conn,
                self.job.id,
                self.d.holder,
                JobStatus.FAILED,
                JobEventKind.FAILED,
                {**data, "error": sentence},
                error=sentence,
            ):
                return False
            rec.tell_owner(conn, self.job.id, JobStatus.FAILED, sentence, data)
            return True

        if not await self._write(fail):
            raise LeaseLost(self.job.id)
        return JobStatus.FAILED

    async def _cancelled(self, why: str) -> JobStatus:
        self.d.unwatch(self)
        await self._to(JobStatus.CANCELLED, JobEventKind.CANCELLED, {"why": why})
        return JobStatus.CANCELLED

    async def _lost(self, reason: str) -> JobStatus:
        """Report the loss to the owner; re-queue (same prompt_id) only where the job's policy allows."""
        self.d.unwatch(self)
        again = self.job.redispatch_allowed and self.job.attempts < self.job.max_attempts
        server = self.handle.row.name

        def lose(conn: Connection) -> bool:
            data = {"reason": reason, "server": server, "will_redispatch": again}
            if not rec.move(conn, self.job.id, self.d.holder, JobStatus.LOST, JobEventKind.LOST, data, error=reason):
                return False
            rec.tell_owner(conn, self.job.id, JobStatus.LOST, reason, {"lost": True, **data})
            if again:
                return rec.move(
                    conn,
                    self.job.id,
                    self.d.holder,
                    JobStatus.QUEUED,
                    JobEventKind.REQUEUED,
                    {"redispatched": True, "from_server": server},
                )
            why = (
                f"{reason}; this job may not be re-dispatched"
                if not self.job.redispatch_allowed
                else (f"{reason}; it already used {self.job.attempts} of {self.job.max_attempts} attempts")
            )
            return rec.move(
                conn, self.job.id, self.d.holder, JobStatus.FAILED, JobEventKind.FAILED, {"error": why}, error=why
            )

        if not await self._write(lose):
            raise LeaseLost(self.job.id)
        return JobStatus.QUEUED if again else JobStatus.FAILED
