"""core.media.audio_sync: the clock's sample position (exact, folded into loops), signed distances
along a looping range, and which clip sample a sound card plays from the runs written to it."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from x121_desktop.core.media.audio import sample_of_frame
from x121_desktop.core.media.audio_sync import DriftStats, RunLog, SampleSpan, clock_sample
from x121_desktop.core.review.clock import PlaybackClock

NTSC = Fraction(30000, 1001)


def test_a_span_covers_the_samples_of_its_frames() -> None:
    span = SampleSpan.of(24, 96, True, Fraction(24), 48000)
    assert (span.start, span.stop, span.length) == (48000, 192000, 144000)
    ntsc = SampleSpan.of(1, 2, False, NTSC, 48000)
    assert (ntsc.start, ntsc.stop) == (1602, 3204)  # ceil(1601.6), ceil(3203.2)


def test_fold_wraps_a_looping_span_and_clamps_a_plain_one() -> None:
    loop, once = SampleSpan(100, 200, True), SampleSpan(100, 200, False)
    assert [loop.fold(s) for s in (100, 199, 200, 250, 399)] == [100, 199, 100, 150, 199]
    assert [once.fold(s) for s in (150, 200, 999, 50)] == [150, 200, 200, 100]
    assert loop.advance(190, 15) == 105


def test_ahead_goes_the_short_way_round_a_loop() -> None:
    loop = SampleSpan(100, 200, True)
    assert loop.ahead(101, 199) == 2  # just after the wrap is ahead of just before it
    assert loop.ahead(199, 101) == -2
    assert loop.ahead(150, 140) == 10
    assert SampleSpan(100, 200, False).ahead(101, 199) == -98


@given(
    anchor=st.integers(0, 500),
    elapsed=st.integers(0, 30 * 10**9),
    rate=st.sampled_from([Fraction(24), Fraction(30), NTSC, Fraction(25)]),
)
def test_clock_sample_lands_in_the_frame_the_clock_shows(anchor: int, elapsed: int, rate: Fraction) -> None:
    """At any instant the sample the clock is at belongs to the frame PlaybackClock shows (one clock, no drift):
    at most its next frame's first sample, reached within one sample of that frame's start."""
    t = [0]
    clock = PlaybackClock(rate, 100_000, now=lambda: t[0], loop=False)
    clock.seek(anchor)
    clock.play(1)
    t[0] = elapsed
    frame = clock.frame()
    sample = clock_sample(anchor, elapsed, rate, 48000, SampleSpan(0, 1 << 62, False))
    assert sample_of_frame(frame, rate, 48000) <= sample <= sample_of_frame(frame + 1, rate, 48000)
    if elapsed == 0:
        assert sample == sample_of_frame(anchor, rate, 48000)


def test_clock_sample_folds_with_the_clock_in_a_loop() -> None:
    t = [0]
    rate = Fraction(24)
    clock = PlaybackClock(rate, 240, now=lambda: t[0], loop=True)
    clock.set_in(10)
    clock.set_out(19)  # frames 10..19 loop (10 frames, 20000 samples)
    clock.seek(15)
    clock.play(1)
    span = SampleSpan.of(10, 20, True, rate, 48000)
    for ms in (0, 100, 208, 209, 1000, 4321):
        t[0] = ms * 1_000_000
        frame = clock.frame()
        sample = clock_sample(15, t[0], rate, 48000, span)
        assert sample_of_frame(frame, rate, 48000) <= sample <= sample_of_frame(frame + 1, rate, 48000), ms


def test_the_run_log_says_which_clip_sample_a_card_plays() -> None:
    runs = RunLog()
    runs.add(None, 960)  # the prime: silence
    runs.add(4800, 1000)
    runs.add(5800, 500)  # consecutive: merged
    runs.add(None, 100)
    runs.add(9000, 50)
    assert runs.written == 2610
    assert runs.sample_at(0) is None
    assert runs.sample_at(960) == 4800
    assert runs.sample_at(2459) == 6299
    assert runs.sample_at(2470) is None  # the inserted silence
    assert runs.sample_at(2560) == 9000
    assert runs.sample_at(2610) is None  # nothing written there yet
    assert len(runs.runs) == 1  # the runs the card has passed are gone
    runs.clear()
    assert (runs.written, runs.sample_at(0)) == (0, None)


def test_drift_stats_in_milliseconds() -> None:
    stats = DriftStats(48000)
    for d in (-480, 96, 0):
        stats.add(d)
    assert (stats.max_abs, stats.max_ms(), stats.count) == (480, 10.0, 3)
    assert stats.mean_ms() == (480 + 96) / 3 / 48
    assert (stats.percentile_ms(0.0), stats.percentile_ms(0.5), stats.percentile_ms(1.0)) == (0.0, 2.0, 10.0)
