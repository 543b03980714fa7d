"""The dispatcher: an asyncio task that claims queued jobs and runs each on a capable ComfyUI server.

Any number of dispatchers (each workstation, any `x121 worker`) share one database. A dispatcher
claims a job only while one of its servers has a free slot (work stealing: faster servers free up
sooner and so take the next job first). The slot count is checked under
`pg_advisory_xact_lock(121, server_id)` in the claiming transaction, so two dispatchers never
overfill one server. Leases are renewed by heartbeat; a dispatcher that stops renewing (killed)
loses its jobs to `reclaim_expired`, run by every other dispatcher, and the next claimer adopts
the prompt from the server's queue or history instead of running it again.

Servers drained, resumed, added or removed while it runs are followed (`fleet_watch`): a drained
server takes no new claims and finishes what it holds.

Shutdown (stop event, SIGINT/SIGTERM in `x121 worker`): no new claims; claimed jobs not yet
submitted are released to the queue at once; submitted ones are followed to their end for
`grace_s`, after which their leases are left to expire so another dispatcher adopts them (by
prompt_id: the prompt is not run again; `leases`, which also runs the heartbeat). Then the
WebSockets, the kept HTTP connections, the LISTEN connection and the claim connection are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Queue
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from x121_desktop.comfy.stream import ServerEvent, ServerRestarted
from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import JobId, ServerId
from x121_desktop.core.orchestration.states import TERMINAL
from x121_desktop.db.notify import (
    ChannelListener,
    ChannelNotice,
    JobNotice,
    ListenerReconnected,
    conninfo_from_engine,
    parse_json_notice,
    parse_notice,
)
from x121_desktop.db.repositories import server_capabilities
from x121_desktop.db.repositories.job_pauses import QUEUE_CHANNEL
from x121_desktop.db.repositories.job_records import CHANNEL
from x121_desktop.services.orchestrator import leases
from x121_desktop.services.orchestrator.claims import Claimer, database_unreachable
from x121_desktop.services.orchestrator.fleet import (
    SERVERS_CHANNEL,
    Fleet,
    load_servers,
    measured_speeds,
    pump,
)
from x121_desktop.services.orchestrator.fleet_watch import FleetWatch
from x121_desktop.services.orchestrator.runner import CancelRequested, JobRunner
from x121_desktop.services.orchestrator.staging import StagedInputs
from x121_desktop.services.storage import MediaStore

if TYPE_CHECKING:
    from collections.abc import Mapping
    from concurrent.futures import Future

    from x121_desktop.db.repositories.job_records import StoredFile
    from x121_desktop.services.bootstrap import Studio

log = logging.getLogger(__name__)
type Notice = JobNotice | ChannelNotice | ListenerReconnected
SWITCH_INTERVAL_S = 0.0005
ONCE_IDLE_S = 1.0
"""With `once`, stop after this long with nothing claimed and nothing running."""
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 30.0
"""Waits between claims while the database cannot be reached (a restart): doubling, at most 30 s."""


@dataclass
class DispatchStats:
    claimed: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    overhead_ms: list[float] = field(default_factory=list)
    """Per job: claim transaction start → POST /prompt accepted."""
    claim_ms: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    """Where overhead_ms goes, per job: `handoff` (claim → upload/POST thread running), `upload`, `POST`."""


def make_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    def __init__(
        self,
        studio: Studio,
        *,
        servers: list[str] | None = None,
        lease_s: float = 10.0,
        poll_s: float = 1.0,
        claim_every_s: float = 1.0,
        lost_after_s: float = 4.0,
        max_jobs: int | None = None,
        once: bool = False,
        grace_s: float = 30.0,
    ) -> None:
        self.engine = studio.engine
        self.runtime = studio.runtime
        # Job bookkeeping writes touch one job each and never conflict, so they get their own small pool
        # instead of queueing behind every other write of this client on the single db_writer thread.
        self.db_pool = ThreadPoolExecutor(4, "x121-dispatch-db")
        self.store = MediaStore(studio.paths.media_root)
        self.staged = StagedInputs(self.runtime.io, self.store)
        self.holder = make_holder()
        self.server_names = servers
        self.lease_s, self.poll_s, self.claim_every_s = lease_s, poll_s, claim_every_s
        self.lost_after_s, self.max_jobs, self.once, self.grace_s = lost_after_s, max_jobs, once, grace_s
        self.events: Queue[ServerEvent] = Queue()
        self.fleet: Fleet = Fleet([], self.holder, self.events)
        self.claimer = Claimer(self.engine, self.fleet, self.holder, lease_s, self._upload_ahead)
        self.stats = DispatchStats()
        self.runners: dict[JobId, tuple[JobRunner, asyncio.Task[JobStatus | None]]] = {}
        self._by_prompt: dict[str, JobRunner] = {}
        self._claim_started: dict[JobId, float] = {}
        self._claimed_at: dict[JobId, float] = {}
        self._wake = asyncio.Event()
        self._speeds: dict[ServerId, float] = {}
        self._per_second = False
        """Whether `_speeds` are measured work per second (then a running job's elapsed time counts)."""
        self.covers_all = False
        """The fleet is every enabled server (then a job none can run is refused)."""
        self.watch = FleetWatch(self)
        self.trouble: str | None = None
        """Why claiming is paused (the database cannot be reached), while it is."""
        self._retry_s = RETRY_FIRST_S

    # ------------------------------------------------------------ callbacks from runners

    def wake(self) -> None:
        """Claim again now (a job may be claimable: one was queued, a slot freed, a server joined)."""
        self._wake.set()

    def _on_notice(self, notice: Notice) -> None:
        """NOTIFY x121_jobs: a job was queued or a slot freed → try to claim now; a cancel → act at once.
        NOTIFY x121_job_queue (a queue paused or resumed) → claim now. NOTIFY x121_servers, or a
        reconnected listener (notices missed): re-read the servers."""
        if isinstance(notice, ChannelNotice) and notice.channel == QUEUE_CHANNEL:
            self._wake.set()  # a queue paused or resumed: a resumed studio queue is claimable now
            return
        if isinstance(notice, ChannelNotice | ListenerReconnected):
            self.watch.changed.set()
            if isinstance(notice, ChannelNotice):
                return
        if isinstance(notice, JobNotice) and notice.event is JobEventKind.CANCEL_REQUESTED:
            self.request_cancel(notice.job_id)
        if not isinstance(notice, JobNotice) or notice.status in (JobStatus.QUEUED, *TERMINAL, JobStatus.LOST):
            self._wake.set()

    def request_cancel(self, job_id: JobId) -> None:
        """Its owner asked to cancel a job this dispatcher runs: its runner interrupts it (once)."""
        entry = self.runners.get(job_id)
        if entry is not None and not entry[0].cancel:
            entry[0].cancel = True
            entry[0].signals.put_nowait(CancelRequested())

    def use_speeds(self, speeds: dict[ServerId, float], per_second: bool) -> None:
        """The servers' speeds the claims weigh (re-read by the heartbeat); `per_second`: measured work/s."""
        self._speeds, self._per_second = speeds, per_second

    def tx(self, fn: Any) -> Any:
        with self.engine.begin() as conn:
            return fn(conn)

    def follow(self, runner: JobRunner) -> None:
        self._by_prompt[runner.pid] = runner

    def note(self, phase: str, since: float) -> None:
        self.stats.phases.setdefault(phase, []).append((time.perf_counter() - since) * 1000.0)

    def claimed(self, job_id: JobId) -> float | None:
        """perf_counter() when this dispatcher's claim of the job committed (once)."""
        return self._claimed_at.pop(job_id, None)

    def note_submitted(self, runner: JobRunner) -> None:
        started = self._claim_started.pop(runner.job.id, None)
        if started is not None:
            self.stats.overhead_ms.append((time.perf_counter() - started) * 1000.0)

    def unwatch(self, runner: JobRunner) -> None:
        self._by_prompt.pop(runner.pid, None)
        runner.handle.stream.unwatch(runner.pid)

    # ------------------------------------------------------------ main loop

    async def run(self, stop: asyncio.Event | None = None) -> DispatchStats:
        stop = stop or asyncio.Event()
        # Threads (claims, db writes, sockets, HTTP) hand work to this loop all the time; with the default
        # 5 ms GIL switch interval each hand-over could wait 5 ms behind a busy thread.
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
        loop = asyncio.get_running_loop()

        def hand_over(notice: Notice) -> None:  # on the listener thread
            loop.call_soon_threadsafe(self._on_notice, notice)

        parsers = {
            CHANNEL: parse_notice,
            SERVERS_CHANNEL: parse_json_notice(SERVERS_CHANNEL),
            QUEUE_CHANNEL: parse_json_notice(QUEUE_CHANNEL),
        }
        listener = ChannelListener[JobNotice | ChannelNotice](
            conninfo_from_engine(self.engine), parsers, hand_over, name="x121-dispatch-listener"
        )
        background: list[asyncio.Task[None]] = []
        try:  # whatever happens (a start that fails, a cancel), what was opened is closed below
            await self._start()
            listener.start()
            background += [
                asyncio.create_task(self._pump(), name="x121-pump"),
                asyncio.create_task(leases.keep(self), name="x121-heartbeat"),
                asyncio.create_task(self.watch.probe(), name="x121-health"),
                asyncio.create_task(self.watch.run(listener.listening), name="x121-fleet-watch"),
                asyncio.create_task(self._wake_on(stop), name="x121-stop-wakes"),
            ]
            await self._claim_loop(stop)
            await leases.hand_back(self)
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.runtime.run(self.runtime.io, listener.stop)
            await self.watch.close()
            await self.runtime.run(self.runtime.io, self.fleet.close)
            await self.runtime.run(self.db_pool, self.claimer.close)
            self.db_pool.shutdown(wait=True)
            sys.setswitchinterval(switch)
        return self.stats

    async def _start(self) -> None:
        def load() -> tuple[list[Any], dict[int, server_capabilities.Capabilities]]:
            with self.engine.connect() as conn:
                rows = load_servers(conn, self.server_names)
                enabled = conn.execute(text("SELECT count(*) FROM comfy_servers WHERE is_enabled")).scalar_one()
                self.covers_all = len(rows) == enabled
                self._speeds, self._per_second = measured_speeds(conn, rows)
                return rows, server_capabilities.load(conn, [r.id for r in rows])

        rows, stored = await self.runtime.run(self.runtime.db_read, load)
        if not rows:
            raise X121Error("No ComfyUI server is registered", "Register one with `x121 server add NAME URL`.")
        self.fleet = Fleet(rows, self.holder, self.events)
        self.claimer = Claimer(self.engine, self.fleet, self.holder, self.lease_s, self._upload_ahead)
        self.fleet.use_stored(stored)
        self.fleet.start()
        await asyncio.gather(
            *(self.runtime.run(self.runtime.io, self.fleet.check_health, h) for h in self.fleet.handles.values())
        )

    def _done_claiming(self) -> bool:
        return self.max_jobs is not None and self.stats.claimed >= self.max_jobs

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        idle_rounds, idle_since = 0, time.monotonic()
        while not stop.is_set() and not self._done_claiming():
            self._wake.clear()  # before the claim: a job queued or ended while it runs wakes the next one
            self.watch.claiming = True
            try:
                runner, room_left = await self.runtime.run(self.db_pool, self._claim_tx)
            except Exception as exc:
                if (trouble := database_unreachable(exc)) is None:
                    raise
                await self._database_trouble(trouble, stop)
                continue
            finally:
                self.watch.claiming = False
            if self.trouble is not None:
                log.warning("dispatcher %s: the database answers again; claiming", self.holder)
                self.trouble, self._retry_s = None, RETRY_FIRST_S
            if runner is not None:
                idle_rounds, idle_since = 0, time.monotonic()
                self.stats.claimed += 1
                task = asyncio.create_task(self._run_one(runner), name=f"x121-job-{runner.job.id}")
                self.runners[runner.job.id] = (runner, task)
            self.watch.prune()  # handles of drained servers whose last job ended (none while a claim runs)
            if runner is not None:
                if room_left:
                    continue  # else wait: a slot frees with a job's end, whose NOTIFY wakes this loop
            elif self.once and not self.runners:
                idle_rounds += 1  # a slow health probe must not end a --once run with jobs left
                stale = any(h.stale for h in self.fleet.handles.values())  # capabilities being re-read
                if idle_rounds >= 2 and time.monotonic() - idle_since >= ONCE_IDLE_S and not stale:
                    return
            elif self.runners:
                idle_since = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.claim_every_s)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        """A stop ends the claim loop's wait at once (it waits up to claim_every_s for a notice)."""
        await stop.wait()
        self._wake.set()

    async def _database_trouble(self, trouble: str, stop: asyncio.Event) -> None:
        """A claim could not reach the database: say so (health, log), wait, and try again; waits double
        up to RETRY_MAX_S. Jobs are not retried by this: only the dispatcher's own claiming goes on."""
        if self.trouble is None:
            log.warning("dispatcher %s: %s; claiming again in %g s", self.holder, trouble, self._retry_s)
        self.trouble = f"{trouble}; claiming again every {self._retry_s:g} s at most"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=self._retry_s)
        self._retry_s = min(RETRY_MAX_S, self._retry_s * 2)

    async def _run_one(self, runner: JobRunner) -> JobStatus | None:
        outcome: JobStatus | None = None
        try:
            outcome = await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "job %s: runner crashed; its lease will expire and another dispatcher adopts it", runner.job.id
            )
        finally:
            self.runners.pop(runner.job.id, None)
            self.claimer.work.pop(runner.job.id, None)
            self.unwatch(runner)
            self._claim_started.pop(runner.job.id, None)
            self._claimed_at.pop(runner.job.id, None)
            self.watch.prune()
            if outcome is None or (outcome not in TERMINAL and outcome is not JobStatus.QUEUED):
                self._wake.set()  # no NOTIFY of its end is coming (lease lost, crashed): look again now
        key = outcome.name.lower() if outcome is not None else "left"
        self.stats.finished[key] = self.stats.finished.get(key, 0) + 1
        return outcome

    # ------------------------------------------------------------ claiming

    def _claim_tx(self) -> tuple[JobRunner | None, bool]:
        """Claim on this db thread and start uploading + POSTing on the io pool at once (no event-loop hop).

        (the runner of the claimed job or None, whether a server still had a free slot after the claim).
        """
        claim = self.claimer.claim(self.watch.down, self._speeds, self.covers_all, self._per_second)
        self.stats.refused = self.claimer.refused
        if claim is None:
            return None, False
        self._claim_started[claim.job.id] = claim.started
        self._claimed_at[claim.job.id] = time.perf_counter()
        self.stats.claim_ms.append((self._claimed_at[claim.job.id] - claim.started) * 1000.0)
        runner = JobRunner(self, claim.job, claim.handle, claim.resolved)
        runner.uploads = claim.uploads
        if claim.job.attempts == 1:  # a first attempt: nothing of it can be on a server yet
            runner.early = self.runtime.io.submit(runner.upload_and_submit)
        return runner, claim.room_left

    def _upload_ahead(self, server_id: ServerId, files: Mapping[str, StoredFile]) -> Future[dict[str, str]]:
        """Upload a job's inputs on the io pool while its claim is still taking it (see `Claimer`); what was
        sent to that server already is not uploaded again (`staging`)."""
        # the claim placed the job on a handle of its snapshot: in `handles`, or `retired` if the server was
        # removed meanwhile (kept there until no claim runs; the take then fails on the deleted row)
        handle = next(h for h in self.fleet.everyone() if h.id == server_id)
        return self.staged.upload(server_id, handle.client, files)

    # ------------------------------------------------------------ background tasks

    async def _pump(self) -> None:
        await pump(self.events, self._route)

    def _route(self, item: ServerEvent) -> None:
        ev = item.event
        raw = getattr(ev, "prompt_id", None)
        prompt_id = raw if isinstance(raw, str) and raw else None
        if prompt_id is not None:
            runner = self._by_prompt.get(prompt_id)
            if runner is not None:
                runner.signals.put_nowait(item)
            return
        handle = self.fleet.by_url(item.url)
        if handle is None:
            return
        if isinstance(ev, ServerRestarted):
            self.staged.forget(handle.id)
            handle.stale = True  # capabilities are read again (and stored) by the next health probe
            for runner in list(self._by_prompt.values()):
                if runner.handle is handle:
                    runner.signals.put_nowait(item)
