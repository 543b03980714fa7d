"""The shared playback clock: integer frames at a rational rate, J/K/L shuttle, in/out, loop.

One clock drives every view of a player (the 2x2 grid plays in lockstep because all cells read
the same clock). Time comes from an injected monotonic nanosecond source, so tests use a fake
one; positions are computed with integers only (no float seconds): the frame due `elapsed_ns`
after the anchor is ``anchor + sign * (elapsed_ns * |speed| * num + phase) // (den * 10**9)``,
where `phase` (in ``1 / (den * 10**9)`` of a frame) is how far into the anchor frame the clock was
when it was anchored.

Changes that do not move the playhead (new in/out points, loop on or off, a new frame count or
rate, another shuttle speed the same way) re-anchor the running clock on the exact position it is
at: the frame due now and the part of it already played, exactly, so every later frame comes due
on the very nanosecond it would have and the sound (ui/review/playback_audio.py) can go on. Only
seeks, steps and starting to play put the clock on the start of a frame.
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


def frames_covering(count: int, source_rate: Fraction, timeline_rate: Fraction) -> int:
    """How many `timeline_rate` frames it takes to play `count` frames of a `source_rate` clip."""
    return max(1, _ceil(Fraction(count) * timeline_rate / source_rate))


def rate_label(rate: Fraction) -> str:
    """A rate for people: '24 fps', '29.97 fps', '23.976 fps' (display only)."""
    if rate.denominator == 1:
        return f"{rate.numerator} fps"
    return f"{float(rate):.3f}".rstrip("0").rstrip(".") + " fps"


def _ceil(x: Fraction) -> int:
    return -(-x.numerator // x.denominator)


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
        self._rate = Fraction(rate)
        self._count = max(1, frame_count)
        self._in: int | None = None
        self._out: int | None = None
        self._loop = loop
        self._speed = 0
        self._anchor_frame = 0
        self._anchor_ns = now()
        self._phase = 0  # how far into the anchor frame the clock was at the anchor, in 1/(den * 10**9) frames

    # ------------------------------------------------------------------ state
    @property
    def rate(self) -> Fraction:
        return self._rate

    @rate.setter
    def rate(self, rate: Fraction) -> None:
        """Count frames at `rate` from now on. The time stays: the frame due now, the part of it played,
        the in/out points and the frame count become the new rate's frames at the same instants (a paused
        clock goes to the new rate's frame showing at the start of its frame)."""
        rate = Fraction(rate)
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        old = self._rate
        if rate == old:
            return
        now = self._now()
        frame, phase = self._due(now)
        played = Fraction(phase, old.denominator * _NS)  # of the frame due now
        if self._speed >= 0:  # frame f shows over the clip time [f, f + 1) / rate
            at = (frame + played) * rate / old
            frame = int(at)
            played = at - frame
        else:  # going back, frame f shows over (f - 1, f] / rate
            at = (frame - played) * rate / old
            frame = _ceil(at)
            played = frame - at
        self._rate = rate
        self._count = frames_covering(self._count, old, rate)
        self._in = None if self._in is None else map_frame(self._in, old, rate)
        self._out = None if self._out is None else max(0, frames_covering(self._out + 1, old, rate) - 1)
        if self._speed == 0:
            self._reanchor(min(frame, self._count - 1))
            return
        self._resume(min(frame, self._count - 1), int(played * rate.denominator * _NS), now)

    @property
    def frame_count(self) -> int:
        return self._count

    def set_frame_count(self, count: int) -> None:
        now = self._now()
        frame, phase = self._due(now)
        self._count = max(1, count)
        self._in = None if self._in is None or self._in >= self._count else self._in
        self._out = None if self._out is None or self._out >= self._count else self._out
        if frame >= self._count:
            frame, phase = self._count - 1, 0
        self._resume(frame, phase, now)

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
        now = self._now()
        frame, phase = self._due(now)
        self._loop = value
        self._resume(frame, phase, now)

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
        """(frame, monotonic ns) the running clock counts from: the instant `frame` came due (to the
        nearest ns), which may be before the last exact re-anchor. What a sub-frame position (sound, at
        2000 samples per frame at 24 fps) is worked out from."""
        per_ns = max(1, abs(self._speed)) * self._rate.numerator  # frame units of 1/(den * 10**9) per ns
        return self._anchor_frame, self._anchor_ns - (self._phase + per_ns // 2) // per_ns

    def frame(self) -> int:
        """The frame due now."""
        return self._due(self._now())[0]

    def _due(self, now: int) -> tuple[int, int]:
        """(the frame due at `now`, the part of it played in 1/(den * 10**9) frames); a non-looping end
        pauses the clock there."""
        if self._speed == 0:
            return self._anchor_frame, 0
        unit = self._rate.denominator * _NS
        position = max(0, now - self._anchor_ns) * abs(self._speed) * self._rate.numerator + self._phase
        moved, phase = divmod(position, unit)
        direction = 1 if self._speed > 0 else -1
        frame, ended = self.order().resolve(self._anchor_frame + direction * moved, direction)
        if ended:
            self._speed = 0
            self._reanchor(frame, now)
            return frame, 0
        return frame, phase

    def _resume(self, frame: int, phase: int, now: int) -> None:
        """Go on from `frame` at `now`, `phase` into it (no jump, no stall). While playing, a frame past
        the play range (the way playback goes) goes on from the range's start instead, as play() does; a
        frame before it plays on into it."""
        order = self.order()
        if self._speed > 0 and frame >= order.stop:
            frame, phase = order.start, 0
        elif self._speed < 0 and frame < order.start:
            frame, phase = order.stop - 1, 0
        self._anchor_frame, self._anchor_ns, self._phase = frame, now, phase

    # ------------------------------------------------------------------ transport
    def play(self, speed: int = 1) -> None:
        """Play at `speed` from the frame due now (from the range's start where that frame is outside it or,
        not looping, on its last frame). Already playing the same way: only the speed changes, from the
        exact instant the clock is at."""
        if speed == 0:
            self.pause()
            return
        now = self._now()
        frame, phase = self._due(now)
        if self._speed * speed > 0:  # the same way, faster or slower: the part of the frame played stays
            self._speed = speed
            self._resume(frame, phase, now)
            return
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
        """The in point: `frame`, or the frame due now; playback goes on without a jump where it can."""
        now = self._now()
        due, phase = self._due(now)
        self._in = due if frame is None else min(max(frame, 0), self._count - 1)
        if self._out is not None and self._out < self._in:
            self._out = None
        self._resume(due, phase, now)

    def set_out(self, frame: int | None = None) -> None:
        """The out point (the last frame played): `frame`, or the frame due now."""
        now = self._now()
        due, phase = self._due(now)
        self._out = due if frame is None else min(max(frame, 0), self._count - 1)
        if self._in is not None and self._in > self._out:
            self._in = None
        self._resume(due, phase, now)

    def clear_in(self) -> None:
        now = self._now()
        due, phase = self._due(now)
        self._in = None
        self._resume(due, phase, now)

    def clear_out(self) -> None:
        now = self._now()
        due, phase = self._due(now)
        self._out = None
        self._resume(due, phase, now)

    def _reanchor(self, frame: int, now: int | None = None) -> None:
        """Put the clock on the start of `frame` now (a jump: seek, step, play, pause)."""
        self._anchor_frame, self._phase = frame, 0
        self._anchor_ns = self._now() if now is None else now


def order_for(order: PlayOrder, count: int) -> PlayOrder:
    """`order` for a source of `count` frames (a shorter take holds its last frame past its end)."""
    count = max(1, count)
    start = min(order.start, count - 1)
    return PlayOrder(start, max(start + 1, min(order.stop, count)), order.loop, count)
