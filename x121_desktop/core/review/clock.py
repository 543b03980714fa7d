"""The shared playback clock: integer frames at a rational rate, J/K/L shuttle, in/out, loop.

One clock drives every view of a player (the 2x2 grid plays in lockstep because all cells read
the same clock). Time comes from an injected monotonic nanosecond source, so tests use a fake
one; positions are computed with integers only (no float seconds): the frame due `elapsed_ns`
after the anchor is ``anchor + sign * (elapsed_ns * |speed| * num) // (den * 10**9)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

SHUTTLE_SPEEDS = (1, 2, 4, 8)
"""J/K/L shuttle steps (multiples of the native rate), the same both ways."""

_NS = 10**9


def shuttle_forward(speed: int) -> int:
    """L: from stop or reverse → 1x forward; already forward → the next faster step (8x is the top)."""
    if speed <= 0:
        return SHUTTLE_SPEEDS[0]
    return next((s for s in SHUTTLE_SPEEDS if s > speed), SHUTTLE_SPEEDS[-1])


def shuttle_reverse(speed: int) -> int:
    """J: the mirror of `shuttle_forward`."""
    return -shuttle_forward(-speed)


def map_frame(frame: int, from_rate: Fraction, to_rate: Fraction) -> int:
    """The frame of a `to_rate` source shown at the instant `frame` of a `from_rate` timeline starts."""
    if from_rate == to_rate:
        return frame
    return (frame * to_rate.numerator * from_rate.denominator) // (to_rate.denominator * from_rate.numerator)


@dataclass(frozen=True, slots=True)
class PlayOrder:
    """Which frames play, in which order: ``[start, stop)`` of a clip of `count` frames, looped or not."""

    start: int
    stop: int
    loop: bool
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.stop <= self.count:
            raise ValueError(f"play range [{self.start}, {self.stop}) must lie inside 0…{self.count}")

    @property
    def length(self) -> int:
        return self.stop - self.start

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.start <= frame < self.stop

    def next(self, frame: int, direction: int) -> int | None:
        """The frame played after `frame` going `direction` (±1); None where playback ends."""
        if frame in self:
            if direction > 0 and frame == self.stop - 1:
                return self.start if self.loop else None
            if direction < 0 and frame == self.start:
                return self.stop - 1 if self.loop else None
        nxt = frame + (1 if direction > 0 else -1)
        return nxt if 0 <= nxt < self.count else None

    def offset(self, frame: int, n: int) -> int:
        """`frame` moved `n` frames along the play order (wrapping inside a looped range)."""
        if self.loop and frame in self:
            return self.start + (frame - self.start + n) % self.length
        return min(max(frame + n, 0), self.count - 1)

    def steps(self, a: int, b: int, direction: int) -> int | None:
        """How many frames playback advances from `a` to reach `b` going `direction`; None if never."""
        if self.loop and a in self and b in self:
            return ((b - a) * direction) % self.length
        s = (b - a) * (1 if direction > 0 else -1)
        return s if s >= 0 else None

    def resolve(self, raw: int, direction: int) -> tuple[int, bool]:
        """A raw clock position folded into the range: (frame, ended). Ended: a non-looping end."""
        if self.start <= raw < self.stop:
            return raw, False
        if direction > 0 and raw >= self.stop:
            if self.loop:
                return self.start + (raw - self.stop) % self.length, False
            return self.stop - 1, True
        if direction < 0 and raw < self.start:
            if self.loop:
                return self.stop - 1 - (self.start - 1 - raw) % self.length, False
            return self.start, True
        return min(max(raw, 0), self.count - 1), False


class PlaybackClock:
    """The playhead shared by the views of one player.

    `speed` is 0 (paused) or a signed multiple of the native `rate` (±1, ±2, ±4, ±8 from J/L).
    The in and out points are inclusive frames (out is the last frame played); `loop` wraps
    playback inside them, otherwise playback stops on the last frame of the range.
    Not thread-safe: it lives on the thread that owns the player (the UI thread).
    """

    def __init__(
        self, rate: Fraction, frame_count: int, *, now: Callable[[], int] = time.monotonic_ns, loop: bool = True
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._now = now
        self.rate = Fraction(rate)
        self._count = max(1, frame_count)
        self._in: int | None = None
        self._out: int | None = None
        self._loop = loop
        self._speed = 0
        self._anchor_frame = 0
        self._anchor_ns = now()

    # ------------------------------------------------------------------ state
    @property
    def frame_count(self) -> int:
        return self._count

    def set_frame_count(self, count: int) -> None:
        f = self.frame()
        self._count = max(1, count)
        self._in = None if self._in is None or self._in >= self._count else self._in
        self._out = None if self._out is None or self._out >= self._count else self._out
        self._reanchor(min(f, self._count - 1))

    @property
    def speed(self) -> int:
        self.frame()  # a non-looping end pauses the clock
        return self._speed

    @property
    def playing(self) -> bool:
        return self.speed != 0

    @property
    def direction(self) -> int:
        s = self.speed
        return (s > 0) - (s < 0)

    @property
    def loop(self) -> bool:
        return self._loop

    @loop.setter
    def loop(self, value: bool) -> None:
        self._reanchor(self.frame())
        self._loop = value

    @property
    def in_point(self) -> int | None:
        return self._in

    @property
    def out_point(self) -> int | None:
        return self._out

    def order(self) -> PlayOrder:
        start = self._in if self._in is not None else 0
        stop = self._out + 1 if self._out is not None else self._count
        if stop <= start:
            start, stop = 0, self._count
        return PlayOrder(start, stop, self._loop, self._count)

    def anchor(self) -> tuple[int, int]:
        """(frame, monotonic ns) the running clock counts from: what a sub-frame position (sound, at
        2000 samples per frame at 24 fps) is worked out from."""
        return self._anchor_frame, self._anchor_ns

    def frame(self) -> int:
        """The frame due now."""
        if self._speed == 0:
            return self._anchor_frame
        elapsed = max(0, self._now() - self._anchor_ns)
        speed = abs(self._speed)
        moved = (elapsed * speed * self.rate.numerator) // (self.rate.denominator * _NS)
        direction = 1 if self._speed > 0 else -1
        frame, ended = self.order().resolve(self._anchor_frame + direction * moved, direction)
        if ended:
            self._speed = 0
            self._anchor_frame, self._anchor_ns = frame, self._now()
        return frame

    # ------------------------------------------------------------------ transport
    def play(self, speed: int = 1) -> None:
        if speed == 0:
            self.pause()
            return
        frame = self.frame()
        order = self.order()
        if frame not in order or (not order.loop and order.next(frame, speed) is None):
            frame = order.start if speed > 0 else order.stop - 1
        self._speed = speed
        self._reanchor(frame)

    def pause(self) -> None:
        self._reanchor(self.frame())
        self._speed = 0

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play(1)

    def shuttle_forward(self) -> None:
        self.play(shuttle_forward(self.speed))

    def shuttle_reverse(self) -> None:
        self.play(shuttle_reverse(self.speed))

    def seek(self, frame: int) -> None:
        """Move the playhead to `frame` (clamped to the clip); playback, if any, goes on from there."""
        frame = min(max(frame, 0), self._count - 1)
        if self._speed and frame not in self.order():
            order = self.order()
            frame = order.start if self._speed > 0 else order.stop - 1
        self._reanchor(frame)

    def step(self, n: int) -> None:
        """Pause and move `n` frames (negative: back), clamped to the clip."""
        frame = self.frame()
        self._speed = 0
        self._reanchor(min(max(frame + n, 0), self._count - 1))

    def set_in(self, frame: int | None = None) -> None:
        self._in = self.frame() if frame is None else min(max(frame, 0), self._count - 1)
        if self._out is not None and self._out < self._in:
            self._out = None
        self._reanchor(self.frame())

    def set_out(self, frame: int | None = None) -> None:
        self._out = self.frame() if frame is None else min(max(frame, 0), self._count - 1)
        if self._in is not None and self._in > self._out:
            self._in = None
        self._reanchor(self.frame())

    def clear_in(self) -> None:
        self._in = None

    def clear_out(self) -> None:
        self._out = None

    def _reanchor(self, frame: int) -> None:
        self._anchor_frame = frame
        self._anchor_ns = self._now()


def order_for(order: PlayOrder, count: int) -> PlayOrder:
    """`order` for a source of `count` frames (a shorter take holds its last frame past its end)."""
    count = max(1, count)
    start = min(order.start, count - 1)
    return PlayOrder(start, max(start + 1, min(order.stop, count)), order.loop, count)
