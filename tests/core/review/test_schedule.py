"""The drop policy and the cache window, without Qt."""

from __future__ import annotations

from x121_desktop.core.review import CacheWindow, DisplayScheduler, wanted_frames
from x121_desktop.core.review.clock import PlayOrder

ORDER = PlayOrder(0, 100, True, 100)


def test_every_frame_in_time_means_no_drops() -> None:
    s = DisplayScheduler()
    shown = [s.decide(t, 1, ORDER, lambda _f: True) for t in range(10)]
    assert shown == list(range(10))
    assert (s.stats.dropped, s.stats.late_ticks) == (0, 0)


def test_a_late_frame_is_held_then_dropped_only_if_overtaken() -> None:
    s = DisplayScheduler()
    ready = {0, 1, 3, 4}
    assert s.decide(0, 1, ORDER, ready.__contains__) == 0
    assert s.decide(1, 1, ORDER, ready.__contains__) == 1
    assert s.decide(2, 1, ORDER, ready.__contains__) is None  # not decoded: keep frame 1
    assert s.stats.late_ticks == 1
    assert s.decide(3, 1, ORDER, ready.__contains__) == 3  # 2 never came in time: dropped
    assert s.stats.dropped == 1


def test_a_frame_ready_late_is_still_shown_if_the_clock_has_not_passed_it() -> None:
    s = DisplayScheduler()
    ready = {0, 1}
    s.decide(0, 1, ORDER, ready.__contains__)
    assert s.decide(2, 1, ORDER, ready.__contains__) == 1  # 1 is late but shown, 2 is not ready
    assert s.stats.dropped == 0
    assert s.stats.behind_max == 1


def test_drops_across_the_loop_seam_and_none_at_fast_shuttle() -> None:
    s = DisplayScheduler()
    s.decide(98, 1, ORDER, lambda _f: True)
    s.decide(1, 1, ORDER, lambda _f: True)  # 99 and 0 skipped
    assert s.stats.dropped == 2
    fast = DisplayScheduler()
    fast.decide(10, 4, ORDER, lambda _f: True)
    fast.decide(14, 4, ORDER, lambda _f: True)
    assert fast.stats.dropped == 0


def test_a_jump_counts_no_drops() -> None:
    s = DisplayScheduler()
    s.decide(10, 1, ORDER, lambda _f: True)
    s.reset()
    assert s.decide(70, 1, ORDER, lambda _f: True) == 70
    assert s.stats.dropped == 0


def test_cache_window_leans_forward_and_wraps_a_loop() -> None:
    order = PlayOrder(10, 20, True, 100)
    assert wanted_frames(18, 1, CacheWindow(ahead=4, behind=2), order) == (18, 19, 10, 11, 12, 17, 16)
    assert wanted_frames(11, -1, CacheWindow(ahead=3, behind=2), order) == (11, 10, 19, 18, 12, 13)
    once = PlayOrder(10, 20, False, 100)
    assert wanted_frames(18, 1, CacheWindow(ahead=4, behind=1), once) == (18, 19, 17)
    assert wanted_frames(0, 0, CacheWindow(ahead=2, behind=5), PlayOrder(0, 3, False, 3)) == (0, 1, 2)


def test_capacity_split() -> None:
    w = CacheWindow.for_capacity(91)
    assert (w.ahead, w.behind, w.capacity) == (60, 30, 91)
