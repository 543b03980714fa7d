"""Playback audio for the review player: a clip's sound decoded ahead of the sound card, on a thread.

An `AudioFeed` decodes, on one thread of its own, the samples playback will need next: from a first
output sample on, through a `SampleSpan` (the in/out range; wrapping when it loops), in chunks, at
most `ahead` samples ahead of what was taken. The UI takes chunks (`take`) as the sound card has
room and says where to play from (`play`) or to stop (`stop`); each `play` starts a new generation
and drops what the old one decoded. No Qt here: `on_ready` is called from the worker thread.

Clips without an audio stream are not an error: `silent` becomes True and nothing is produced.
A file whose audio cannot be decoded sets `error` (its sentence) and produces nothing more.

    feed = AudioFeed(AudioFormat(48000, 2, "s16"))
    feed.play(path, first=48000, span=SampleSpan(0, 480000, loop=True))
    chunk = feed.take()        # AudioChunk(generation, first clip sample, samples) or None
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from x121_desktop.core.errors import X121Error
from x121_desktop.core.media.audio import AudioFormat, AudioReader, NoAudioTrack, Samples
from x121_desktop.core.media.audio_sync import SampleSpan

CHUNK = 2048
"""Samples decoded at a time (43 ms at 48 kHz)."""
AHEAD = 24000
"""Samples kept decoded ahead of what was taken (0.5 s at 48 kHz)."""


@dataclass(frozen=True, slots=True, eq=False)
class AudioChunk:
    """Consecutive clip samples from output sample `first` on, decoded for play `generation`."""

    generation: int
    first: int
    samples: Samples

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    def tail(self, skip: int) -> AudioChunk:
        """This chunk without its first `skip` samples."""
        return AudioChunk(self.generation, self.first + skip, self.samples[skip:])


@dataclass(frozen=True, slots=True)
class _Plan:
    path: Path
    position: int
    span: SampleSpan
    generation: int


class AudioFeed:
    """One clip's audio decoded ahead on a thread ("x121-review-audio", started by the first `play`);
    `close()` joins it."""

    def __init__(
        self,
        format: AudioFormat,
        *,
        chunk: int = CHUNK,
        ahead: int = AHEAD,
        on_ready: Callable[[], object] | None = None,
    ) -> None:
        self.format = format
        self._chunk, self._ahead = chunk, ahead
        self._on_ready = on_ready
        self._cond = threading.Condition()
        self._plan: _Plan | None = None
        self._queue: deque[AudioChunk] = deque()
        self._queued = 0
        self._generation = 0
        self._closed = False
        self._silent: set[Path] = set()
        self.error: str | None = None
        """Why the last clip's audio could not be decoded (a sentence), else None."""
        self._thread = threading.Thread(target=self._run, name="x121-review-audio", daemon=True)

    # ------------------------------------------------------------------ UI side
    def play(self, path: Path, first: int, span: SampleSpan) -> int:
        """Decode `path` from output sample `first` on through `span`; returns the new generation."""
        with self._cond:
            if self._closed:
                return self._generation
            if not self._thread.is_alive():  # started on the first play: a panel never played costs no thread
                self._thread.start()
            self._generation += 1
            self._queue.clear()
            self._queued = 0
            self.error = None
            self._plan = _Plan(Path(path), span.fold(first), span, self._generation)
            self._cond.notify_all()
            return self._generation

    def stop(self) -> None:
        """Decode nothing more until the next `play` (what was decoded is dropped)."""
        with self._cond:
            self._generation += 1
            self._plan = None
            self._queue.clear()
            self._queued = 0

    def take(self) -> AudioChunk | None:
        """The next decoded chunk of the current generation, or None (none ready, stopped or ended)."""
        with self._cond:
            if not self._queue:
                return None
            chunk = self._queue.popleft()
            self._queued -= len(chunk)
            self._cond.notify_all()
            return chunk

    def silent(self, path: Path) -> bool:
        """`path` turned out to have no audio track."""
        with self._cond:
            return Path(path) in self._silent

    @property
    def generation(self) -> int:
        return self._generation

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._plan = None
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ------------------------------------------------------------------ worker thread
    def _run(self) -> None:
        reader: AudioReader | None = None
        try:
            while True:
                with self._cond:
                    while not self._closed and (self._plan is None or self._queued >= self._ahead):
                        self._cond.wait()
                    if self._closed:
                        return
                    plan = self._plan
                assert plan is not None
                if reader is None or reader.path != plan.path:
                    if reader is not None:
                        reader.close()
                    reader = None
                    reader = self._open(plan)
                    if reader is None:
                        continue
                self._produce(reader, plan)
        finally:
            if reader is not None:
                reader.close()

    def _open(self, plan: _Plan) -> AudioReader | None:
        try:
            return AudioReader(plan.path, self.format)
        except NoAudioTrack:
            self._end(plan, silent=True)
        except X121Error as exc:
            self._end(plan, error=exc.sentence)
        return None

    def _produce(self, reader: AudioReader, plan: _Plan) -> None:
        span, at = plan.span, plan.position
        count = min(self._chunk, span.stop - at)
        if count <= 0:
            self._end(plan)
            return
        try:
            window = reader.samples(at, count)
        except X121Error as exc:
            self._end(plan, error=exc.sentence)
            return
        following = at + count
        if following >= span.stop and span.loop:
            following = span.start
        with self._cond:
            if self._plan is not plan:
                return  # re-planned while decoding
            self._queue.append(AudioChunk(plan.generation, at, window.samples))
            self._queued += count
            self._plan = _Plan(plan.path, following, span, plan.generation)
        if self._on_ready is not None:
            self._on_ready()

    def _end(self, plan: _Plan, *, silent: bool = False, error: str | None = None) -> None:
        with self._cond:
            if silent:
                self._silent.add(plan.path)
            if self._plan is plan:
                self._plan = None
                self.error = error
        if self._on_ready is not None:
            self._on_ready()
