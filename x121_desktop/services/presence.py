"""Presence: this client's heartbeat (user, machine, where it looks) and who else is here.

Changes reach other clients by NOTIFY on `x121_presence` (arrived, moved, left), not by polling.
A heartbeat that only refreshes the time is silent; a killed client's row stops being fresh after
`timeout_s` and every heartbeat purges rows older than that, which NOTIFYs 'left'. Readers also get
`next_expiry_s` in each snapshot and look again then, so a stale entry vanishes on time even when
nobody else beats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.collab import presence as rules
from x121_desktop.core.collab.values import Location, PresenceSnapshot
from x121_desktop.core.errors import X121Error
from x121_desktop.db.repositories import presence as repo
from x121_desktop.services.locks import machine_name
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.transactions import explain_refusal

log = logging.getLogger(__name__)
T = TypeVar("T")


class PresenceService:
    def __init__(
        self,
        engine: Engine,
        runtime: Runtime,
        machine: str | None = None,
        *,
        timeout_s: int = rules.DEFAULT_TIMEOUT_S,
    ) -> None:
        self._engine = engine
        self._runtime = runtime
        self.machine = machine or machine_name()
        self.timeout_s = rules.check_timeout(timeout_s)

    @property
    def heartbeat_interval_s(self) -> float:
        return rules.heartbeat_interval_s(self.timeout_s)

    def _tx(self, doing: str, work: Callable[[Connection], T]) -> T:
        try:
            with self._engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            raise explain_refusal(exc, doing) from exc

    def beat_sync(self, where: Location) -> None:
        def work(conn: Connection) -> None:
            repo.heartbeat(conn, self.machine, where)
            repo.purge_stale(conn, self.timeout_s)

        self._tx("record your presence", work)

    async def beat(self, where: Location | None = None) -> None:
        await self._runtime.run(self._runtime.db_writer, self.beat_sync, where or Location())

    async def leave(self) -> None:
        await self._runtime.run(self._runtime.db_writer, self._tx, "leave", lambda c: repo.leave(c, self.machine))

    def snapshot_sync(self, project_id: int | None = None) -> PresenceSnapshot:
        entries = tuple(self._tx("read presence", lambda c: repo.present(c, self.timeout_s, project_id)))
        now = datetime.now(UTC)
        beats = [rules.Beat((e.user_id, e.machine), now - timedelta(seconds=e.age_s)) for e in entries]
        expiry = rules.next_expiry(beats, now, self.timeout_s)
        return PresenceSnapshot(entries, self.timeout_s, None if expiry is None else expiry.total_seconds())

    async def snapshot(self, project_id: int | None = None) -> PresenceSnapshot:
        return await self._runtime.run(self._runtime.db_read, self.snapshot_sync, project_id)


class PresenceBeacon:
    """Beats on the event loop every `heartbeat_interval_s`, and at once when `move()` changes the place."""

    def __init__(self, service: PresenceService, where: Location | None = None) -> None:
        self._service = service
        self.where = where or Location()
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="x121-presence")

    def move(self, where: Location) -> None:
        if where != self.where:
            self.where = where
            self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._service.beat(self.where)
            except X121Error as exc:
                log.warning("presence heartbeat failed: %s", exc.sentence)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._service.heartbeat_interval_s)

    async def stop(self, *, leave: bool = True) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if leave:
            with contextlib.suppress(X121Error):
                await self._service.leave()
