"""Vinyl mode offscreen: without an output device (this machine) it turns itself off with a sentence
and nothing else changes; with a stand-in for the missing sound card, frame steps, jog turns and
timeline scrubs play the clip's own samples (checked against the samples written into the file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import qasync
from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QToolButton
from pytestqt.qtbot import QtBot

from tests.core.media.test_audio import make_clip, pcm_stereo
from tests.ui.review.test_jog_dial import drag, jog_radius
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, window_for
from x121_desktop.ui.docks import PanelRegistry, WindowServices, default_panels
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.review.panel import ReviewPanel, review_panel_spec
from x121_desktop.ui.review.vinyl import FADE_SAMPLES, NO_OUTPUT, AudioOut, VinylScrubber, no_audio_message

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]

RATE = Fraction(24)
PER_FRAME = 2000  # 48 kHz / 24 fps


class RecordingOut:
    """Stands in for the sound card this machine does not have: keeps what would have been played."""

    def __init__(self) -> None:
        self.played: list[npt.NDArray[np.int16]] = []
        self.closed = False

    def play(self, pcm: bytes) -> None:
        self.played.append(np.frombuffer(pcm, dtype=np.int16).reshape(-1, 2))

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, npt.NDArray[np.int16]]:
    """A 3 s clip (24 fps) whose PCM stereo audio has its own tone on every frame, and those samples."""
    written = pcm_stereo(3.0, RATE)
    path = make_clip(tmp_path_factory.mktemp("vinyl") / "tone.mov", RATE, written, 48000, "pcm_s16le")
    return path, written


def frame_audio(written: npt.NDArray[np.int16], first: int, count: int = 1) -> npt.NDArray[np.int16]:
    return written[first * PER_FRAME : (first + count) * PER_FRAME]


def open_panel(qtbot: QtBot, paths: list[Path]) -> ReviewPanel:
    panel = ReviewPanel(rows=1, columns=1, prefer_gl=False)
    qtbot.addWidget(panel)
    panel.resize(720, 480)
    panel.show()
    qtbot.waitExposed(panel)
    panel.load(paths)
    qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
    return panel


@pytest.fixture
def recorded(qtbot: QtBot, sound: tuple[Path, npt.NDArray[np.int16]]) -> Iterator[tuple[ReviewPanel, RecordingOut]]:
    out = RecordingOut()

    def make(parent: QObject) -> AudioOut:
        return out

    panel = open_panel(qtbot, [sound[0]])
    panel.vinyl.make_output = make
    yield panel, out
    panel.close_player()
    assert out.closed


def next_grain(qtbot: QtBot, out: RecordingOut, count: int) -> npt.NDArray[np.int16]:
    qtbot.waitUntil(lambda: len(out.played) >= count, timeout=3000)
    return out.played[count - 1]


def note(panel: ReviewPanel) -> QLabel:
    label = panel.findChild(QLabel, "vinylNote")
    assert isinstance(label, QLabel)
    return label


def button(panel: ReviewPanel) -> QToolButton:
    tool = panel.findChild(QToolButton, "vinylButton")
    assert isinstance(tool, QToolButton)
    return tool


# ------------------------------------------------------------------ no device: off, with a sentence
def test_on_this_machine_vinyl_mode_says_why_it_cannot_play_or_plays(
    qtbot: QtBot, sound: tuple[Path, npt.NDArray[np.int16]]
) -> None:
    """The real device list: offscreen test machines have no output, so the toggle says so and stays
    off; where a device exists, the same toggle plays a step's grain through QAudioSink."""
    panel = open_panel(qtbot, [sound[0]])
    try:
        QTest.mouseClick(button(panel), Qt.MouseButton.LeftButton)  # as a person clicks ♪ Vinyl
        if not QMediaDevices.audioOutputs():
            assert not panel.vinyl.enabled
            assert not button(panel).isChecked()
            assert note(panel).text() == NO_OUTPUT
            assert note(panel).isVisibleTo(panel)
            panel.controller.step(5)  # the picture scrubs as before
            qtbot.waitUntil(lambda: panel.grid.cells[0].shown_index == 5, timeout=3000)
        else:  # pragma: no cover - only where the machine has a sound card
            assert panel.vinyl.enabled
            assert button(panel).isChecked()
            with qtbot.waitSignal(panel.vinyl.grain_played, timeout=3000):
                panel.controller.step(5)
            sink = panel.vinyl.output
            assert sink is not None
            assert getattr(sink, "written", 0) == PER_FRAME * 4
    finally:
        panel.close_player()


def test_no_output_device_turns_vinyl_off_with_one_sentence(qtbot: QtBot) -> None:
    vinyl = VinylScrubber(output=lambda parent: None)
    states: list[bool] = []
    said: list[str] = []
    vinyl.enabled_changed.connect(states.append)
    vinyl.message.connect(said.append)
    vinyl.toggle()
    vinyl.toggle()
    assert vinyl.enabled is False
    assert states == [False, False]
    assert said == [NO_OUTPUT, NO_OUTPUT]
    vinyl.close()


def test_a_clip_without_audio_turns_vinyl_off_with_its_name(qtbot: QtBot, clips: dict[str, Path]) -> None:
    panel = open_panel(qtbot, [clips["a"]])
    out = RecordingOut()
    panel.vinyl.make_output = lambda parent: out
    try:
        panel.vinyl.toggle()
        assert not panel.vinyl.enabled
        assert note(panel).text() == no_audio_message("a.mp4")
        panel.controller.step(3)
        qtbot.waitUntil(lambda: panel.grid.cells[0].shown_index == 3, timeout=3000)
        assert out.played == []
    finally:
        panel.close_player()


# ------------------------------------------------------------------ grains
def test_frame_steps_play_exactly_the_frames_sound(
    qtbot: QtBot, recorded: tuple[ReviewPanel, RecordingOut], sound: tuple[Path, npt.NDArray[np.int16]]
) -> None:
    panel, out = recorded
    written = sound[1]
    panel.vinyl.toggle()
    assert panel.vinyl.enabled
    assert button(panel).isChecked()
    assert not note(panel).isVisibleTo(panel)
    panel.controller.seek(10)  # a jump: the landing frame's sound
    np.testing.assert_array_equal(next_grain(qtbot, out, 1), frame_audio(written, 10))
    panel.controller.step(1)  # forward one: exactly frame 11's samples
    np.testing.assert_array_equal(next_grain(qtbot, out, 2), frame_audio(written, 11))
    panel.controller.step(-1)  # back one: frame 10 backwards (ramped at the ends)
    back = next_grain(qtbot, out, 3)
    inner = slice(FADE_SAMPLES + 1, PER_FRAME - FADE_SAMPLES - 1)
    np.testing.assert_array_equal(back[inner], frame_audio(written, 10)[::-1][inner])
    loudest = int(np.abs(frame_audio(written, 10).astype(int)).max())
    assert int(np.abs(back[0].astype(int)).max()) * 50 < loudest  # faded in: no click


def test_jog_turns_squeeze_the_frames_crossed_into_one_frame_of_sound(
    qtbot: QtBot, recorded: tuple[ReviewPanel, RecordingOut], sound: tuple[Path, npt.NDArray[np.int16]]
) -> None:
    panel, out = recorded
    written = sound[1]
    panel.vinyl.toggle()
    panel.controller.seek(20)
    next_grain(qtbot, out, 1)
    drag(panel.jog, jog_radius(panel.jog), [0, 47])  # 3 detents in one move: frames 21, 22, 23
    assert panel.controller.clock.frame() == 23
    grain = next_grain(qtbot, out, 2).astype(np.float64)
    crossed = frame_audio(written, 21, 3).astype(np.float64)
    where = np.linspace(0, len(crossed) - 1, PER_FRAME)  # three frames' sound in one frame's time
    expected = np.stack([np.interp(where, np.arange(len(crossed)), crossed[:, c]) for c in (0, 1)], axis=1)
    inner = slice(FADE_SAMPLES + 1, PER_FRAME - FADE_SAMPLES - 1)
    assert np.abs(grain[inner] - np.rint(expected[inner])).max() <= 1


def test_no_grains_while_playing_but_grains_while_scrubbing_the_timeline(
    qtbot: QtBot, recorded: tuple[ReviewPanel, RecordingOut], sound: tuple[Path, npt.NDArray[np.int16]]
) -> None:
    panel, out = recorded
    panel.vinyl.toggle()
    panel.controller.play()
    qtbot.waitUntil(lambda: panel.controller.clock.frame() >= 4, timeout=3000)
    qtbot.wait(50)
    assert out.played == []  # playback is not scrubbing
    timeline = panel.timeline
    scrubbed_to: list[int] = []
    timeline.scrub_requested.connect(scrubbed_to.append)
    x = int(timeline.x_of(40) + 1)
    QTest.mousePress(timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 10))
    grain = next_grain(qtbot, out, 1)
    # the scrub's frame (playback goes on while the mouse is down, so the playhead may be further now)
    assert scrubbed_to[0] in range(38, 43)
    np.testing.assert_array_equal(grain, frame_audio(sound[1], scrubbed_to[0]))
    QTest.mouseRelease(timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 10))
    panel.controller.stop()


def test_vinyl_follows_the_new_player_after_a_reload(
    qtbot: QtBot, recorded: tuple[ReviewPanel, RecordingOut], sound: tuple[Path, npt.NDArray[np.int16]]
) -> None:
    panel, out = recorded
    panel.vinyl.toggle()
    panel.load([sound[0]])
    qtbot.waitUntil(lambda: panel.controller.ready and panel.controller.clock.frame_count > 1, timeout=5000)
    panel.controller.seek(30)
    np.testing.assert_array_equal(next_grain(qtbot, out, 1), frame_audio(sound[1], 30))


# ------------------------------------------------------------------ the action in the studio window
def review_panels() -> PanelRegistry:
    panels = default_panels()
    panels.register(review_panel_spec())
    return panels


def review_window(qloop: qasync.QEventLoop, window: MainWindow) -> ReviewPanel:
    """The studio window (made with `review_panels()`) shown and started; its Review panel."""
    window.resize(1100, 700)
    window.show()
    run(qloop, window.start())
    review = window.panel("review", ReviewPanel)
    assert review is not None
    return review


def test_shift_s_in_the_window_toggles_vinyl_mode(
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: Callable[..., MainWindow],
    sound: tuple[Path, npt.NDArray[np.int16]],
) -> None:
    """review.vinyl_mode from the keymap (Shift+S), on the real window: its check mark follows what
    vinyl mode could do; here (no output device) it stays off and the panel says why."""
    review = review_window(qloop, window_for(services_as("reviewer"), panels=review_panels()))
    window = review.window()
    assert isinstance(window, MainWindow)
    try:
        action = window.qactions["review.vinyl_mode"]
        assert action.shortcut() == QKeySequence("Shift+S")
        assert action.isCheckable()
        assert not action.isEnabled()  # has_media: waits for clips
        review.load([sound[0]])
        assert action.isEnabled()
        assert action in review.actions()  # the timeline scope: live while focus is in the panel
        window.qactions["view.panel.review"].trigger()
        window.activateWindow()
        review.setFocus()
        QTest.keyClick(review, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)  # the key, as typed
        if not QMediaDevices.audioOutputs():
            assert not review.vinyl.enabled
            assert not action.isChecked()
            assert note(review).text() == NO_OUTPUT
        else:  # pragma: no cover - only where the machine has a sound card
            assert review.vinyl.enabled
            assert action.isChecked()
            QTest.keyClick(review, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)
            assert not action.isChecked()
    finally:
        review.close_player()
