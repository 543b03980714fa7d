"""segment.lock: take or release a segment's lock through the collaboration lock service.

A taken lock is renewed in the background (LeaseKeeper) until released here, lost (then a
notification says so) or the workspace stops. A lock someone else holds is refused with one
sentence naming who holds it and where (services.scene_locks.lock_sentence).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from x121_desktop.core.collab.values import LockInfo
from x121_desktop.core.errors import InvalidInput
from x121_desktop.services.locks import LeaseKeeper, LockHeld, LockLost, LockService
from x121_desktop.services.scene_locks import lock_sentence
from x121_desktop.services.scene_workspace import ChainLink, Workspace


class SegmentLocks(QObject):
    changed = Signal()
    """A lock was taken, released or lost here."""
    lost = Signal(str)
    """The sentence for a lease that lapsed or was broken."""

    def __init__(self, service: LockService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._held: dict[int, LeaseKeeper] = {}

    def holds(self, segment_id: int) -> bool:
        return segment_id in self._held

    def held(self) -> tuple[int, ...]:
        return tuple(self._held)

    async def toggle(self, ws: Workspace, link: ChainLink) -> bool:
        """True when this window now holds the segment's lock."""
        segment_id = int(link.segment.id)
        if segment_id in self._held:
            await self.release(segment_id)
            return False
        if link.lock is not None and ws.me is not None and int(link.lock.holder_id) == ws.me:
            raise InvalidInput(
                f"Segment {link.segment.position + 1} is locked by you in another session on {link.lock.machine}",
                "It is released when that session (or its scene director) finishes with it",
            )
        got = await self.service.try_acquire(segment_id)
        if isinstance(got, LockInfo):
            raise LockHeld(got, lock_sentence(ws.view.scene, link.segment.position, got))
        self._held[segment_id] = self.service.keep(got, self._on_lost)
        self.changed.emit()
        return True

    async def release(self, segment_id: int) -> None:
        keeper = self._held.pop(segment_id, None)
        if keeper is not None:
            grant = await keeper.stop()
            await self.service.release(grant)
            self.changed.emit()

    async def release_all(self) -> None:
        for segment_id in list(self._held):
            await self.release(segment_id)

    def _on_lost(self, lost: LockLost) -> None:
        self._held.pop(lost.target, None)
        self.lost.emit(lost.sentence)
        self.changed.emit()
