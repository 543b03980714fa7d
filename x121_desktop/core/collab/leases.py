"""Lock lease timing: how long a lease lasts, when to renew it, and what a holder may still do.

The database's clock decides expiry (`expires_at` comes from the server); these rules only tell a
client when to act. Durations are whole seconds (a lease is wall-clock time, not media time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from x121_desktop.core.errors import InvalidInput

MIN_TTL_S = 5
MAX_TTL_S = 3600
DEFAULT_TTL_S = 30
RENEW_FRACTION = 3
"""Renew after a third of the lease has passed, so two renewals can fail before it lapses."""


def check_ttl(ttl_s: int) -> int:
    if not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise InvalidInput(f"A lock lease of {ttl_s} s is not allowed", f"Choose {MIN_TTL_S} to {MAX_TTL_S} seconds")
    return ttl_s


def renew_interval_s(ttl_s: int) -> float:
    """Seconds between renewals of a lease of `ttl_s` seconds."""
    return max(1.0, check_ttl(ttl_s) / RENEW_FRACTION)


@dataclass(frozen=True, slots=True)
class LeaseState:
    """A lease as read from the database, with the database's own `now`."""

    expires_at: datetime
    now: datetime

    @property
    def live(self) -> bool:
        return self.expires_at > self.now

    @property
    def remaining(self) -> timedelta:
        return max(self.expires_at - self.now, timedelta(0))

    def needs_renewal(self, ttl_s: int) -> bool:
        return self.remaining.total_seconds() <= ttl_s - renew_interval_s(ttl_s)


def describe_remaining(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "expired"
    if seconds < 120:
        return f"{seconds} s left"
    return f"{seconds // 60} min left"
