"""The shared playback clock, shuttle and ranges, on a fake nanosecond clock."""

from __future__ import annotations

from fractions import Fraction

import pytest

from x121_desktop.core.review import PlaybackClock, map_frame, shuttle_forward, shuttle_reverse
from x121_desktop.core.review.clock import PlayOrder

NS = 10**9


class FakeTime:
    def __init__(self) -> None:
        self.ns = 1_000

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: Fraction) -> None:
        self.ns -= (-seconds * NS).__floor__()  # rounded up: lands inside the frame, not before it


def make(rate: Fraction = Fraction(30), count: int = 300, *, loop: bool = True) -> tuple[PlaybackClock, FakeTime]:
    t = FakeTime()
    return PlaybackClock(rate, count, now=t, loop=loop), t


def test_plays_at_the_native_rate_exactly_for_ntsc_rates() -> None:
    rate = Fraction(30000, 1001)
    clock, t = make(rate, 100_000)
    clock.play()
    for n in (1, 29, 30, 1000, 54_000):
        t.ns = 1_000 - (-n * 1001 * NS // 30000)  # the first nanosecond of frame n
        assert clock.frame() == n
        t.ns -= 1
        assert clock.frame() == n - 1


def test_shuttle_steps_both_ways_and_k_stops() -> None:
    assert [shuttle_forward(s) for s in (-4, 0, 1, 2, 4, 8)] == [1, 1, 2, 4, 8, 8]
    assert [shuttle_reverse(s) for s in (4, 0, -1, -2, -4, -8)] == [-1, -1, -2, -4, -8, -8]
    clock, t = make()
    clock.seek(100)
    clock.shuttle_forward()
    clock.shuttle_forward()
    assert clock.speed == 2
    t.advance(Fraction(1))
    assert clock.frame() == 160
    clock.shuttle_reverse()
    assert clock.speed == -1
    t.advance(Fraction(1, 3))
    assert clock.frame() == 150
    clock.pause()  # K
    t.advance(Fraction(5))
    assert (clock.frame(), clock.playing) == (150, False)


def test_loop_wraps_inside_in_out_both_ways() -> None:
    clock, t = make()
    clock.set_in(10)
    clock.set_out(19)  # inclusive: 10 frames
    clock.play()
    assert clock.frame() == 10  # play from outside the range starts at the in point
    t.advance(Fraction(13, 30))
    assert clock.frame() == 13
    clock.play(-1)
    t.advance(Fraction(5, 30))
    assert clock.frame() == 18  # 13 → 12, 11, 10, 19, 18


def test_without_loop_playback_stops_on_the_out_frame() -> None:
    clock, t = make(loop=False)
    clock.set_in(5)
    clock.set_out(9)
    clock.play()
    t.advance(Fraction(10))
    assert (clock.frame(), clock.playing) == (9, False)
    clock.play()  # at the end: play again restarts from the in point
    assert clock.frame() == 5


def test_step_pauses_and_clamps_to_the_clip() -> None:
    clock, t = make(count=50)
    clock.play()
    t.advance(Fraction(1, 3))
    clock.step(1)
    assert (clock.frame(), clock.playing) == (11, False)
    clock.step(-100)
    assert clock.frame() == 0
    clock.step(500)
    assert clock.frame() == 49


def test_marks_keep_in_before_out() -> None:
    clock, _ = make()
    clock.set_out(20)
    clock.set_in(30)  # after the out point: the out point goes
    assert (clock.in_point, clock.out_point) == (30, None)
    assert clock.order() == PlayOrder(30, 300, True, 300)


def test_map_frame_between_rates() -> None:
    assert map_frame(48, Fraction(24), Fraction(24)) == 48
    assert map_frame(48, Fraction(24), Fraction(30)) == 60
    assert map_frame(1, Fraction(30), Fraction(24)) == 0


def test_play_order_rejects_an_empty_range() -> None:
    with pytest.raises(ValueError, match="inside"):
        PlayOrder(5, 5, True, 10)
