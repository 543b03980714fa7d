"""A running dispatcher follows the server rows: drained, resumed, added, removed or moved servers.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING

from x121_desktop.db.repositories import server_capabilities
from x121_desktop.services.orchestrator.fleet import FleetChange, Registered, read_servers
from x121_desktop.services.orchestrator.runner import ServerDown

if TYPE_CHECKING:
    from x121_desktop.services.orchestrator.dispatcher import Dispatcher

log = logging.getLogger(__name__)

REREAD_S = 30.0
"""Re-read the server rows this often even without a notice."""
LISTEN_WAIT_S = 10.0


class FleetWatch:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher
        self.changed = asyncio.Event()
        """Set by a NOTIFY on `x121_servers` (or a listener reconnect): re-read the servers."""
        self.claiming = False
        """A claim is running on the db pool: handles it may be taking must not be closed under it."""
        self._closing: set[asyncio.Future[None]] = set()

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
                    await d.store_capabilities(handle)
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
