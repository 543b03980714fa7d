"""Which frames a source keeps decoded around the playhead, in the order to decode them.

The window leans the way playback goes: `ahead` frames in play order (wrapping into the in
point when looping, so a loop never stalls at its seam) and `behind` frames the other way, for
stepping back and scrubbing. Paused, the window leans forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from x121_desktop.core.review.clock import PlayOrder


@dataclass(frozen=True, slots=True)
class CacheWindow:
    ahead: int
    behind: int

    @classmethod
    def for_capacity(cls, frames: int) -> CacheWindow:
        """Split a cache of `frames` frames: the playhead, two thirds ahead, the rest behind."""
        frames = max(1, frames)
        ahead = (frames - 1) * 2 // 3
        return cls(ahead=ahead, behind=frames - 1 - ahead)

    @property
    def capacity(self) -> int:
        return 1 + self.ahead + self.behind


def wanted_frames(playhead: int, direction: int, window: CacheWindow, order: PlayOrder) -> tuple[int, ...]:
    """The frames to hold, most urgent first: the playhead, then ahead in play order, then behind."""
    d = -1 if direction < 0 else 1
    playhead = min(max(playhead, 0), order.count - 1)
    out = [playhead]
    seen = {playhead}
    frame: int | None = playhead
    for _ in range(window.ahead):
        assert frame is not None
        frame = order.next(frame, d)
        if frame is None or frame in seen:
            break
        seen.add(frame)
        out.append(frame)
    frame = playhead
    for _ in range(window.behind):
        frame -= d
        if not 0 <= frame < order.count or frame in seen:
            break
        seen.add(frame)
        out.append(frame)
    return tuple(out)
