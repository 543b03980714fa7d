"""A running dispatcher watches its servers: their rows (drained, resumed, added, removed, moved) and health.

Every change of a server's row that matters to dispatch (added, removed, enabled or disabled, its
URL, name, slots or speed factor) NOTIFYs `x121_servers` from a trigger (migration
`comfy_servers_notify`), whoever made it: the Servers panel, `x121 server`, psql. The
dispatcher's listener hands the notice to `FleetWatch.changed`, and `FleetWatch.run` re-reads the
rows (coalescing a burst of notices into one read) and applies them to the fleet (`Fleet.apply`):

- drained: no new claim goes there (the claim also re-checks `is_enabled` in its own transaction,
  so no claim that starts after the drain commits can take it); the jobs it holds are followed
  to their end, then its WebSocket is closed (the handle stays, dormant, for adopting prompts);
- resumed or added: a fresh handle (WebSocket, health probe, capabilities) joins, then the claim
  loop is woken;
- removed: jobs of ours still on it follow the lost-server policy (`ServerDown`);
- a new URL: jobs on the old address finish there; new claims use the new one.

The rows are also re-read after the listener reconnected (notices may have been missed) and every
`REREAD_S` as a safety net.

Health (`FleetWatch.probe`): GET /system_stats every second on a server running one of our jobs or
down, else every IDLE_PROBE_S; one silent for `lost_after_s` is marked OFFLINE and our jobs on it
are lost (`ServerDown`). A server that takes no claims and holds none of our jobs is not probed,
and a drained one keeps its DRAINING status.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from x121_desktop.core.enums import ServerStatus
from x121_desktop.core.ids import ServerId
from x121_desktop.db.engine import translate_db_error
from x121_desktop.db.repositories import server_capabilities
from x121_desktop.services.orchestrator.fleet import (
    FleetChange,
    Registered,
    ServerHandle,
    mark_server,
    read_servers,
    store_capabilities,
)
from x121_desktop.services.orchestrator.runner import ServerDown

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from x121_desktop.services.orchestrator.dispatcher import Dispatcher

log = logging.getLogger(__name__)

REREAD_S = 30.0
"""Re-read the server rows this often even without a notice."""
LISTEN_WAIT_S = 10.0
IDLE_PROBE_S = 5.0
"""Health probe interval of a server holding none of our submitted jobs (1 s while it does)."""


class FleetWatch:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher
        self.changed = asyncio.Event()
        """Set by a NOTIFY on `x121_servers` (or a listener reconnect): re-read the servers."""
        self.claiming = False
        """A claim is running on the db pool: handles it may be taking must not be closed under it."""
        self._closing: set[asyncio.Future[None]] = set()
        self.down: set[ServerId] = set()
        """Servers the health probe found silent for `lost_after_s` (placement leaves them out)."""
        self._probed: dict[ServerId, float] = {}
        self._unmarked: dict[ServerId, tuple[ServerHandle, ServerStatus, bool]] = {}
        """Server states the database could not take when they changed (away): written by the next probe."""

    async def run(self, listening: threading.Event) -> None:
        """Re-read and apply the server rows whenever `changed` is set (or every REREAD_S), until cancelled.

        Once the listener listens, the rows are read once more: a change committed between the
        dispatcher's first read and its LISTEN sent a notice nobody heard.
        """
        began = time.monotonic()
        while not listening.is_set() and time.monotonic() - began < LISTEN_WAIT_S:
            await asyncio.sleep(0.05)
        self.changed.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=REREAD_S)
            self.changed.clear()
            try:
                await self.refresh()
            except Exception:
                log.exception("re-reading the ComfyUI servers failed; trying again at the next change")

    async def refresh(self) -> FleetChange:
        d = self.d

        def read() -> tuple[Registered, dict[int, server_capabilities.Capabilities]]:
            with d.engine.connect() as conn:
                now = read_servers(conn, d.server_names)
                new = [r.id for r in now.chosen if r.id not in d.fleet.handles or d.fleet.handles[r.id].dormant]
                return now, (server_capabilities.load(conn, new) if new else {})

        now, stored = await d.runtime.run(d.runtime.db_read, read)
        change = d.fleet.apply(now)
        d.covers_all = now.covers_all
        if not change:
            return change
        d.fleet.use_stored(stored)  # read for the servers that had no live handle
        fresh = [*change.added, *change.resumed]
        for handle in change.removed:
            reason = f"ComfyUI server {handle.row.name} was removed from the studio"
            for runner, _ in list(d.runners.values()):
                if runner.handle is handle:
                    runner.signals.put_nowait(ServerDown(reason))
        for what, handles in (("drained", change.drained), ("removed", change.removed)):
            if handles:
                log.info("ComfyUI servers %s: %s", what, ", ".join(h.row.name for h in handles))
        if fresh:
            log.info("ComfyUI servers joining: %s", ", ".join(h.row.name for h in fresh))
            await asyncio.gather(*(d.runtime.run(d.runtime.io, d.fleet.check_health, h) for h in fresh))
            for handle in fresh:
                if handle.dirty:
                    await self.store_capabilities(handle)
        self.prune()
        d.wake()
        return change

    def prune(self) -> None:
        """Close the handles that no longer take claims once no job of ours uses them (not during a claim)."""
        if self.claiming:
            return
        in_use = {id(runner.handle) for runner, _ in self.d.runners.values()}
        loop = asyncio.get_running_loop()
        for handle in self.d.fleet.idle_leftovers(in_use):
            future = loop.run_in_executor(self.d.runtime.io, handle.close)
            self._closing.add(future)
            future.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Wait for the handles being closed."""
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # ------------------------------------------------------------ health

    async def probe(self) -> None:
        """Probe the servers (see the module text) until cancelled; re-read capabilities after a restart."""
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._probe_round()
            except Exception:  # a database away (marking a server) must not end the probing for good
                log.exception("probing the ComfyUI servers failed; trying again in 1 s")

    async def _probe_round(self) -> None:
        d = self.d
        for server_id, (handle, status, seen) in list(self._unmarked.items()):  # the database was away
            del self._unmarked[server_id]
            await self._mark(handle, status, seen)
        busy = {id(r.handle) for r, _ in d.runners.values() if r.submitted}
        ours = {id(r.handle) for r, _ in d.runners.values()}
        for handle in d.fleet.everyone():
            if not handle.accepting and id(handle) not in ours:
                continue  # drained, removed or moved, and none of our jobs is there: nothing to watch
            due = id(handle) in busy or handle.id in self.down or not handle.healthy or handle.stale
            if not due and time.monotonic() - self._probed.get(handle.id, 0.0) < IDLE_PROBE_S:
                continue
            self._probed[handle.id] = time.monotonic()
            ok = await d.runtime.run(d.runtime.io, d.fleet.check_health, handle)
            if ok and handle.stale:
                await d.runtime.run(d.runtime.io, d.fleet.refresh_info, handle)
            if handle.dirty:
                await self.store_capabilities(handle)
            if ok and handle.id in self.down:
                self.down.discard(handle.id)
                await self._mark(handle, ServerStatus.ONLINE, True)
            elif not ok and handle.id not in self.down and time.monotonic() - handle.last_ok > d.lost_after_s:
                self.down.add(handle.id)
                reason = f"ComfyUI at {handle.client.url} stopped answering for {d.lost_after_s:g} s"
                for runner, _ in list(d.runners.values()):  # first: the jobs' owners must hear of it
                    if runner.handle is handle and runner.submitted:
                        runner.signals.put_nowait(ServerDown(reason))
                await self._mark(handle, ServerStatus.OFFLINE, False)

    async def store_capabilities(self, handle: ServerHandle) -> None:
        """What the server offers after a (re)connect, for every dispatcher and `x121 server list`."""
        handle.dirty = False
        try:
            await self.d.runtime.run(self.d.db_pool, self.d.tx, functools.partial(store_capabilities, handle=handle))
        except DBAPIError as exc:  # a login that may not record capabilities still dispatches
            log.warning("could not store the capabilities of %s: %s", handle.row.name, translate_db_error(exc).sentence)

    async def _mark(self, handle: ServerHandle, status: ServerStatus, seen: bool) -> None:
        if not handle.accepting:
            return  # a drained server keeps its status; a removed or moved one is not ours to mark

        def mark(conn: Connection) -> None:
            mark_server(conn, handle.id, status, seen)

        try:
            await self.d.runtime.run(self.d.db_pool, self.d.tx, mark)
        except Exception:
            self._unmarked[handle.id] = (handle, status, seen)  # written by the next round
            raise
