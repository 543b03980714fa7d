"""Presence freshness: which heartbeats still count, and when the next one goes stale.

Clients never poll for staleness: they read presence when a NOTIFY arrives and then schedule a
single re-read at `next_expiry` (the moment the oldest visible heartbeat times out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from x121_desktop.core.errors import InvalidInput

DEFAULT_TIMEOUT_S = 30
HEARTBEAT_FRACTION = 3


def check_timeout(timeout_s: int) -> int:
    if not 3 <= timeout_s <= 3600:
        raise InvalidInput(f"A presence timeout of {timeout_s} s is not allowed", "Choose 3 to 3600 seconds")
    return timeout_s


def heartbeat_interval_s(timeout_s: int) -> float:
    return max(1.0, check_timeout(timeout_s) / HEARTBEAT_FRACTION)


@dataclass(frozen=True, slots=True)
class Beat:
    key: tuple[int, str]
    """(user id, machine)."""
    at: datetime


def fresh(beats: Iterable[Beat], now: datetime, timeout_s: int) -> tuple[Beat, ...]:
    limit = now - timedelta(seconds=timeout_s)
    return tuple(b for b in beats if b.at > limit)


def next_expiry(beats: Iterable[Beat], now: datetime, timeout_s: int) -> timedelta | None:
    """How long until the first still-fresh heartbeat times out (None when nobody is present)."""
    alive = fresh(beats, now, timeout_s)
    if not alive:
        return None
    first = min(b.at for b in alive) + timedelta(seconds=timeout_s)
    return max(first - now, timedelta(0))
