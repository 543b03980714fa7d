"""Time is integer frames plus a rational rate; seconds exist only for display."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class FrameRange:
    start: int
    length: int
    rate: Fraction

    def __post_init__(self) -> None:
        if self.start < 0 or self.length < 0:
            raise ValueError(f"FrameRange needs start >= 0 and length >= 0, got {self.start}, {self.length}")
        if self.rate <= 0:
            raise ValueError(f"FrameRange needs a positive rate, got {self.rate}")

    @property
    def end(self) -> int:
        """One past the last frame."""
        return self.start + self.length

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.start <= frame < self.end

    def duration(self) -> Fraction:
        return self.length / self.rate


def frames_to_timecode(frame: int, rate: Fraction) -> str:
    """Non-drop-frame HH:MM:SS:FF for display, using the nominal integer rate."""
    fps = max(1, round(rate))
    ff = frame % fps
    total_s = frame // fps
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}:{ff:02d}"
