"""Live health of what the studio depends on, for the status bar: one call → one frozen HealthSnapshot.

`snapshot()` pings the database (and, in the same read, lists the registered ComfyUI servers, the
dispatchers holding job leases and the queue length), then asks every enabled server for
`/system_stats` and `/queue` with a short timeout, all in the executors. A database that does not
answer is reported, not raised, and the servers it listed last time are still probed, so the bar
keeps working while the database is away. Nothing is written: the dispatcher records server health.

`reconnect()` drops every pooled connection (they died with the server) and pings again; the pool's
pre-ping would also find out on its own, this only makes it immediate.

`restart_server()` restarts a ComfyUI server through ComfyUI-Manager's own endpoint: `GET
/v2/manager/reboot` (Manager v4, the pip package) or `GET /manager/reboot` (the legacy custom node),
whichever `…/manager/version` answers on. The Manager refuses it (403) below its `middle` security
level; ComfyUI without the Manager has neither route.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.errors import ComfyUnreachable
from x121_desktop.core.enums import JobStatus, ServerStatus
from x121_desktop.core.errors import ComfyError, X121Error
from x121_desktop.core.ids import ServerId
from x121_desktop.db.engine import explain_connect_error
from x121_desktop.services.runtime import Runtime

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PROBE_TIMEOUT_S = 2.0
RESTART_TIMEOUT_S = 5.0
MANAGER_ROUTES = (
    ("/api/v2/manager/version", "/api/v2/manager/reboot"),
    ("/api/manager/version", "/api/manager/reboot"),
)
_ACTIVE_JOBS = tuple(int(s) for s in (JobStatus.CLAIMED, JobStatus.UPLOADING, JobStatus.SUBMITTED, JobStatus.RUNNING))


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    up: bool
    description: str
    latency_ms: float | None
    problem: str | None = None
    """One sentence when the database cannot be reached."""


@dataclass(frozen=True, slots=True)
class ServerHealth:
    id: ServerId
    name: str
    url: str
    enabled: bool
    status: ServerStatus
    """Live: online/busy from the server itself, offline/errored when it did not answer properly."""
    gpu: str = ""
    vram_total: int = 0
    """Bytes, summed over the server's devices."""
    vram_free: int = 0
    running: int = 0
    pending: int = 0
    problem: str | None = None

    @property
    def vram_used_fraction(self) -> float | None:
        return None if self.vram_total <= 0 else 1.0 - self.vram_free / self.vram_total


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    """A dispatcher (a studio window or an `x121 worker`) that holds live job leases."""

    holder: str
    local: bool
    """Runs on this machine."""
    jobs: int


@dataclass(frozen=True, slots=True)
class DispatcherHealth:
    """This window's own dispatcher, reported by whoever runs it."""

    running: bool = False
    detail: str = "not started in this window"


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    at: datetime
    database: DatabaseHealth
    servers: tuple[ServerHealth, ...] = ()
    workers: tuple[WorkerHealth, ...] = ()
    queued_jobs: int | None = None
    dispatcher: DispatcherHealth = field(default_factory=DispatcherHealth)

    def server(self, name: str) -> ServerHealth | None:
        return next((s for s in self.servers if s.name == name), None)


@dataclass(frozen=True, slots=True)
class _ServerRow:
    id: ServerId
    name: str
    url: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class _DatabaseRead:
    servers: tuple[_ServerRow, ...]
    workers: tuple[tuple[str, int], ...]
    queued: int


ClientFactory = Callable[[str, float], ComfyClient]


def _client(url: str, timeout: float) -> ComfyClient:
    return ComfyClient(url, timeout=timeout)


class HealthService:
    def __init__(
        self,
        engine: Engine,
        runtime: Runtime,
        description: str,
        *,
        dispatcher: Callable[[], DispatcherHealth] | None = None,
        client: ClientFactory = _client,
    ) -> None:
        self._engine = engine
        self._runtime = runtime
        self._description = description
        self._dispatcher = dispatcher or DispatcherHealth
        self._client = client
        self._known_servers: tuple[_ServerRow, ...] = ()
        self._host = socket.gethostname()

    async def snapshot(self) -> HealthSnapshot:
        database, read = await self._runtime.run(self._runtime.db_read, self._ping)
        if read is not None:
            self._known_servers = read.servers
        rows = [s for s in self._known_servers if s.enabled]
        probed = await asyncio.gather(*(self._runtime.run(self._runtime.io, self._probe, s) for s in rows))
        by_id = {p.id: p for p in probed}
        servers = tuple(
            by_id.get(s.id) or ServerHealth(s.id, s.name, s.url, False, ServerStatus.OFFLINE, problem="disabled")
            for s in self._known_servers
        )
        workers: tuple[WorkerHealth, ...] = ()
        if read is not None:
            workers = tuple(WorkerHealth(h, h.startswith(f"{self._host}:"), n) for h, n in read.workers)
        return HealthSnapshot(
            at=datetime.now(UTC),
            database=database,
            servers=servers,
            workers=workers,
            queued_jobs=None if read is None else read.queued,
            dispatcher=self._dispatcher(),
        )

    async def reconnect(self) -> DatabaseHealth:
        def work() -> DatabaseHealth:
            self._engine.dispose()
            return self._ping()[0]

        return await self._runtime.run(self._runtime.db_read, work)

    async def restart_server(self, name: str, url: str) -> str:
        """Ask the server's ComfyUI-Manager to restart ComfyUI; returns a sentence saying it was asked."""
        return await self._runtime.run(self._runtime.io, self._reboot, name, url)

    # ------------------------------------------------------------ blocking parts

    def _ping(self) -> tuple[DatabaseHealth, _DatabaseRead | None]:
        try:
            return self._read_once()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                return self._down(exc)
        # A pooled connection the server dropped (a restart, a stop) says only that it was dropped: the
        # pool has discarded it, and a fresh connection tells the real state (up again, or unreachable).
        try:
            return self._read_once()
        except DBAPIError as exc:
            return self._down(exc)

    def _down(self, exc: DBAPIError) -> tuple[DatabaseHealth, None]:
        problem = explain_connect_error(exc, self._engine.url).sentence
        return DatabaseHealth(False, self._description, None, problem), None

    def _read_once(self) -> tuple[DatabaseHealth, _DatabaseRead | None]:
        started = time.perf_counter()
        with self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            latency = (time.perf_counter() - started) * 1000.0
            servers = conn.execute(
                text("SELECT id, name, base_url, is_enabled FROM comfy_servers ORDER BY lower(name), id")
            ).all()
            workers = conn.execute(
                text(
                    "SELECT lease_holder, count(*) FROM jobs WHERE lease_holder IS NOT NULL "
                    "AND lease_expires_at > now() AND job_status_id = ANY(:active) GROUP BY 1 ORDER BY 1"
                ),
                {"active": list(_ACTIVE_JOBS)},
            ).all()
            queued = conn.execute(
                text("SELECT count(*) FROM jobs WHERE job_status_id = :q"), {"q": int(JobStatus.QUEUED)}
            ).scalar_one()
            conn.rollback()
        read = _DatabaseRead(
            servers=tuple(_ServerRow(ServerId(r.id), r.name, r.base_url, bool(r.is_enabled)) for r in servers),
            workers=tuple((str(h), int(n)) for h, n in workers),
            queued=int(queued),
        )
        return DatabaseHealth(True, self._description, latency), read

    def _probe(self, row: _ServerRow) -> ServerHealth:
        client = self._client(row.url, PROBE_TIMEOUT_S)
        try:
            stats = client.system_stats()
            queue = client.queue()
        except ComfyUnreachable as exc:
            return ServerHealth(row.id, row.name, row.url, True, ServerStatus.OFFLINE, problem=exc.sentence)
        except X121Error as exc:
            return ServerHealth(row.id, row.name, row.url, True, ServerStatus.ERRORED, problem=exc.sentence)
        busy = bool(queue.running or queue.pending)
        return ServerHealth(
            row.id,
            row.name,
            row.url,
            True,
            ServerStatus.BUSY if busy else ServerStatus.ONLINE,
            gpu=", ".join(d.name for d in stats.devices),
            vram_total=sum(d.vram_total for d in stats.devices),
            vram_free=sum(d.vram_free for d in stats.devices),
            running=len(queue.running),
            pending=len(queue.pending),
        )

    def _reboot(self, name: str, url: str) -> str:
        client = self._client(url, RESTART_TIMEOUT_S)
        reboot = _manager_reboot_route(client, name)
        try:
            reply = client.request("GET", reboot)
        except ComfyUnreachable:
            # The Manager exits the process while answering; a dropped connection is the restart.
            return f"ComfyUI server {name!r} is restarting (asked its ComfyUI-Manager)."
        except ComfyError as exc:
            if "403" in exc.problem:
                raise ComfyError(
                    f"ComfyUI-Manager on server {name!r} refused to restart ComfyUI (403)",
                    "Its security_level is set above 'middle'; lower it in the Manager's config.ini, "
                    "or restart ComfyUI on that machine",
                ) from None
            raise
        if reply.status != 200:
            raise ComfyError(
                f"ComfyUI-Manager on server {name!r} answered the restart request with HTTP {reply.status}",
                "Restart ComfyUI on that machine, and look at its console log",
            )
        return f"ComfyUI server {name!r} is restarting (asked its ComfyUI-Manager)."


def _manager_reboot_route(client: ComfyClient, name: str) -> str:
    for version, reboot in MANAGER_ROUTES:
        try:
            reply = client.request("GET", version)
        except ComfyUnreachable as exc:
            raise ComfyError(
                f"ComfyUI server {name!r} cannot be reached to restart it ({exc.problem.rstrip('.')})",
                "Start ComfyUI on that machine",
            ) from None
        if reply.status == 200:
            return reboot
    raise ComfyError(
        f"ComfyUI server {name!r} does not run ComfyUI-Manager, so it cannot be restarted from here",
        "Restart ComfyUI on that machine, or install ComfyUI-Manager there",
    )


def describe_vram(server: ServerHealth) -> str:
    """`12.3/24.0 GB` (used/total), or '' when the server reported no GPU memory."""
    if server.vram_total <= 0:
        return ""
    gb = 1024**3
    return f"{(server.vram_total - server.vram_free) / gb:.1f}/{server.vram_total / gb:.1f} GB"


def summary(snapshot: HealthSnapshot) -> Mapping[str, Any]:
    """Counts for logs and tests: servers by status code, worker count, queue length."""
    by_status: dict[str, int] = {}
    for s in snapshot.servers:
        by_status[s.status.code] = by_status.get(s.status.code, 0) + 1
    return {
        "database": "up" if snapshot.database.up else "down",
        "servers": by_status,
        "workers": len(snapshot.workers),
        "queued": snapshot.queued_jobs,
    }
