"""The servers one dispatcher drives: rows from the database plus live health and capabilities.

Each server gets an HTTP client that keeps its connections alive between requests
(`keepalive.KeptAliveClient`) and one WebSocket stream whose client_id is unique to this
dispatcher, so execution messages of prompts we submitted reach only us. Capabilities decide
placement (a job goes only where every node type and model it names exists): the stored
`server_capabilities` (written by `x121 server check`) when the server has any, else the server's
own /object_info, read once; after a restart /object_info is read again and stored (`dirty`).
Speeds (`core.orchestration.speeds`) are the dispatcher's: each server's measured work per GPU
second, or its registered speed factor scaled to that unit while it has no history.

The servers change while a dispatcher runs (the Servers panel, `x121 server`, psql): every change
of a server's row NOTIFYs `x121_servers` (migration `comfy_servers_notify`), and the dispatcher
re-reads the rows and `Fleet.apply`s them. A drained server (disabled) takes no new claims and keeps the handles of the
jobs it holds until they end; a removed one leaves the fleet (its jobs follow the lost-server
policy); a server whose URL changed gets a new handle while jobs on the old address finish there.
`handles` is replaced, never changed in place, so the claim thread can iterate it meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from x121_desktop.comfy.client import ComfyClient, normalize_url
from x121_desktop.comfy.needs import capabilities_of, needs_of
from x121_desktop.comfy.object_info import ObjectInfo
from x121_desktop.comfy.stream import ComfyStream, ServerEvent
from x121_desktop.core.enums import ServerStatus
from x121_desktop.core.errors import ComfyError, ConfigError
from x121_desktop.core.ids import ServerId
from x121_desktop.core.orchestration.placement import JobNeeds, ModelRef, ServerSnapshot
from x121_desktop.core.orchestration.speeds import server_speeds
from x121_desktop.db.repositories import job_runs, server_capabilities
from x121_desktop.services.orchestrator.keepalive import KeptAliveClient

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

SERVERS_CHANNEL = "x121_servers"
"""Server row changes are NOTIFYed here (migration `comfy_servers_notify`; JSON: server_id, op)."""

NO_INFO = ObjectInfo({}, "<no /object_info>")
"""Classifies prompt inputs by name and value only (see `comfy.needs.needs_of`)."""


@dataclass(frozen=True, slots=True)
class ServerRow:
    id: ServerId
    name: str
    base_url: str
    slots: int
    queued_slots: int
    speed_factor: float

    @property
    def capacity(self) -> int:
        """Jobs we keep on it at once: running slots plus what may wait in its own queue (the issue's 1 + 1)."""
        return self.slots + self.queued_slots


@dataclass
class ServerHandle:
    row: ServerRow
    client: KeptAliveClient
    stream: ComfyStream
    info: ObjectInfo | None = None
    info_marker: str | None = None
    healthy: bool = True
    last_ok: float = field(default_factory=time.monotonic)
    seconds_per_job: float | None = None
    capabilities: tuple[frozenset[str], frozenset[ModelRef]] | None = None
    """(node types, model files): stored ones, or from its /object_info (read again when it restarts)."""
    info_hash: str | None = None
    stale: bool = False
    """It restarted: read its /object_info again."""
    dirty: bool = False
    """Capabilities were read from the server and differ from what is stored: store them."""
    loaded: frozenset[ModelRef] = frozenset()
    """Models the last job we sent there named (ComfyUI keeps them loaded)."""
    accepting: bool = True
    """Enabled (and chosen by this dispatcher): takes new claims. False once drained, removed or replaced."""
    dormant: bool = False
    """Drained and idle: its WebSocket is closed (its client still answers, e.g. for adopting a prompt)."""

    @property
    def id(self) -> ServerId:
        return self.row.id

    def close(self) -> None:
        """Close its WebSocket (joining the thread) and its kept HTTP connections (blocking; io executor)."""
        self.stream.close(timeout=2.0)
        self.client.close()


@dataclass(frozen=True, slots=True)
class FleetChange:
    """What `Fleet.apply` changed: handles to start, servers drained, resumed and removed."""

    added: tuple[ServerHandle, ...] = ()
    drained: tuple[ServerHandle, ...] = ()
    resumed: tuple[ServerHandle, ...] = ()
    removed: tuple[ServerHandle, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.drained or self.resumed or self.removed)


@dataclass(frozen=True, slots=True)
class Registered:
    """The server rows as the database has them now, for one dispatcher."""

    chosen: list[ServerRow]
    """Enabled servers this dispatcher uses (all enabled ones, or those its `--servers` names)."""
    existing: frozenset[ServerId]
    """Every registered server, enabled or not."""
    enabled: int

    @property
    def covers_all(self) -> bool:
        """Every enabled server is in `chosen` (then a job none of them can run may be refused)."""
        return len(self.chosen) == self.enabled


def read_servers(conn: Connection, names: list[str] | None) -> Registered:
    """The registered servers now; a named server that is drained or gone is left out without a word."""
    rows = conn.execute(
        text("SELECT id, name, base_url, slots, queued_slots, speed_factor, is_enabled FROM comfy_servers ORDER BY id")
    ).all()
    enabled = [
        ServerRow(ServerId(r.id), r.name, r.base_url, r.slots, r.queued_slots, r.speed_factor)
        for r in rows
        if r.is_enabled
    ]
    existing = frozenset(ServerId(r.id) for r in rows)
    return Registered(_named(enabled, names) if names is not None else enabled, existing, len(enabled))


def _named(servers: list[ServerRow], names: list[str]) -> list[ServerRow]:
    wanted = {n.strip() for n in names if n.strip()}
    urls = {normalize_url(w) for w in wanted}
    return [s for s in servers if s.name in wanted or normalize_url(s.base_url) in urls]


def load_servers(conn: Connection, names: list[str] | None) -> list[ServerRow]:
    """The enabled servers (those `names` gives, each of which must be enabled), at a dispatcher's start."""
    servers = read_servers(conn, None).chosen
    if names is None:
        return servers
    wanted = {n.strip() for n in names if n.strip()}
    chosen = _named(servers, names)
    known = {s.name for s in chosen} | {normalize_url(s.base_url) for s in chosen}
    missing = sorted(w for w in wanted if w not in known and normalize_url(w) not in known)
    if missing:
        raise ConfigError(
            f"No enabled ComfyUI server is registered as {', '.join(missing)}",
            "Register it with `x121 server add`, or check the names with `x121 server list`.",
        )
    return chosen


class Fleet:
    """Live handles for the servers this dispatcher may use. Blocking methods run on the io executor."""

    def __init__(self, rows: list[ServerRow], client_prefix: str, events: queue.Queue[ServerEvent]) -> None:
        self.events = events
        self._prefix = client_prefix
        self.handles: dict[ServerId, ServerHandle] = {row.id: self._open(row) for row in rows}
        self.retired: tuple[ServerHandle, ...] = ()
        """Handles out of `handles` (server removed, or its URL changed) until the jobs of ours on them end."""
        self._by_url = {h.client.url: h for h in self.handles.values()}

    def _open(self, row: ServerRow) -> ServerHandle:
        client = KeptAliveClient(row.base_url, client_id=f"{self._prefix}-{row.id}", timeout=10.0)
        stream = ComfyStream(client, self.events, preview_metadata=False, backoff_s=0.3, max_backoff_s=2.0)
        return ServerHandle(row, client, stream)

    def start(self) -> None:
        for handle in self.handles.values():
            handle.stream.start()

    def close(self) -> None:
        for handle in (*self.handles.values(), *self.retired):
            handle.close()

    def by_url(self, url: str) -> ServerHandle | None:
        return self._by_url.get(url)

    def everyone(self) -> list[ServerHandle]:
        """Every handle with a live or closing connection: `handles`, then `retired`."""
        return [*self.handles.values(), *self.retired]

    # ------------------------------------------------------------ servers changing while we run

    def apply(self, now: Registered) -> FleetChange:
        """Bring the handles in line with the rows the database has `now`; start the added handles' streams.

        Drained: stops accepting (kept for the jobs it holds and for adopting prompts). Resumed: accepts
        again (a dormant handle is replaced by a fresh one). Removed: leaves `handles` for `retired`.
        A new URL: the old handle is retired (its jobs finish there) and a new one accepts.
        """
        wanted = {row.id: row for row in now.chosen}
        handles = dict(self.handles)
        retired = list(self.retired)
        added: list[ServerHandle] = []
        drained: list[ServerHandle] = []
        resumed: list[ServerHandle] = []
        removed: list[ServerHandle] = []
        started: list[ServerHandle] = []
        for server_id, handle in self.handles.items():
            row = wanted.get(server_id)
            if server_id not in now.existing:
                handle.accepting = False
                retired.append(handles.pop(server_id))
                removed.append(handle)
            elif row is None:
                if handle.accepting:
                    handle.accepting = False
                    drained.append(handle)
            elif normalize_url(row.base_url) != handle.client.url or handle.dormant:
                moved = normalize_url(row.base_url) != handle.client.url
                handle.accepting = False
                retired.append(handle)  # a job of ours may still be on it (even a dormant one: adopted there)
                handles[server_id] = fresh = self._open(row)
                (added if moved else resumed).append(fresh)
                started.append(fresh)
            else:
                handle.row = row  # slots, name or speed factor may have changed
                if not handle.accepting:
                    handle.accepting = True
                    resumed.append(handle)
        for server_id, row in wanted.items():
            if server_id not in self.handles:
                handles[server_id] = fresh = self._open(row)
                added.append(fresh)
                started.append(fresh)
        for handle in started:
            handle.stream.start()
        self.handles, self.retired = handles, tuple(retired)
        self._by_url = {h.client.url: h for h in reversed(self.everyone())}
        return FleetChange(tuple(added), tuple(drained), tuple(resumed), tuple(removed))

    def idle_leftovers(self, in_use: set[int]) -> list[ServerHandle]:
        """Handles no longer accepting whose jobs (`id()`s of the handles runners use) have all ended.

        A retired one leaves the fleet; a drained one stays, dormant. The caller closes them (io executor).
        """
        done = [h for h in self.retired if id(h) not in in_use]
        idle = [h for h in self.handles.values() if not h.accepting and not h.dormant and id(h) not in in_use]
        for handle in idle:
            handle.dormant = True
        if done:
            self.retired = tuple(h for h in self.retired if id(h) in in_use)
        return [*done, *idle]

    # ------------------------------------------------------------ capabilities

    def use_stored(self, stored: Mapping[int, tuple[frozenset[str], frozenset[ModelRef]]]) -> None:
        """Capabilities from `server_capabilities`, for the servers that have any."""
        for server_id, caps in stored.items():
            handle = self.handles.get(ServerId(server_id))
            if handle is not None:
                handle.capabilities = caps

    def refresh_info(self, handle: ServerHandle) -> None:
        """Read /object_info when no capabilities are known, and again after the server restarted."""
        try:
            marker = handle.client.boot_marker()
            if handle.info is not None and marker == handle.info_marker and marker is not None:
                handle.stale = False
                return
            raw = handle.client.object_info(refresh=handle.info is not None)
            handle.info = ObjectInfo.from_dict(raw, handle.client.url)
            caps = capabilities_of(handle.info)
            if caps != handle.capabilities:
                canonical = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
                handle.info_hash = hashlib.sha256(canonical).hexdigest()
                handle.capabilities, handle.dirty = caps, True
            handle.info_marker, handle.stale = marker, False
        except ComfyError as exc:
            log.warning("%s", exc.sentence)
            handle.healthy, handle.stale = False, False  # asked again when a job needs it

    def needs(self, prompt: Mapping[str, Any]) -> JobNeeds:
        """Node types and models the prompt needs (inputs classified by a live /object_info when one is read)."""
        info = next((h.info for h in self.handles.values() if h.info is not None), NO_INFO)
        return needs_of(prompt, info)

    def snapshots(self, down: set[ServerId], speeds: Mapping[ServerId, float]) -> list[ServerSnapshot]:
        """The servers placement may use now (slots are counted by the claim).

        A server whose capabilities are still unknown (never read and none stored: typically one that has
        not answered yet) is left out rather than holding up every other server; nothing is refused
        meanwhile, since the claim refuses only on capabilities read from every server.
        """
        snaps: list[ServerSnapshot] = []
        for h in self.handles.values():
            if h.capabilities is None or not h.accepting:
                continue
            up = h.healthy and h.id not in down
            snaps.append(
                ServerSnapshot(
                    server_id=int(h.id),
                    name=h.row.name,
                    status=ServerStatus.ONLINE if up else ServerStatus.OFFLINE,
                    free_slots=h.row.capacity,
                    node_types=h.capabilities[0],
                    models=h.capabilities[1],
                    loaded_models=h.loaded,
                    speed=speeds.get(h.id, h.row.speed_factor),
                )
            )
        return snaps

    # ------------------------------------------------------------ health

    def check_health(self, handle: ServerHandle, timeout: float = 2.0) -> bool:
        probe = ComfyClient(handle.client.url, client_id=handle.client.client_id, timeout=timeout)
        try:
            probe.system_stats()
        except ComfyError:
            handle.healthy = False
            return False
        handle.healthy = True
        handle.last_ok = time.monotonic()
        if handle.capabilities is None:
            self.refresh_info(handle)
        return True


def store_capabilities(conn: Connection, handle: ServerHandle) -> None:
    if handle.capabilities is not None:
        nodes, models = handle.capabilities
        server_capabilities.store(conn, handle.id, nodes, models, handle.info_hash)


def mark_server(conn: Connection, server_id: ServerId, status: ServerStatus, seen: bool) -> None:
    """What a dispatcher's probe found; a drained server keeps its DRAINING status."""
    conn.execute(
        text(
            "UPDATE comfy_servers SET server_status_id = :s, "
            "last_seen_at = CASE WHEN :seen THEN now() ELSE last_seen_at END WHERE id = :id AND is_enabled"
        ),
        {"s": int(status), "seen": seen, "id": server_id},
    )


async def pump(events: queue.Queue[ServerEvent], route: Callable[[ServerEvent], None]) -> None:
    """Hand stream events from the thread-safe queue to `route` on the event loop, until cancelled."""
    loop = asyncio.get_running_loop()
    done = threading.Event()

    def forward() -> None:
        while not done.is_set():
            try:
                item = events.get(timeout=0.2)
            except queue.Empty:
                continue
            loop.call_soon_threadsafe(route, item)

    threading.Thread(target=forward, name="x121-dispatch-pump", daemon=True).start()
    try:
        await asyncio.Event().wait()
    finally:
        done.set()


def measured_speeds(conn: Connection, rows: list[ServerRow]) -> tuple[dict[ServerId, float], bool]:
    """Each server's speed in pixel-frames per GPU second (measured, else its factor in that unit), and
    whether any was measured (if none was, the speeds are the bare factors, not per second)."""
    factors = {int(r.id): r.speed_factor for r in rows}
    measured = job_runs.measured_throughput(conn)
    speeds = server_speeds(factors, measured)
    return {ServerId(k): v for k, v in speeds.items()}, any(s in factors for s in measured)
