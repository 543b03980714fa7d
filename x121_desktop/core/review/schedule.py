"""Which decoded frame a view shows on each display tick, and what was dropped.

The clock wins: a view shows the frame due now when it is decoded. When it is not, the view
shows the newest decoded frame between the one on screen and the one due (so a late decoder
costs frames only when it falls a whole frame behind), or keeps its frame (a late tick).
At 1x, every frame that came due and was never shown counts as dropped. At 2x-8x skipping is
the shuttle's intent and is not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from x121_desktop.core.review.clock import PlayOrder


@dataclass(slots=True)
class PlaybackStats:
    shown: int = 0
    dropped: int = 0
    late_ticks: int = 0
    """Ticks on which no new frame was ready (the view kept its frame)."""
    behind_max: int = 0
    """The most frames a shown frame trailed the clock by."""


class DisplayScheduler:
    """The drop policy for one view. Call `decide` on every display tick, `reset` after a jump."""

    def __init__(self) -> None:
        self.stats = PlaybackStats()
        self.last: int | None = None

    def reset(self, shown: int | None = None) -> None:
        """Forget the frame on screen (after a seek or step): the next pick counts no drops."""
        self.last = shown

    def decide(self, target: int, direction: int, order: PlayOrder, available: Callable[[int], bool]) -> int | None:
        """The frame to show now, or None to keep the current one."""
        if target == self.last:
            return None
        steps = None if self.last is None or direction == 0 else order.steps(self.last, target, direction)
        if steps is None or steps > order.length:
            if available(target):
                return self._show(target)
            self.stats.late_ticks += 1
            return None
        for back in range(steps):
            frame = order.offset(target, -back * direction)
            if available(frame):
                if abs(direction) == 1:
                    self.stats.dropped += steps - back - 1
                self.stats.behind_max = max(self.stats.behind_max, back)
                return self._show(frame)
        self.stats.late_ticks += 1
        return None

    def _show(self, frame: int) -> int:
        self.last = frame
        self.stats.shown += 1
        return frame
