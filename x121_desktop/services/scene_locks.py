"""The segment locks a scene director holds for its user while it generates, measures and heals.

A director takes the lock of a segment (services/locks.py, revision 0006) before it submits a
job for it or writes its take, seams or status, and keeps it while that segment is queued,
generating or waiting for its seam to be measured; it renews the lease in the background and
releases it when the segment settles (in review, failed, waiting for a person), when the scene
leaves production, and when the director stops or is cancelled (also while an acquire or release
is still running in the executor: what it grants is given back before the director ends). A crashed director renews
nothing, so its leases lapse after `DIRECTOR_TTL_S` seconds and the database ignores them.

A lock held by another user stops the director from working on that segment, with one sentence
saying who holds it, except recording that user's own finished job (revision 0009: the write
declares the job; see `declare_job`). A lock held by the same user in another session (another
window, or a director that crashed a moment ago) is the acting user's own: the database lets
that user write, so the director goes on without a second lease.

Before a person's operation changes segments (`x121 scene generate`, `segment regenerate`, …),
`refuse_locked` turns a lock held by someone else into that sentence, before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.collab import leases
from x121_desktop.core.collab.values import LockGrant, LockInfo, LockKind
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import UserId
from x121_desktop.core.pipeline.values import SceneValue, SegmentValue
from x121_desktop.db.repositories import locks as lock_repo
from x121_desktop.services.locks import LeaseKeeper, LockHeld, LockLost, LockService

log = logging.getLogger(__name__)
DIRECTOR_TTL_S = 30
WAIT = "Wait for it to be released, or ask an admin to break it"


def lock_sentence(scene: SceneValue, position: int, info: LockInfo) -> str:
    """'Segment 2 of Ada/intro is locked by t_bob on ws-7 (25 s left)'."""
    return (
        f"Segment {position + 1} of {scene.ref} is locked by {info.holder_name} on {info.machine} "
        f"({leases.describe_remaining(info.remaining)})"
    )


def live_locks(conn: Connection, segment_ids: Iterable[int]) -> dict[int, LockInfo]:
    """Live segment locks by segment id."""
    found = lock_repo.locks(conn, LockKind.SEGMENT, list(segment_ids))
    return {info.target_id: info for info in found if info.live}


def current_user(conn: Connection) -> UserId | None:
    value = conn.execute(text("SELECT x121_current_user_id()")).scalar_one_or_none()
    return None if value is None else UserId(int(value))


def refuse_locked(conn: Connection, scene: SceneValue, segments: Iterable[SegmentValue]) -> None:
    """Raise LockHeld for the first of `segments` whose live lock another user holds."""
    wanted: dict[int, SegmentValue] = {s.id: s for s in segments}
    me = current_user(conn)
    for segment_id, info in sorted(live_locks(conn, wanted).items()):
        if info.holder_id != me:
            raise LockHeld(info, lock_sentence(scene, wanted[segment_id].position, info))


def declare_job(conn: Connection, job_id: int) -> None:
    """This transaction records job `job_id`'s outcome (the guard allows it on the job owner's lock)."""
    conn.execute(text("SELECT set_config('x121.for_job', :j, true)"), {"j": str(job_id)})


@dataclass
class _Held:
    scene_id: int
    grant: LockGrant
    keeper: LeaseKeeper
    since: float  # time.monotonic() when it was granted
    lost: LockLost | None = None


class SegmentLeases:
    """The leases one director holds, by segment id; `hold` before working on a segment."""

    def __init__(self, locks: LockService, ttl_s: int = DIRECTOR_TTL_S) -> None:
        self._locks = locks
        self._ttl_s = leases.check_ttl(ttl_s)
        self._held: dict[int, _Held] = {}
        self._finishing: set[asyncio.Future[None]] = set()

    def held(self, scene_id: int | None = None) -> set[int]:
        return {k for k, h in self._held.items() if h.lost is None and scene_id in (None, h.scene_id)}

    async def hold(
        self, scene_id: int, segment_id: int, me: UserId | None, seen: LockInfo | None = None, seen_at: float = 0.0
    ) -> LockInfo | None:
        """None when the acting user holds the segment now (this lease or another session's); else
        the lock another user holds. `seen` is the segment's live lock as read at `seen_at`
        (time.monotonic()): a lease of ours taken before then that is not there was broken or taken."""
        mine = self._held.get(segment_id)
        if mine is not None and mine.lost is None and mine.since < seen_at and (seen is None or seen.holder_id != me):
            mine.lost = LockLost(LockKind.SEGMENT, segment_id, "was broken or taken over")
        if mine is not None and mine.lost is None:
            return None
        if mine is not None:  # lapsed or taken over: forget it and try again
            await mine.keeper.stop()
            del self._held[segment_id]
        got = await self._acquire(segment_id)
        if isinstance(got, LockInfo):
            return None if got.holder_id == me else got
        keeper = self._locks.keep(got, lambda lost: self._lost(segment_id, lost))
        held = _Held(scene_id, got, keeper, time.monotonic())
        self._held[segment_id] = held
        return None

    async def _acquire(self, segment_id: int) -> LockGrant | LockInfo:
        """Take the lock; cancelled meanwhile, give back what the acquire still grants before stopping.

        The acquire runs on the db_writer executor, which cancelling the awaiting task cannot stop:
        awaited plainly, a grant landing after the cancel would be held by nobody and left to lapse
        after the lease (`DIRECTOR_TTL_S`) instead of being released."""
        acquiring = asyncio.ensure_future(self._locks.try_acquire(segment_id, ttl_s=self._ttl_s))
        try:
            return await asyncio.shield(acquiring)
        except asyncio.CancelledError:
            await self._to_the_end(self._give_back(acquiring))
            raise

    async def _give_back(self, acquiring: asyncio.Future[LockGrant | LockInfo]) -> None:
        try:
            got = await acquiring
            if isinstance(got, LockGrant):
                await self._locks.release(got)
        except X121Error as exc:  # refused or the database is away: nothing to give back, or it lapses
            log.warning("could not give back a segment lock taken while cancelled: %s", exc.sentence)

    def _lost(self, segment_id: int, lost: LockLost) -> None:
        log.warning("segment %s: %s", segment_id, lost.sentence)
        if segment_id in self._held:
            self._held[segment_id].lost = lost

    async def release(self, segment_ids: Iterable[int]) -> None:
        """Give the leases back; shielded, so a director cancelled (again) meanwhile still releases them all."""
        leaving = [held for k in list(segment_ids) if (held := self._held.pop(k, None)) is not None]
        if leaving:
            await self._to_the_end(self._release(leaving))

    async def _to_the_end(self, work: Coroutine[Any, Any, None]) -> None:
        """Await `work` shielded: cancelled meanwhile, it still runs to its end (kept referenced until then)."""
        task = asyncio.ensure_future(work)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        await asyncio.shield(task)

    async def _release(self, leaving: list[_Held]) -> None:
        for held in leaving:
            grant = await held.keeper.stop()
            try:
                await self._locks.release(grant)
            except X121Error as exc:  # the database is away: the lease lapses by itself
                log.warning("could not release the lock on segment %s: %s", grant.target_id, exc.sentence)

    async def release_scene(self, scene_id: int) -> None:
        await self.release([k for k, h in self._held.items() if h.scene_id == scene_id])

    async def release_all(self) -> None:
        await self.release(list(self._held))
