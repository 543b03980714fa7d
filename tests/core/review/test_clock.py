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


def frames_over(clocks: list[PlaybackClock], t: FakeTime, frames: int, per_frame: int = 7) -> list[list[int]]:
    """Each clock's frame at `per_frame` instants inside every one of the next `frames` frames (at 30 fps)."""
    seen: list[list[int]] = [[] for _ in clocks]
    for _ in range(frames * per_frame):
        t.advance(Fraction(1, 30 * per_frame))
        for got, clock in zip(seen, clocks, strict=True):
            got.append(clock.frame())
    return seen


def test_marks_loop_and_count_changes_while_playing_keep_the_exact_instant() -> None:
    """In/out, loop, clear and a new frame count, set mid-frame while playing, leave every later frame due
    at exactly the instant it was due before (the old re-anchor put the clock back on the frame's start, so
    the next frame came up to a whole frame late)."""
    clock, t = make()
    plain = PlaybackClock(Fraction(30), 300, now=t)
    clock.play()
    plain.play()
    changes = [
        clock.set_in,
        lambda: clock.set_out(250),
        lambda: setattr(clock, "loop", False),
        lambda: setattr(clock, "loop", True),
        clock.clear_in,
        lambda: clock.set_frame_count(300),
        clock.clear_out,
        lambda: clock.set_in(2),
    ]
    for change in changes:
        t.advance(Fraction(1, 30) * Fraction(3, 7))  # somewhere inside a frame
        change()
        assert clock.frame() == plain.frame()
        a, b = frames_over([clock, plain], t, 5)
        assert a == b
    assert clock.in_point == 2
    assert plain.frame() > 40


def test_the_frame_after_a_mark_comes_due_on_its_first_nanosecond() -> None:
    clock, t = make()
    clock.play()
    t.ns = 1_000 + 3 * NS // 30 + NS // 60  # half way through frame 3
    clock.set_in()
    assert (clock.frame(), clock.in_point) == (3, 3)
    t.ns = 1_000 - (-4 * NS // 30)  # the first nanosecond of frame 4
    assert clock.frame() == 4
    t.ns -= 1
    assert clock.frame() == 3


def test_marking_out_behind_the_playhead_goes_on_from_the_in_point() -> None:
    clock, t = make()
    clock.set_in(10)
    clock.seek(40)
    clock.play()
    t.advance(Fraction(1, 60))
    clock.set_out(20)  # playing past the new range: on from its start, as play() does
    assert clock.frame() == 10
    t.advance(Fraction(1, 30))
    assert clock.frame() == 11
    clock.pause()
    clock.clear_in()
    clock.clear_out()
    clock.seek(5)
    clock.play()
    clock.set_in(8)  # a range ahead of the playhead: playback runs on into it
    t.advance(Fraction(2, 30))
    assert clock.frame() == 7


def test_a_shuttle_step_the_same_way_keeps_the_part_of_the_frame_shown() -> None:
    clock, t = make()
    clock.play()
    t.advance(Fraction(1, 30) * Fraction(3, 4))  # three quarters into frame 0
    clock.shuttle_forward()  # 2x: the last quarter of frame 0 takes 1/240 s now
    assert clock.frame() == 0
    t.advance(Fraction(1, 240))
    assert clock.frame() == 1
    t.advance(Fraction(1, 60))
    assert clock.frame() == 2


@pytest.mark.parametrize("speed", [1, -1, 2])
def test_a_new_rate_keeps_the_time_and_the_part_of_the_frame_shown(speed: int) -> None:
    """24 → 30 fps while playing: from then on the frame due is the 30 fps frame of the same instant, as if
    the clock had counted at 30 fps all along; in/out points become the frames at the same instants."""
    clock, t = make(Fraction(24), 240)
    thirty = PlaybackClock(Fraction(30), 300, now=t)
    for c, start in ((clock, 120), (thirty, 150)):  # both at 5 s
        c.seek(start)
        c.play(speed)
    t.advance(Fraction(1, 7))
    clock.set_in(24)
    clock.set_out(215)
    clock.rate = Fraction(30)
    assert (clock.rate, clock.frame_count, clock.in_point, clock.out_point) == (Fraction(30), 300, 30, 269)
    assert clock.frame() == thirty.frame()
    a, b = frames_over([clock, thirty], t, 20)
    assert a == b


def test_a_new_rate_on_a_paused_clock_shows_the_frame_of_the_same_instant() -> None:
    clock, _ = make(Fraction(24), 240)
    clock.seek(47)  # 1.958 s: the 30 fps frame showing then is 58
    clock.rate = Fraction(30)
    assert (clock.frame(), clock.playing) == (58, False)


def test_rate_labels() -> None:
    from x121_desktop.core.review.clock import frames_covering, rate_label

    assert [rate_label(Fraction(r)) for r in (24, Fraction(30000, 1001), Fraction(24000, 1001), Fraction(25, 2))] == [
        "24 fps", "29.97 fps", "23.976 fps", "12.5 fps",
    ]  # fmt: skip
    assert frames_covering(90, Fraction(30), Fraction(24)) == 72
    assert frames_covering(48, Fraction(24), Fraction(30)) == 60
    assert frames_covering(1, Fraction(30), Fraction(24)) == 1
