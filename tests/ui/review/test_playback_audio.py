"""Sound during playback, offscreen, with a stand-in sound card that consumes at the wall clock's pace
(tests/ui/review/sound_card.py; the real QAudioSink on a PulseAudio null sink is test_playback_audio_device.py).

Checked independently of the player's own bookkeeping: each probe of what the card received is
found in the clip's written samples, and the instant the card plays it (its start + start-up time +
its place in the stream) is put on the player's clock; the two must agree within one frame."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import qasync
from PySide6.QtCore import QObject, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.core.media.test_audio import make_clip, pcm_stereo
from tests.ui.review.sound_card import ClockedOut
from tests.ui.review.test_vinyl import PER_FRAME, RATE, RecordingOut, next_grain, review_panels, review_window
from tests.ui.review.test_vinyl_focus import click
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.core.media.audio_sync import SampleSpan, clock_sample
from x121_desktop.ui.docks import WindowServices
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.playback_audio import NO_OUTPUT, NOT_OPENED, PRIME_MS, StreamOut, clock_anchor

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]

STARTUP_MS = 30
Sounds = dict[str, tuple[Path, npt.NDArray[np.int16]]]


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Sounds:
    """Three 3 s clips (24 fps, PCM): a tone per frame with a little noise (so that any 64 samples occur
    once in the clip), the same backwards, and shifted by seven frames."""
    root = tmp_path_factory.mktemp("playback-audio")
    noise = np.random.default_rng(121).integers(-300, 300, size=(144000, 2))
    tone = (pcm_stereo(3.0, RATE) + noise).astype(np.int16)
    out: Sounds = {}
    for name, samples in (("tone", tone), ("back", tone[::-1].copy()), ("late", np.roll(tone, 7 * PER_FRAME, axis=0))):
        out[name] = (make_clip(root / f"{name}.mov", RATE, samples, 48000, "pcm_s16le"), samples)
    return out


def open_panel(qtbot: QtBot, paths: list[Path], out: ClockedOut | None, shape: tuple[int, int] = (1, 1)) -> ReviewPanel:
    panel = ReviewPanel(rows=shape[0], columns=shape[1], prefer_gl=False)
    qtbot.addWidget(panel)

    def make(parent: QObject) -> StreamOut | None:
        return out

    panel.sound.make_output = make
    panel.resize(900, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.load(paths)
    qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
    return panel


def played(qtbot: QtBot, panel: ReviewPanel, ms: int, frame: int | None = None) -> tuple[int, int]:
    """Play at 1x (from `frame`) for `ms`, then pause; the clock's anchor while it played."""
    controller = panel.controller
    if frame is not None:
        controller.seek(frame)
    controller.play()
    anchor = clock_anchor(controller.clock)
    qtbot.wait(ms)
    controller.stop()
    return anchor


def where_in(clip: npt.NDArray[np.int16], window: npt.NDArray[np.int16]) -> int | None:
    """The one place of the clip whose samples are exactly `window` (None: silence, or not from this clip)."""
    if not window.any():
        return None
    view = np.lib.stride_tricks.sliding_window_view(clip[:, 0], len(window))
    hits = np.flatnonzero((view == window[:, 0]).all(axis=1))
    return int(hits[0]) if len(hits) == 1 else None


def heard_vs_clock(
    out: ClockedOut, clip: npt.NDArray[np.int16], anchor: tuple[int, int], span: SampleSpan
) -> list[tuple[int, int]]:
    """(clip sample the card played, clip sample the clock was at then) for probes every 50 ms of the stream."""
    got = out.samples()
    pairs = []
    for k in range(0, len(got) - 64, 2400):
        found = where_in(clip, got[k : k + 64])
        if found is not None:
            played_at = out.played_at(k)
            pairs.append((found, clock_sample(anchor[0], played_at - anchor[1], RATE, 48000, span)))
    return pairs


def test_playback_plays_the_clips_own_sound_in_step_with_the_clock(qtbot: QtBot, sounds: Sounds) -> None:
    path, written = sounds["tone"]
    out = ClockedOut(startup_ms=STARTUP_MS)
    panel = open_panel(qtbot, [path], out)
    try:
        anchor = played(qtbot, panel, 1300, frame=12)
        assert len(out.streams) == 1
        assert out.samples()[: PRIME_MS * 48].any() == False  # noqa: E712 - starts with the silent prime
        pairs = heard_vs_clock(out, written, anchor, SampleSpan(0, len(written), True))
        assert len(pairs) >= 15, "the card received the clip's sound"
        worst = max(abs(a - v) for a, v in pairs)
        print(
            f"probes {len(pairs)}, worst {worst / 48:.1f} ms, engine {panel.sound.drift.max_ms():.1f} ms "
            f"mean {panel.sound.drift.mean_ms():.1f} ms, corrections {panel.sound.drift.corrections}"
        )
        assert worst <= PER_FRAME, f"sound {worst / 48:.1f} ms off the picture"
        assert panel.sound.drift.count > 50
        assert panel.sound.drift.max_abs <= PER_FRAME
        # pause: silent at once, nothing more is written
        assert out.stops >= 1
        before = out.written
        qtbot.wait(100)
        assert out.written == before
    finally:
        panel.close_player()


def test_steps_other_speeds_and_reverse_are_silent(qtbot: QtBot, sounds: Sounds) -> None:
    out = ClockedOut()
    panel = open_panel(qtbot, [sounds["tone"][0]], out)
    try:
        controller = panel.controller
        for step in (1, 1, -1, 5):
            controller.step(step)
            qtbot.wait(30)
        controller.play(2)
        qtbot.wait(150)
        controller.play(-1)
        qtbot.wait(150)
        controller.stop()
        assert out.streams == []  # the card never started
        controller.play(1)
        qtbot.waitUntil(lambda: out.written > 4800, timeout=3000)
        controller.shuttle_forward()  # 2x: silenced at once
        assert not out._running
    finally:
        panel.close_player()


def test_an_in_out_loop_plays_only_its_range_and_wraps_with_the_picture(qtbot: QtBot, sounds: Sounds) -> None:
    path, written = sounds["tone"]
    out = ClockedOut(startup_ms=STARTUP_MS)
    panel = open_panel(qtbot, [path], out)
    try:
        controller = panel.controller
        controller.seek(10)
        controller.mark_in()
        controller.seek(19)
        controller.mark_out()
        controller.set_loop(True)
        anchor = played(qtbot, panel, 1200, frame=16)  # the range is 10 frames (417 ms): it wraps twice
        span = SampleSpan.of(10, 20, True, RATE, 48000)
        pairs = heard_vs_clock(out, written, anchor, span)
        assert len(pairs) >= 12
        assert all(span.start <= a < span.stop for a, _ in pairs)
        heard = [a for a, _ in pairs]
        assert sum(1 for x, y in itertools.pairwise(heard) if y < x) >= 2  # wrapped at the out point
        assert max(abs(span.ahead(a, v)) for a, v in pairs) <= PER_FRAME
    finally:
        panel.close_player()


def test_a_seek_while_playing_starts_the_sound_again_at_the_new_frame(qtbot: QtBot, sounds: Sounds) -> None:
    path, written = sounds["tone"]
    out = ClockedOut(startup_ms=STARTUP_MS)
    panel = open_panel(qtbot, [path], out)
    try:
        controller = panel.controller
        controller.play()
        qtbot.wait(300)
        controller.seek(40)
        anchor = clock_anchor(controller.clock)
        qtbot.wait(500)
        controller.stop()
        assert len(out.streams) == 2
        pairs = heard_vs_clock(out, written, anchor, SampleSpan(0, len(written), True))
        assert pairs
        assert pairs[0][0] >= 40 * PER_FRAME
        assert max(abs(a - v) for a, v in pairs) <= PER_FRAME
    finally:
        panel.close_player()


def test_one_audible_cell_marked_and_switched_by_key_or_click(qtbot: QtBot, sounds: Sounds) -> None:
    out = ClockedOut(startup_ms=STARTUP_MS)
    panel = open_panel(qtbot, [sounds[n][0] for n in ("tone", "back", "late")], out, shape=(2, 2))
    try:
        tone, back, late = panel.grid.cells
        assert [c.state.audio for c in (tone, back, late)] == ["♪ 100 %", "", ""]  # no cell chosen: the first
        handlers = panel.sound.handlers()
        handlers["review.audio.next_cell"]()
        assert [c.state.audio for c in (tone, back, late)] == ["", "♪ 100 %", ""]
        controller = panel.controller
        controller.play()
        anchor = clock_anchor(controller.clock)
        qtbot.wait(500)
        pairs = heard_vs_clock(out, sounds["back"][1], anchor, SampleSpan(0, 144000, True))
        assert len(pairs) >= 4  # the second cell's clip is what plays
        click(late)  # working in a cell moves the sound there, while playing
        assert [c.state.audio for c in (tone, back, late)] == ["", "", "♪ 100 %"]
        qtbot.waitUntil(lambda: len(out.streams) == 2 and out.written > 9600, timeout=3000)
        controller.stop()
        assert heard_vs_clock(out, sounds["late"][1], clock_anchor(controller.clock), SampleSpan(0, 144000, True))
        handlers["review.audio.next_cell"]()  # wraps to the first cell
        assert tone.state.audio == "♪ 100 %"
    finally:
        panel.close_player()


def test_volume_and_mute_reach_the_card_the_label_and_vinyl(qtbot: QtBot, sounds: Sounds) -> None:
    path, written = sounds["tone"]
    out = ClockedOut()
    panel = open_panel(qtbot, [path], out)
    grains = RecordingOut()
    panel.vinyl.make_output = lambda parent: grains
    try:
        sound, cell = panel.sound, panel.grid.cells[0]
        controls = panel.audio_controls
        sound.volume_down()
        sound.volume_down()
        assert (sound.volume, cell.state.audio, controls.button.text(), controls.slider.value()) == (
            0.8, "♪ 80 %", "♪ 80 %", 80,
        )  # fmt: skip
        panel.controller.play()
        qtbot.waitUntil(lambda: bool(out.volumes), timeout=3000)
        assert out.volumes[-1] == 0.8
        controls.button.click()  # mute
        muted = (sound.muted, out.volumes[-1], cell.state.audio, controls.button.isChecked())
        assert muted == (True, 0.0, "♪ muted", True)
        sound.volume_up()  # a volume key unmutes
        assert (sound.muted, out.volumes[-1]) == (False, 0.9)
        panel.controller.stop()
        panel.vinyl.toggle()
        panel.controller.seek(30)
        grain = next_grain(qtbot, grains, 1).astype(np.float64)
        expected = written[30 * PER_FRAME : 31 * PER_FRAME].astype(np.float64) * 0.9
        assert np.abs(grain - expected).max() <= 1  # vinyl grains at the same volume
    finally:
        panel.close_player()


def test_without_an_output_device_playback_says_so_once_and_plays_the_picture(qtbot: QtBot, sounds: Sounds) -> None:
    panel = open_panel(qtbot, [sounds["tone"][0]], None)
    said: list[str] = []
    panel.sound.message.connect(said.append)
    try:
        controller = panel.controller
        controller.play()
        qtbot.waitUntil(lambda: controller.clock.frame() >= 6, timeout=3000)
        controller.stop()
        controller.play()
        qtbot.wait(100)
        controller.stop()
        assert said == [NO_OUTPUT]
        assert panel.audio_controls.note.text() == NO_OUTPUT
        assert panel.audio_controls.note.isVisibleTo(panel)
        qtbot.waitUntil(lambda: panel.grid.cells[0].shown_index == controller.clock.frame(), timeout=3000)
    finally:
        panel.close_player()


def test_a_device_that_will_not_open_says_so_once(qtbot: QtBot, sounds: Sounds) -> None:
    out = ClockedOut()
    out.opens = False
    panel = open_panel(qtbot, [sounds["tone"][0]], out)
    said: list[str] = []
    panel.sound.message.connect(said.append)
    try:
        played(qtbot, panel, 150)
        played(qtbot, panel, 150)
        assert said == [NOT_OPENED]
        assert out.streams == []
        assert panel.controller.clock.frame() >= 4  # the picture played
    finally:
        panel.close_player()


def test_a_clip_without_audio_plays_silently_without_a_word(qtbot: QtBot, clips: dict[str, Path]) -> None:
    out = ClockedOut()
    panel = open_panel(qtbot, [clips["a"]], out)
    said: list[str] = []
    panel.sound.message.connect(said.append)
    try:
        panel.controller.play()
        qtbot.waitUntil(lambda: panel.controller.clock.frame() >= 6, timeout=3000)
        panel.controller.stop()
        assert out.streams == []
        assert said == []
        assert panel.grid.cells[0].state.audio == "♪ no audio track"
        assert not panel.audio_controls.note.isVisibleTo(panel)
    finally:
        panel.close_player()


def test_rates_other_than_the_clocks_keep_the_sound_on_the_clocks_time(qtbot: QtBot, sounds: Sounds) -> None:
    """A 24 fps clip in a player whose clock runs at another clip's 30 fps: the sound is timed, not framed."""
    from tests.media_factory import make_video

    other = make_video(sounds["tone"][0].parent / "thirty.mp4", 90, rate=30, size=(64, 48))
    path, written = sounds["tone"]
    out = ClockedOut(startup_ms=STARTUP_MS)
    panel = open_panel(qtbot, [other], out)  # the clock takes the rate of the clip that opens first
    try:
        panel.paths.append(path)
        panel.set_grid(1, 2)  # the tone opens in the new cell; the clock keeps 30 fps
        qtbot.waitUntil(lambda: panel.controller.ready and len(panel.controller.cells) == 2, timeout=5000)
        assert panel.controller.clock.rate == Fraction(30)
        panel.sound.handlers()["review.audio.next_cell"]()  # the first clip has no sound: pick the tone
        assert panel.audible.cell is panel.controller.cells[1]
        anchor = played(qtbot, panel, 700, frame=15)
        got = out.samples()
        offsets = []
        for k in range(0, len(got) - 64, 2400):
            found = where_in(written, got[k : k + 64])
            if found is not None:
                at = out.played_at(k)
                due = clock_sample(anchor[0], at - anchor[1], Fraction(30), 48000, SampleSpan(0, 1 << 40, False))
                offsets.append(abs(found - due))
        assert len(offsets) >= 6  # the tone clip's sound was heard
        assert max(offsets) <= PER_FRAME
    finally:
        panel.close_player()


def test_sound_keys_in_the_studio_window(
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: Callable[..., MainWindow],
    sounds: Sounds,
) -> None:
    """review.audio.* from the default keymap, typed into the real window's Review panel."""
    window = window_for(services_as("reviewer"), panels=review_panels())
    review = review_window(qloop, window)
    try:
        keys = {a: window.qactions[a].shortcut().toString() for a in ("review.audio.mute", "review.audio.volume_up",
                "review.audio.volume_down", "review.audio.next_cell")}  # fmt: skip
        assert keys == {"review.audio.mute": "Alt+M", "review.audio.volume_up": "Ctrl+Up",
                        "review.audio.volume_down": "Ctrl+Down", "review.audio.next_cell": "Alt+A"}  # fmt: skip
        assert not window.qactions["review.audio.mute"].isEnabled()  # has_media: waits for clips
        review.load([sounds["tone"][0], sounds["back"][0]])
        run(qloop, until(lambda: review.controller.ready and len(review.controller.cells) == 2, what="the clips"))
        window.qactions["view.panel.review"].trigger()
        window.activateWindow()
        review.setFocus()
        mute = window.qactions["review.audio.mute"]
        QTest.keyClick(review, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
        assert review.sound.muted
        assert mute.isChecked()
        QTest.keyClick(review, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
        assert not review.sound.muted
        assert not mute.isChecked()
        QTest.keyClick(review, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
        assert review.sound.volume == 0.9
        QTest.keyClick(review, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
        assert review.sound.volume == 1.0
        first, second = review.grid.cells
        assert (first.state.audio, second.state.audio) == ("♪ 100 %", "")
        QTest.keyClick(review, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
        assert (first.state.audio, second.state.audio) == ("", "♪ 100 %")
    finally:
        review.close_player()
