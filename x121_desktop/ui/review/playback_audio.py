"""Sound during playback: the audible cell's clip (ui/review/audible.py) plays in sync with the clock.

The player's clock is master. While it runs at 1x forward, an `AudioFeed` (services/review_audio.py)
decodes the audible clip ahead on its own thread and this object feeds a sound card (QAudioSink,
push mode, s16 stereo 48 kHz: ui/review/sound_out.py) from the UI thread, keeping about `TARGET_MS` queued. Each write
checks where its first sample will be heard (the clock's sample now plus what is queued) against
the sample it carries: more than `TOLERANCE_MS` behind, the feed drops samples; ahead, it writes
silence, so the sound follows the picture through loops and the sound card's own pace. What the
card plays now (the sample at its consumed count, from the runs written: `core.media.audio_sync`)
against the clock is the measured drift (`drift`); past `RESYNC_MS` playback audio starts again
from the clock. A seek, a jump, another audible cell or clip start it again too; pause, frame steps
and speeds other than 1x (and reverse) silence it at once. New in/out points, a loop switch or a
new rate or frame count do not move the clock (it re-anchors on the exact instant it is at), so the
sound goes on: the card keeps what it holds and the feed decodes on along the new range from the
sample after it. Only where what the card already holds (about `TARGET_MS`) is no longer what comes
next (an out point set inside it, e.g. marking out at the playhead) does the sound start again.

Volume and mute apply to playback and to vinyl grains (review.audio.volume_up/down, mute). Where
no audio output device exists, playback audio turns itself off and says why in one sentence
(`message`) the first time it is wanted; clips without an audio track play silently, no error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from x121_desktop.core.media.audio_sync import DriftStats, RunLog, SampleSpan, clock_sample
from x121_desktop.core.review.clock import PlaybackClock
from x121_desktop.services.review_audio import AudioChunk, AudioFeed
from x121_desktop.ui.review.audible import AudibleCell
from x121_desktop.ui.review.player import PlayerCell, PlayerController
from x121_desktop.ui.review.sound_out import FORMAT, QtStreamOut, StreamOut, default_stream

__all__ = ["FORMAT", "NOT_OPENED", "NO_OUTPUT", "PRIME_MS", "PlaybackAudio", "QtStreamOut", "StreamOut", "clock_anchor"]

TARGET_MS = 200
"""Sound kept queued in the card: covers a UI thread stall this long."""
TOLERANCE_MS = 10
RESYNC_MS = 100
PUMP_MS = 10
PRIME_MS = 20
"""Silence written first after each (re)start: sound is written only once the card is consuming, so
its start-up time (tens of ms) does not put the first samples late."""
VOLUME_STEP = 0.1

NOT_OPENED = (
    "The audio output device would not open, so clips play without sound. "
    "Check the sound settings of this computer and press play again; the picture plays as before."
)
NO_OUTPUT = (
    "No audio output device was found, so clips play without sound. "
    "Connect speakers or headphones and press play again; the picture plays as before."
)


def clock_anchor(clock: PlaybackClock) -> tuple[int, int]:
    """(frame, monotonic ns) the running clock counts from."""
    return clock.anchor()


@dataclass(frozen=True, slots=True)
class _Playing:
    """What is heard: the cell and its clip, the clock's anchor and rate, and the in/out range in samples."""

    cell: PlayerCell
    path: Path
    anchor: tuple[int, int]
    rate: Fraction
    span: SampleSpan


class _Ready(QObject):
    chunk = Signal()  # from the decode thread, queued to the UI thread


class PlaybackAudio(QObject):
    """Emits `message(sentence)` when sound cannot play and `changed` when volume or mute change."""

    message = Signal(str)
    changed = Signal()

    def __init__(
        self,
        audible: AudibleCell,
        parent: QObject | None = None,
        *,
        output: Callable[[QObject], StreamOut | None] = default_stream,
        now: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        super().__init__(parent)
        self.audible = audible
        self.make_output = output
        self.now = now
        self.output: StreamOut | None = None
        self.volume = 1.0
        self.muted = False
        self.drift = DriftStats(FORMAT.sample_rate)
        self.runs = RunLog()
        self._said: set[str] = set()
        self._controller: PlayerController | None = None
        self._playing: _Playing | None = None
        self._pending: AudioChunk | None = None
        self._wrote_audio = False
        self._broken: set[PlayerCell] = set()  # cells whose audio could not be decoded (said once)
        self._generation = 0
        self._last_resync = 0
        self._ready = _Ready(self)
        self._ready.chunk.connect(self._pump, Qt.ConnectionType.QueuedConnection)
        self.feed = AudioFeed(FORMAT, on_ready=self._ready.chunk.emit)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PUMP_MS)
        self._timer.timeout.connect(self._pump)
        audible.changed.connect(self.sync)
        audible.mark = self.mark

    # ------------------------------------------------------------------ volume
    def set_volume(self, volume: float) -> None:
        self.volume = round(min(max(volume, 0.0), 1.0), 2)
        self._apply_volume()

    def volume_up(self) -> None:
        self.muted = False
        self.set_volume(self.volume + VOLUME_STEP)

    def volume_down(self) -> None:
        self.set_volume(self.volume - VOLUME_STEP)

    def toggle_mute(self) -> None:
        self.muted = not self.muted
        self._apply_volume()

    @property
    def level(self) -> float:
        """The gain sound goes out with (0 when muted)."""
        return 0.0 if self.muted else self.volume

    def gain(self) -> float:
        """`level`, as a callable for vinyl grains."""
        return self.level

    def _apply_volume(self) -> None:
        if self.output is not None:
            self.output.set_volume(self.level)
        self.audible.refresh_marks()
        self.changed.emit()

    def mark(self, cell: PlayerCell) -> str:
        """The audible cell's label mark: ♪ and the volume, muted, or that its clip has no sound."""
        info = cell.source.info
        if (info is not None and not info.has_audio) or self.feed.silent(cell.source.path):
            return "♪ no audio track"
        if cell in self._broken:
            return "♪ audio unreadable"
        return "♪ muted" if self.muted else f"♪ {round(self.volume * 100)} %"

    def handlers(self) -> dict[str, Callable[[], object]]:
        return {
            "review.audio.mute": self.toggle_mute,
            "review.audio.volume_up": self.volume_up,
            "review.audio.volume_down": self.volume_down,
            "review.audio.next_cell": self.audible.choose_next,
        }

    # ------------------------------------------------------------------ following the player
    def follow(self, controller: PlayerController) -> None:
        """Listen to this player (the panel makes a new one per load)."""
        self._halt()
        self._controller = controller
        controller.state_changed.connect(self.sync)
        controller.frame_changed.connect(self._frame_changed)
        self.sync()

    def _want(self) -> _Playing | None:
        """What should be heard while the clock plays 1x forward, else None."""
        controller, cell = self._controller, self.audible.cell
        if controller is None or cell is None or cell not in controller.cells or cell.source.info is None:
            return None
        clock = controller.clock
        silent = not cell.source.info.has_audio or self.feed.silent(cell.source.path) or cell in self._broken
        if clock.speed != 1 or silent:
            return None
        order = clock.order()
        span = SampleSpan.of(order.start, order.stop, order.loop, clock.rate, FORMAT.sample_rate)
        return _Playing(cell, cell.source.path, clock_anchor(clock), clock.rate, span)

    def sync(self) -> None:
        """Start, restart or stop the sound after anything that may change what should be heard."""
        want = self._want()
        if want == self._playing:
            return
        if want is None:
            self._halt()
            return
        if self.output is None:
            self.output = self.make_output(self)
            if self.output is None:
                self._playing = want  # asked once per play: say it once, then stay quiet
                self._say_once(NO_OUTPUT)
                return
            self.output.set_volume(self.level)
        if self._playing is not None and self._timer.isActive() and self._goes_on(self._playing, want):
            self._retarget(want)
            return
        self._start(want)

    def _goes_on(self, old: _Playing, new: _Playing) -> bool:
        """The same clip, the clock where it was (to a sample: re-anchored, not moved) and what the card
        holds still what comes next under the new range: the sound can go on without a restart."""
        if (old.cell, old.path) != (new.cell, new.path) or self.output is None:
            return False
        now, sr = self.now(), FORMAT.sample_rate
        before = clock_sample(old.anchor[0], now - old.anchor[1], old.rate, sr, old.span)
        after = clock_sample(new.anchor[0], now - new.anchor[1], new.rate, sr, new.span)
        if abs(after - before) > 1:
            return False
        held = self.output.queued() // FORMAT.bytes_per_sample
        return old.span == new.span or all(s.start <= after and after + held <= s.stop for s in (old.span, new.span))

    def _retarget(self, want: _Playing) -> None:
        """Go on playing: the card keeps what it holds; the feed decodes anew (a new generation) from the
        sample after that, along the new range."""
        assert self.output is not None
        self._playing = want
        self._pending = None
        held = self.output.queued() // FORMAT.bytes_per_sample
        first = want.span.advance(self.clock_sample(), held)
        self._generation = self.feed.play(want.path, first, want.span)

    def _say_once(self, sentence: str) -> None:
        if sentence not in self._said:
            self._said.add(sentence)
            self.message.emit(sentence)

    def _frame_changed(self, _frame: int) -> None:
        if self._playing is not None and self._controller is not None and self._controller.clock.speed != 1:
            self.sync()  # a non-looping end paused the clock without a transport call

    def _start(self, want: _Playing) -> None:
        self._playing = want
        self._pending = None
        self._wrote_audio = False
        out = self.output
        if out is None:
            return
        if not out.start():
            self._say_once(NOT_OPENED)
            self._halt()
            self._playing = want  # stay quiet until something changes
            return
        self.runs.clear()
        prime = out.write(bytes(PRIME_MS * FORMAT.sample_rate // 1000 * FORMAT.bytes_per_sample))
        self.runs.add(None, prime // FORMAT.bytes_per_sample)
        self._generation = self.feed.play(want.path, self.clock_sample(), want.span)
        self._last_resync = self.now()
        self._timer.start()

    def _halt(self) -> None:
        """Silence at once and decode nothing."""
        self._timer.stop()
        if self._playing is not None:
            self.feed.stop()
            if self.output is not None:
                self.output.stop()
        self._playing = None
        self._pending = None
        self.runs.clear()

    # ------------------------------------------------------------------ feeding the card
    def clock_sample(self) -> int:
        """The sample of the audible clip the clock is at now (exact; folded into the in/out range)."""
        controller = self._controller
        assert controller is not None
        clock = controller.clock
        frame, at = clock_anchor(clock)
        span = self._playing.span if self._playing is not None else SampleSpan(0, 1 << 62, False)
        return clock_sample(frame, self.now() - at, clock.rate, FORMAT.sample_rate, span)

    def _pump(self) -> None:
        out, playing = self.output, self._playing
        if playing is None or out is None or self._controller is None:
            return
        if self.feed.error is not None and self.feed.generation == self._generation:
            self._broken.add(playing.cell)  # its audio cannot be decoded: the picture plays on, without it
            self._say_once(self.feed.error)
        if self._want() != playing:  # paused, another speed, the clip turned out silent or broken, ...
            self.sync()
            self.audible.refresh_marks()
            return
        processed = out.processed()
        if processed == 0:
            return  # the card has not started: write nothing but the prime yet
        video = self.clock_sample()
        heard = self.runs.sample_at(processed)
        if heard is not None:
            drift = playing.span.ahead(heard, video)
            self.drift.add(drift)
            if abs(drift) * 1000 > RESYNC_MS * FORMAT.sample_rate and self.now() - self._last_resync > 500_000_000:
                self.drift.corrections += 1
                self._start(playing)
                return
        self._write(video, playing.span)

    def _write(self, video: int, span: SampleSpan) -> None:
        out = self.output
        assert out is not None
        per = FORMAT.bytes_per_sample
        steady = int(self._wrote_audio)  # the first write's trim (decoding took a moment) is no correction
        queued = out.queued() // per
        room = min(out.free() // per, TARGET_MS * FORMAT.sample_rate // 1000 - queued)
        while room > 0:
            chunk = self._pending or self.feed.take()
            self._pending = None
            if chunk is None or chunk.generation != self._generation:
                return
            want = span.advance(video, queued)  # the sample heard when this write starts playing
            gap = span.ahead(chunk.first, want)
            # the first sound after a start lands on the sample exactly; later writes leave jitter alone
            tolerance = TOLERANCE_MS * FORMAT.sample_rate // 1000 if self._wrote_audio else 0
            if gap < -tolerance:  # the sound is behind: skip to the picture
                skip = min(-gap, len(chunk))
                self.drift.corrections += steady
                if skip == len(chunk):
                    continue
                chunk = chunk.tail(skip)
            elif gap > tolerance:  # the sound is ahead: hold it back with silence
                hold = min(gap, room)
                self.drift.corrections += steady
                taken = out.write(bytes(hold * per)) // per
                self.runs.add(None, taken)
                queued, room = queued + taken, room - taken
                self._pending = chunk
                if taken < hold:
                    return
                continue
            n = min(len(chunk), room)
            taken = out.write(np.ascontiguousarray(chunk.samples[:n]).tobytes()) // per
            self.runs.add(chunk.first, taken)
            self._wrote_audio, steady = True, 1
            queued, room = queued + taken, room - taken
            if taken < len(chunk):
                self._pending = chunk.tail(taken)
                return

    def close(self) -> None:
        """Stop the sound card and the decode thread (joined)."""
        self._halt()
        self.feed.close()
        if self.output is not None:
            self.output.stop()
            self.output = None
