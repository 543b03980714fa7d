"""In/out points, loop switches and a new clock rate set while playing: the picture goes on from the exact
instant the clock was at (no frame shown late or twice) and the sound goes on without a restart, unless
what the sound card already holds has become wrong (an out point set inside it)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.ui.review.sound_card import ClockedOut
from tests.ui.review.test_playback_audio import STARTUP_MS, Sounds, heard_vs_clock, open_panel, sounds
from tests.ui.review.test_player import FakeTime, one_view, wait_shown
from tests.ui.review.test_vinyl import PER_FRAME
from x121_desktop.core.media.audio_sync import SampleSpan
from x121_desktop.ui.review.playback_audio import clock_anchor

__all__ = ["sounds"]

NS = 10**9


def test_marks_and_loop_while_playing_keep_the_next_frame_on_time(qtbot: QtBot, clips: dict[str, Path]) -> None:
    """At 30 fps, each change lands half way through a frame; the next frame must still come up on its
    first nanosecond (the old re-anchor held the picture back half a frame each time)."""
    now = FakeTime()
    controller, view = one_view(qtbot, clips["a"], now)
    try:
        controller.play()
        changes = [controller.mark_in, lambda: controller.set_loop(False), controller.clear_in_out,
                   lambda: controller.set_loop(True), controller.mark_in, controller.mark_out]  # fmt: skip
        for n, change in enumerate(changes):
            frame = 3 + 4 * n
            now.ns = frame * NS // 30 + NS // 60  # half way through `frame`
            change()
            assert controller.clock.frame() == frame
            wait_shown(qtbot, view, frame)
            now.ns = -(-(frame + 1) * NS // 30) - 1  # the last nanosecond of `frame`
            assert controller.clock.frame() == frame
            now.ns += 1  # the next frame's first: the out point set on `frame` wraps to the in point (19)
            nxt = 19 if change == controller.mark_out else frame + 1
            assert controller.clock.frame() == nxt
            wait_shown(qtbot, view, nxt)
        assert (controller.clock.in_point, controller.clock.out_point) == (19, 23)
    finally:
        controller.close()


def test_the_sound_goes_on_through_marks_loop_switches_and_a_new_rate(qtbot: QtBot, sounds: Sounds) -> None:
    path, samples = sounds["tone"]
    out = ClockedOut(startup_ms=STARTUP_MS)
    panel = open_panel(qtbot, [path], out)
    try:
        controller = panel.controller
        controller.seek(6)
        controller.play()
        anchor = clock_anchor(controller.clock)
        for change in (controller.mark_in, lambda: controller.set_loop(False), lambda: controller.set_loop(True),
                       controller.clear_in_out, lambda: panel.set_timeline_rate(Fraction(25))):  # fmt: skip
            qtbot.wait(180)
            change()
        qtbot.waitUntil(lambda: controller.clock.rate == Fraction(25), timeout=2000)
        qtbot.wait(250)
        controller.stop()
        assert len(out.streams) == 1, "the sound started again"
        # The clock kept its time through the changes (the new rate too), so the anchor it had when it
        # started still says where it is: every probe of what the card played is on the picture.
        pairs = heard_vs_clock(out, samples, anchor, SampleSpan(0, len(samples), True))
        assert len(pairs) >= 20
        worst = max(abs(a - v) for a, v in pairs)
        assert worst <= PER_FRAME, f"sound {worst / 48:.1f} ms off the picture"
        steady = sum(1 for (a, _), (b, _) in itertools.pairwise(pairs) if b - a == 2400)
        assert steady >= 0.8 * (len(pairs) - 1), "the sound skipped or paused"  # probes 50 ms apart
    finally:
        panel.close_player()


def test_an_out_point_inside_what_the_card_holds_starts_the_sound_again_on_the_loop(
    qtbot: QtBot, sounds: Sounds
) -> None:
    """Marking out at the playhead: the card holds ~200 ms past the new out point, which must not be heard,
    so the sound starts again once; it then wraps with the picture."""
    path, samples = sounds["tone"]
    out = ClockedOut(startup_ms=STARTUP_MS)
    panel = open_panel(qtbot, [path], out)
    try:
        controller = panel.controller
        controller.seek(10)
        controller.mark_in()
        controller.play()
        qtbot.waitUntil(lambda: controller.clock.frame() >= 19, timeout=3000)
        controller.mark_out()
        out_frame = controller.clock.out_point
        assert out_frame is not None
        anchor = clock_anchor(controller.clock)
        qtbot.wait(900)
        controller.stop()
        assert len(out.streams) == 2
        span = SampleSpan.of(10, out_frame + 1, True, Fraction(24), 48000)
        pairs = heard_vs_clock(out, samples, anchor, span)
        assert len(pairs) >= 10
        assert all(span.start <= a < span.stop for a, _ in pairs)
        assert max(abs(span.ahead(a, v)) for a, v in pairs) <= PER_FRAME
    finally:
        panel.close_player()
