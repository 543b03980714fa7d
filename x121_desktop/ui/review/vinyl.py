"""Vinyl mode: hear the clip's sound while scrubbing the timeline, turning the jog wheel or stepping.

Each time the paused playhead moves (a frame step, a jog detent, a scrub on the timeline; also
while the timeline is scrubbed during playback) one short grain plays: the audio of the frames
the playhead crossed, reversed when it moved backwards and squeezed into one frame's time, so a
fast scrub sounds fast and high, a step forward plays exactly the new frame's sound and a step
back plays it backwards. Grains are
decoded by `core.media.audio` on one worker thread (only the newest request is kept while one is
decoding) and played through QtMultimedia (QAudioSink, push mode, s16 stereo 48 kHz).

The sound comes from the audible cell (ui/review/audible.py: the cell the reviewer works in, never
the pinned reference unless picked with review.audio.next_cell), at the panel's volume (`gain`).
Its frame for the clock frame is that cell's own (`PlayerCell.target`). Where there is no audio
output device, or that clip has no audio track, vinyl mode turns itself off and says why in one
sentence (`message`); nothing else changes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import QIODevice, QObject, Qt, Signal
from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices, QtAudio
from PySide6.QtWidgets import QLabel, QToolButton, QWidget

from x121_desktop.core.errors import X121Error
from x121_desktop.core.media.audio import AudioFormat, AudioReader, AudioWindow, scrub_grain
from x121_desktop.ui.review.audible import AudibleCell
from x121_desktop.ui.review.player import PlayerCell, PlayerController

FORMAT = AudioFormat(48000, 2, "s16")
MAX_GRAIN_FRAMES = 6
"""A move of more frames than this plays the landing frame alone (a jump, not a scrub)."""
FADE_SAMPLES = 96
"""2 ms ramps at each end of a squeezed grain, so grains do not click."""

NO_OUTPUT = (
    "No audio output device was found, so vinyl mode (sound while you scrub) is off. "
    "Connect speakers or headphones and turn it on again; the picture scrubs as before."
)


def no_audio_message(name: str) -> str:
    return f"{name} has no audio track, so vinyl mode has nothing to play for it; the picture scrubs as before."


class AudioOut(Protocol):
    """Where grains go: a sound card (QtAudioOut) or, in tests, anything with these two methods."""

    def play(self, pcm: bytes) -> None: ...

    def close(self) -> None: ...


class QtAudioOut:
    """A QAudioSink on the default output device, fed in push mode; a new grain cuts the old one short."""

    def __init__(self, parent: QObject) -> None:
        device = QMediaDevices.defaultAudioOutput()
        fmt = QAudioFormat()
        fmt.setSampleRate(FORMAT.sample_rate)
        fmt.setChannelCount(FORMAT.channels)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            fmt = device.preferredFormat()  # pragma: no cover - every backend takes s16 stereo 48 kHz
        self.sink = QAudioSink(device, fmt, parent)
        self.sink.setBufferSize(fmt.bytesForDuration(250_000))
        self._io: QIODevice | None = None
        self.written = 0

    def play(self, pcm: bytes) -> None:
        queued = self.sink.bufferSize() - self.sink.bytesFree()
        if self._io is None or self.sink.state() == QtAudio.State.StoppedState or queued > len(pcm):
            self.sink.reset()
            self._io = self.sink.start()
        if self._io is not None:
            self.written += int(self._io.write(pcm))

    def close(self) -> None:
        self.sink.stop()


def default_output(parent: QObject) -> AudioOut | None:
    """The default sound card, or None where the machine has no audio output device."""
    if not QMediaDevices.audioOutputs() or QMediaDevices.defaultAudioOutput().isNull():
        return None
    return QtAudioOut(parent)


def scaled(window: AudioWindow, gain: float) -> AudioWindow:
    """`window` at `gain` (1.0: the same samples)."""
    if gain >= 1.0:
        return window
    quiet = np.rint(window.samples.astype(np.float32) * np.float32(gain))
    if window.format.sample_format == "s16":
        return AudioWindow(window.format, window.first_sample, quiet.astype(np.int16))
    return AudioWindow(window.format, window.first_sample, (window.samples * np.float32(gain)).astype(np.float32))


@dataclass(frozen=True, slots=True)
class GrainRequest:
    path: Path
    rate: Fraction
    frame: int
    previous: int | None


class _Delivery(QObject):
    grain = Signal(object)  # AudioWindow, queued to the GUI thread
    failed = Signal(str)


class VinylScrubber(QObject):
    """`enabled`: vinyl mode is on and can play. `message(sentence)` when it cannot; `grain_played(window)`."""

    enabled_changed = Signal(bool)
    message = Signal(str)
    grain_played = Signal(object)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        output: Callable[[QObject], AudioOut | None] = default_output,
        audible: AudibleCell | None = None,
    ) -> None:
        super().__init__(parent)
        self.make_output = output
        self.output: AudioOut | None = None
        self.enabled = False
        self.gain: Callable[[], float] = lambda: 1.0
        """The level grains play at (the panel's volume; 0 when muted)."""
        self._controller: PlayerController | None = None
        self.audible = audible if audible is not None else AudibleCell(self)
        self.audible.changed.connect(self._pick_source)
        self.cell: PlayerCell | None = None
        """The cell whose clip vinyl mode plays."""
        self._silent: Path | None = None  # the clip known to have no audio
        self.last_frame: int | None = None
        self._scrubbing = False
        self._pool: ThreadPoolExecutor | None = None
        self._busy: Future[None] | None = None
        self._pending: GrainRequest | None = None
        self._reader: AudioReader | None = None  # used on the worker thread only
        self._lock = threading.Lock()
        self._delivery = _Delivery(self)
        self._delivery.grain.connect(self._play, Qt.ConnectionType.QueuedConnection)
        self._delivery.failed.connect(self._failed, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------------ on / off
    def toggle(self) -> None:
        self.set_enabled(not self.enabled)

    def set_enabled(self, on: bool) -> None:
        """Turn vinyl mode on (if a device and an audible clip allow it) or off."""
        if on and self.output is None:
            self.output = self.make_output(self)
            if self.output is None:
                self._set(False, NO_OUTPUT)
                return
        if on and self._silent is not None and self.cell is not None and self._silent == self.cell.source.path:
            self._set(False, no_audio_message(self._silent.name))
            return
        self._set(on, "")

    def _set(self, on: bool, sentence: str) -> None:
        changed = on != self.enabled
        self.enabled = on
        if not on:
            self._pending = None
        if sentence:
            self.message.emit(sentence)
        if changed or sentence:
            self.enabled_changed.emit(on)

    # ------------------------------------------------------------------ following the player
    def follow(self, controller: PlayerController) -> None:
        """Listen to this player (the panel makes a new one per load); the sound comes from the
        audible cell (which the panel points at the same player)."""
        self._controller = controller
        self.cell, self.last_frame = None, None
        controller.frame_changed.connect(self._frame_changed)
        self._pick_source()

    def set_scrubbing(self, scrubbing: bool) -> None:
        """The timeline is being scrubbed: grains play even while the player runs."""
        self._scrubbing = scrubbing

    def _pick_source(self) -> None:
        cell, controller = self.audible.cell, self._controller
        if cell is None or cell is self.cell or cell.source.info is None or controller is None:
            return
        info = cell.source.info
        self.last_frame = cell.target(controller.clock.frame(), controller.clock.rate)  # the next move is heard
        self.cell = cell
        self._silent = None if info.has_audio else cell.source.path
        if not info.has_audio and self.enabled:
            self._set(False, no_audio_message(info.path.name))

    def _frame_changed(self, clock_frame: int) -> None:
        controller, cell = self._controller, self.cell
        if controller is None or cell is None or cell not in controller.cells or cell.source.info is None:
            return
        frame = cell.target(clock_frame, controller.clock.rate)
        previous, self.last_frame = self.last_frame, frame
        # The clip's own frame did not move (its first frame appearing, or a clock step within one of
        # its frames): no sound.
        moved = previous is not None and frame != previous
        if self.enabled and moved and (controller.clock.speed == 0 or self._scrubbing):
            self.request(GrainRequest(cell.source.path, cell.source.info.rate, frame, previous))

    # ------------------------------------------------------------------ decoding (worker) and playing (GUI)
    def request(self, req: GrainRequest) -> None:
        """Decode and play the grain for a move; while one decodes only the newest request waits."""
        if self._busy is not None and not self._busy.done():
            self._pending = req
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="x121-review-vinyl")
        self._busy = self._pool.submit(self._decode, req)

    def _decode(self, req: GrainRequest) -> None:
        try:
            with self._lock:
                window = self._grain(req)
        except X121Error as exc:
            self._delivery.failed.emit(exc.sentence)
            return
        self._delivery.grain.emit(window)

    def _grain(self, req: GrainRequest) -> AudioWindow:
        if self._reader is None or self._reader.path != req.path:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            self._reader = AudioReader(req.path, FORMAT)
        reader = self._reader
        one = reader.frames(req.frame, 1, req.rate)
        moved = 0 if req.previous is None else req.frame - req.previous
        if moved in (0, 1) or abs(moved) > MAX_GRAIN_FRAMES:
            return one  # a single step (or a jump) plays the landing frame's own sound, bit-exact
        if moved > 0:
            crossed = reader.frames(req.previous + 1 if req.previous is not None else req.frame, moved, req.rate)
        else:
            crossed = reader.frames(req.frame, -moved, req.rate)
        return scrub_grain(crossed, reverse=moved < 0, length=len(one), fade=FADE_SAMPLES)

    def _play(self, window: object) -> None:
        if isinstance(window, AudioWindow) and self.enabled and self.output is not None:
            self.output.play(scaled(window, self.gain()).to_bytes())
            self.grain_played.emit(window)
        self._next()

    def _failed(self, sentence: str) -> None:
        if self.cell is not None:
            self._silent = self.cell.source.path
        self._set(False, sentence)
        self._next()

    def _next(self) -> None:
        req, self._pending = self._pending, None
        if req is not None and self.enabled:
            self.request(req)

    def close(self) -> None:
        """Stop the worker (joined) and the sound card."""
        self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        if self.output is not None:
            with contextlib.suppress(RuntimeError):  # the sink may already be gone with its parent
                self.output.close()
            self.output = None
        self.enabled = False


class VinylToggle(QToolButton):
    """The transport's ♪ Vinyl button; `note` (a label for the panel to place on a line of its own)
    says in a sentence why vinyl mode is off when it cannot run."""

    def __init__(self, vinyl: VinylScrubber, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vinylButton")
        self.setText("♪ Vinyl")
        self.setCheckable(True)
        self.setToolTip("Vinyl mode: hear the clip while you scrub, turn the jog wheel or step frames")
        self.setAccessibleName("Vinyl mode")
        self.note = QLabel(parent)
        self.note.setObjectName("vinylNote")
        self.note.setWordWrap(True)
        self.note.hide()
        self.clicked.connect(lambda _checked=False: vinyl.toggle())
        vinyl.enabled_changed.connect(self._enabled)
        vinyl.message.connect(self._say)

    def _enabled(self, on: bool) -> None:
        self.setChecked(on)
        if on:
            self.note.hide()

    def _say(self, sentence: str) -> None:
        self.note.setText(sentence)
        self.note.setVisible(bool(sentence))
