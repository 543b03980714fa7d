"""Review playback, pure: the shared clock, J/K/L shuttle, in/out/loop ranges, the display
drop policy and the decode cache window. No Qt, no PyAV: tested with fake clocks.

    clock = PlaybackClock(Fraction(30000, 1001), frame_count=240, now=fake_ns)
    clock.shuttle_forward()            # L: 1x; again: 2x, 4x, 8x; J reverses; K stops
    clock.set_in(24); clock.set_out(96); clock.loop = True
    target = clock.frame()             # the frame due now (integer, exact rational arithmetic)

    sched = DisplayScheduler()
    shown = sched.decide(target, clock, available=cache.__contains__)   # None: keep what is shown
    sched.dropped                      # frames that came due but were never shown (1x only)

    wanted = wanted_frames(target, clock.direction, CacheWindow(ahead=60, behind=20), clock.order())
"""

from __future__ import annotations

from x121_desktop.core.review.cache_window import CacheWindow, wanted_frames
from x121_desktop.core.review.clock import (
    SHUTTLE_SPEEDS,
    PlaybackClock,
    PlayOrder,
    map_frame,
    shuttle_forward,
    shuttle_reverse,
)
from x121_desktop.core.review.schedule import DisplayScheduler, PlaybackStats

__all__ = [
    "SHUTTLE_SPEEDS",
    "CacheWindow",
    "DisplayScheduler",
    "PlayOrder",
    "PlaybackClock",
    "PlaybackStats",
    "map_frame",
    "shuttle_forward",
    "shuttle_reverse",
    "wanted_frames",
]
