"""Segment and workflow locks: take, renew while held, release, break; write under a lease.

How it is enforced (revision 0006): locks change only through SECURITY DEFINER functions using the
database clock; the guard trigger on segments, takes and seams refuses (SQLSTATE 55P03) any change
to a segment whose live lock another user holds. A write made with `write_under(grant, …)` also
declares its lease, so it is refused once the lease has lapsed or been taken (fencing), even for
the same user's other sessions. Segments nobody has locked stay writable: locking is how a client
claims a segment before regenerating, healing or editing it; the database then keeps everyone
else out. Only the lock holder passes the guard; admins may break a lock, which is recorded in the
feed with a reason and notified to the former holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.collab import leases
from x121_desktop.core.collab.values import LockGrant, LockInfo, LockKind
from x121_desktop.core.errors import PermissionDenied, X121Error
from x121_desktop.db.repositories import locks as repo
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.transactions import explain_refusal

log = logging.getLogger(__name__)
T = TypeVar("T")
LOCK_NOT_AVAILABLE = "55P03"


class LockHeld(PermissionDenied):
    """Someone else holds the lock."""

    def __init__(self, info: LockInfo | None, problem: str | None = None) -> None:
        self.info = info
        if problem is None and info is not None:
            problem = (
                f"{info.kind.value.capitalize()} #{info.target_id} is locked by {info.holder_name} on {info.machine} "
                f"({leases.describe_remaining(info.remaining)})"
            )
        super().__init__(
            problem or "It is locked by someone else", "Wait for it to be released, or ask an admin to break it"
        )


class LockLost(X121Error):
    """This client's lease expired or was taken; what it was doing did not happen."""

    def __init__(self, kind: LockKind, target: int, detail: str = "expired or was taken by someone else") -> None:
        self.kind = kind
        self.target = target
        super().__init__(
            f"Your lock on {kind.value} #{target} {detail}, so nothing was changed",
            "Take the lock again, re-read it and redo the change",
        )


def machine_name() -> str:
    return socket.gethostname() or "unknown-machine"


def _translate(exc: DBAPIError, doing: str, grant: LockGrant | None = None) -> X121Error:
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        message = str(getattr(getattr(orig, "diag", None), "message_primary", "") or orig).strip()
        if grant is not None and "expired or was taken" in message:
            return LockLost(grant.kind, grant.target_id)
        return LockHeld(None, f"The database refused to {doing}: {message}")
    return explain_refusal(exc, doing)


class LockService:
    """Locks as the signed-in role; PostgreSQL decides who may do what."""

    def __init__(self, engine: Engine, runtime: Runtime, machine: str | None = None) -> None:
        self._engine = engine
        self._runtime = runtime
        self.machine = machine or machine_name()

    def _tx(self, doing: str, work: Callable[[Connection], T], grant: LockGrant | None = None) -> T:
        try:
            with self._engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            raise _translate(exc, doing, grant) from exc

    async def _write(self, doing: str, work: Callable[[Connection], T], grant: LockGrant | None = None) -> T:
        return await self._runtime.run(self._runtime.db_writer, self._tx, doing, work, grant)

    async def try_acquire(
        self, target: int, *, kind: LockKind = LockKind.SEGMENT, ttl_s: int = leases.DEFAULT_TTL_S
    ) -> LockGrant | LockInfo:
        """The grant, or the lock someone else holds (no exception for the ordinary 'it is taken')."""
        leases.check_ttl(ttl_s)
        token = uuid.uuid4()
        return await self._write(
            f"lock {kind.value} #{target}", lambda c: repo.acquire(c, kind, target, token, self.machine, ttl_s)
        )

    async def acquire(
        self, target: int, *, kind: LockKind = LockKind.SEGMENT, ttl_s: int = leases.DEFAULT_TTL_S
    ) -> LockGrant:
        got = await self.try_acquire(target, kind=kind, ttl_s=ttl_s)
        if isinstance(got, LockInfo):
            raise LockHeld(got)
        return got

    async def renew(self, grant: LockGrant) -> LockGrant:
        """A renewed grant, or LockLost when the lease already lapsed (a renewal never revives it)."""

        def work(conn: Connection) -> LockGrant:
            expires = repo.renew(conn, grant.kind, grant.target_id, grant.token, grant.ttl_s)
            if expires is None:
                raise LockLost(grant.kind, grant.target_id)
            return replace(grant, expires_at=expires)

        return await self._write(f"renew the lock on {grant.kind.value} #{grant.target_id}", work, grant)

    async def release(self, grant: LockGrant) -> bool:
        """True when this lease was still held and is now released."""
        return await self._write(
            f"release {grant.kind.value} #{grant.target_id}",
            lambda c: repo.release(c, grant.kind, grant.target_id, grant.token),
        )

    async def break_lock(self, target: int, reason: str, *, kind: LockKind = LockKind.SEGMENT) -> bool:
        """Admins: remove someone's lock, visibly (feed event with the reason, notification to the holder)."""
        return await self._write(
            f"break the lock on {kind.value} #{target}", lambda c: repo.break_lock(c, kind, target, reason)
        )

    async def locks(
        self, targets: list[int] | None = None, *, kind: LockKind = LockKind.SEGMENT
    ) -> tuple[LockInfo, ...]:
        return await self._runtime.run(
            self._runtime.db_read, self._tx, "read locks", lambda c: tuple(repo.locks(c, kind, targets))
        )

    def write_under_sync(self, grant: LockGrant, doing: str, work: Callable[[Connection], T]) -> T:
        """One transaction declaring `grant`'s lease; the guard refuses it if the lease lapsed (LockLost)."""

        def guarded(conn: Connection) -> T:
            repo.declare_lease(conn, grant.token)
            return work(conn)

        return self._tx(doing, guarded, grant)

    async def write_under(self, grant: LockGrant, doing: str, work: Callable[[Connection], T]) -> T:
        return await self._runtime.run(self._runtime.db_writer, self.write_under_sync, grant, doing, work)

    def keep(self, grant: LockGrant, on_lost: Callable[[LockLost], None]) -> LeaseKeeper:
        """Renew `grant` in the background (on the running loop) until stopped; `on_lost` if it lapses."""
        return LeaseKeeper(self, grant, on_lost)


class LeaseKeeper:
    """Renews one lease every third of its length on the event loop; stop() before releasing."""

    def __init__(self, service: LockService, grant: LockGrant, on_lost: Callable[[LockLost], None]) -> None:
        self.grant = grant
        self._service = service
        self._on_lost = on_lost
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"x121-lease-{grant.target_id}")

    async def _run(self) -> None:
        interval = leases.renew_interval_s(self.grant.ttl_s)
        while True:
            await asyncio.sleep(interval)
            try:
                self.grant = await self._service.renew(self.grant)
            except LockLost as lost:
                self._on_lost(lost)
                return
            except X121Error as exc:  # the database is away: try again, the lease may still be live
                log.warning("could not renew the lock on %s: %s", self.grant.target_id, exc.sentence)

    async def stop(self) -> LockGrant:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return self.grant
