"""Playback audio against the video clock, pure: where the clock is in output samples, the play
range in samples, signed distances along a looping range, and which clip sample a sound card is
playing (from the runs written to it).

The review player's clock is master. At 1x its exact position `frame + fraction` maps to output
sample ``ceil(position * sample_rate / rate)``, the same grid as `core.media.audio`
(`sample_of_frame`): frame ``f`` owns the samples ``[ceil(f * sr / rate), ceil((f + 1) * sr / rate))``.
An in/out range ``[start, stop)`` of frames loops over the samples
``[sample_of_frame(start), sample_of_frame(stop))``.

    span = SampleSpan.of(PlayOrder(24, 96, True, 240), Fraction(24), 48000)
    now = clock_sample(anchor_frame=30, elapsed_ns=10**9, rate=Fraction(24), sample_rate=48000, span=span)
    drift = span.ahead(audio_now, now)          # > 0: the sound is ahead of the picture
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

from x121_desktop.core.media.audio import sample_of_frame

_NS = 10**9


@dataclass(frozen=True, slots=True)
class SampleSpan:
    """The samples ``[start, stop)`` playback runs through, wrapping to `start` when `loop`."""

    start: int
    stop: int
    loop: bool

    @classmethod
    def of(cls, start_frame: int, stop_frame: int, loop: bool, rate: Fraction, sample_rate: int) -> SampleSpan:
        """The samples of video frames ``[start_frame, stop_frame)`` at `rate`."""
        first = sample_of_frame(start_frame, rate, sample_rate)
        return cls(first, max(first + 1, sample_of_frame(stop_frame, rate, sample_rate)), loop)

    @property
    def length(self) -> int:
        return self.stop - self.start

    def fold(self, sample: int) -> int:
        """A raw position folded into the span (a looping span wraps; otherwise it is clamped at its end)."""
        if self.start <= sample < self.stop:
            return sample
        if self.loop and sample >= self.stop:
            return self.start + (sample - self.start) % self.length
        return min(max(sample, self.start), self.stop)

    def ahead(self, a: int, b: int) -> int:
        """How far sample `a` is ahead of `b` along the play order (negative: behind); inside a looping
        span the shorter way round, so the last sample before the wrap is 1 behind the first after it."""
        d = a - b
        if self.loop and self.start <= a < self.stop and self.start <= b < self.stop:
            d %= self.length
            if d > self.length // 2:
                d -= self.length
        return d

    def advance(self, sample: int, n: int) -> int:
        """`sample` moved `n` samples along the play order."""
        return self.fold(sample + n)


def clock_sample(anchor_frame: int, elapsed_ns: int, rate: Fraction, sample_rate: int, span: SampleSpan) -> int:
    """The first sample at or after the instant the 1x clock reaches `elapsed_ns` after it was anchored
    on the start of `anchor_frame`: ``ceil((anchor + elapsed * rate) * sample_rate / rate)`` exactly (the
    `sample_of_frame` rule, so at a frame's start it is that frame's first sample), folded into `span`."""
    rate = Fraction(rate)
    raw = Fraction(anchor_frame * sample_rate) / rate + Fraction(max(0, elapsed_ns) * sample_rate, _NS)
    return span.fold(-(-raw.numerator // raw.denominator))


@dataclass(frozen=True, slots=True)
class Run:
    """`count` samples written to the sound card from its stream offset `offset`: the clip's samples
    from `first` on (consecutive), or silence (`first` None)."""

    offset: int
    first: int | None
    count: int


@dataclass(slots=True)
class RunLog:
    """What was written to a sound card since it (re)started, in order, to tell which clip sample it
    is playing when it has consumed `processed` samples. Old runs are dropped as the card passes them."""

    runs: deque[Run] = field(default_factory=deque)
    written: int = 0

    def add(self, first: int | None, count: int) -> None:
        if count <= 0:
            return
        last = self.runs[-1] if self.runs else None
        if last is not None and first is not None and last.first is not None and last.first + last.count == first:
            self.runs[-1] = Run(last.offset, last.first, last.count + count)
        elif last is not None and first is None and last.first is None:
            self.runs[-1] = Run(last.offset, None, last.count + count)
        else:
            self.runs.append(Run(self.written, first, count))
        self.written += count

    def clear(self) -> None:
        self.runs.clear()
        self.written = 0

    def sample_at(self, processed: int) -> int | None:
        """The clip sample at stream offset `processed` (None: silence there, or nothing written yet)."""
        while len(self.runs) > 1 and self.runs[1].offset <= processed:
            self.runs.popleft()
        if not self.runs or processed >= self.written or processed < self.runs[0].offset:
            return None
        run = self.runs[0]
        return None if run.first is None else run.first + (processed - run.offset)


@dataclass(slots=True)
class DriftStats:
    """|audio clock - video clock| observed while playing, in samples (each observation kept, for percentiles)."""

    sample_rate: int
    observed: list[int] = field(default_factory=list)
    corrections: int = 0
    """Times the feed dropped or inserted samples to stay in sync (or re-synced)."""

    def add(self, drift: int) -> None:
        self.observed.append(abs(drift))

    @property
    def count(self) -> int:
        return len(self.observed)

    @property
    def max_abs(self) -> int:
        return max(self.observed, default=0)

    def max_ms(self) -> float:
        return 1000.0 * self.max_abs / self.sample_rate

    def mean_ms(self) -> float:
        return 1000.0 * sum(self.observed) / max(1, self.count) / self.sample_rate

    def percentile_ms(self, q: float) -> float:
        """The `q` quantile (0..1) of |drift|, nearest rank."""
        if not self.observed:
            return 0.0
        ordered = sorted(self.observed)
        return 1000.0 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] / self.sample_rate
