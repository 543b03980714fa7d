"""Collaboration, assembled: presence, locks and the activity feed for one signed-in client, plus live events.

`CollabServices.from_studio(studio)` builds the three services on the studio's engine and runtime.
`listen(on_event)` starts one LISTEN thread (db.notify.ChannelListener) on the four collaboration
channels and hands `CollabEvent`s to `on_event` on that thread: a front end queues them to its own
thread (the UI uses a queued Qt signal) and re-reads what changed. After a reconnection it gets
`CollabEvent(RECONNECTED, {})` and should re-read everything, since notices in between were lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from x121_desktop.db.notify import (
    ChannelListener,
    ChannelNotice,
    ListenerHandle,
    ListenerReconnected,
    conninfo_from_engine,
    parse_json_notice,
)
from x121_desktop.services.activity import ActivityService
from x121_desktop.services.locks import LockService, machine_name
from x121_desktop.services.presence import PresenceService

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.services.runtime import Runtime

PRESENCE = "x121_presence"
LOCKS = "x121_locks"
ACTIVITY = "x121_activity"
NOTIFICATIONS = "x121_notifications"
RECONNECTED = "reconnected"
CHANNELS = (PRESENCE, LOCKS, ACTIVITY, NOTIFICATIONS)


@dataclass(frozen=True, slots=True)
class CollabEvent:
    channel: str
    """One of CHANNELS, or RECONNECTED."""
    data: dict[str, Any] = field(default_factory=dict)

    def int_field(self, key: str) -> int | None:
        value = self.data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class CollabListener(ListenerHandle):
    """One LISTEN connection for the collaboration channels; stop() joins its thread."""

    def __init__(self, conninfo: str, on_event: Callable[[CollabEvent], None], *, poll_s: float = 0.2) -> None:
        def hand_over(notice: ChannelNotice | ListenerReconnected) -> None:
            if isinstance(notice, ListenerReconnected):
                on_event(CollabEvent(RECONNECTED))
            else:
                on_event(CollabEvent(notice.channel, notice.data))

        self._listener: ChannelListener[ChannelNotice] = ChannelListener(
            conninfo, {c: parse_json_notice(c) for c in CHANNELS}, hand_over, poll_s=poll_s, name="x121-collab-listener"
        )

    def __enter__(self) -> CollabListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class CollabServices:
    presence: PresenceService
    locks: LockService
    activity: ActivityService
    engine: Engine
    machine: str

    @classmethod
    def build(
        cls, engine: Engine, runtime: Runtime, machine: str | None = None, *, presence_timeout_s: int = 30
    ) -> CollabServices:
        name = machine or machine_name()
        return cls(
            presence=PresenceService(engine, runtime, name, timeout_s=presence_timeout_s),
            locks=LockService(engine, runtime, name),
            activity=ActivityService(engine, runtime),
            engine=engine,
            machine=name,
        )

    @classmethod
    def from_studio(cls, studio: Studio, machine: str | None = None) -> CollabServices:
        return cls.build(studio.engine, studio.runtime, machine)

    def listen(self, on_event: Callable[[CollabEvent], None]) -> CollabListener:
        """A started listener (see the module docstring)."""
        return CollabListener(conninfo_from_engine(self.engine), on_event).start()
