"""A stand-in for the sound card this machine does not have: it consumes what is written at the wall
clock's pace (48 kHz stereo s16), from `startup_ms` after each start, with a bounded buffer, and keeps
every sample written since the last start (`streams`) and when each of them played (`played_at`: an
empty buffer plays silence, and what is written after it plays from the time it is written)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

RATE = 48000
PER = 4  # bytes of one stereo s16 sample


class ClockedOut:
    def __init__(
        self, *, buffer_ms: int = 250, startup_ms: int = 0, now: Callable[[], int] = time.monotonic_ns
    ) -> None:
        self.now = now
        self.capacity = buffer_ms * RATE // 1000
        self.startup_ns = startup_ms * 1_000_000
        self.streams: list[bytearray] = []
        self.started: list[int] = []
        self.stops = 0
        self.volumes: list[float] = []
        self.opens = True
        """False: the device refuses to start (as a QAudioSink whose backend fails)."""
        self._consumed = 0
        self._last = 0
        self._running = False
        self._starved = False
        self.anchors: list[tuple[int, int]] = []

    # the StreamOut protocol
    def start(self) -> bool:
        if not self.opens:
            return False
        self.streams.append(bytearray())
        self.started.append(self.now())
        self._consumed, self._last, self._running = 0, self.now() + self.startup_ns, True
        self.anchors = [(0, self._last)]
        self._starved = False
        return True

    def write(self, pcm: bytes) -> int:
        if not self._running:
            return 0
        self._advance()
        if self._starved:  # it ran dry: what comes now plays from now
            self._starved = False
            self._last = max(self._last, self.now())
            self.anchors.append((self.written, self._last))
        n = min(len(pcm) // PER, self.free() // PER) * PER
        self.streams[-1] += pcm[:n]
        return n

    def played_at(self, k: int) -> int:
        """The monotonic ns at which sample `k` of the last stream played."""
        offset, at = max((a for a in self.anchors if a[0] <= k), key=lambda a: a[0])
        return at + (k - offset) * 1_000_000_000 // RATE

    def free(self) -> int:
        return (self.capacity - self.queued() // PER) * PER if self._running else 0

    def queued(self) -> int:
        self._advance()
        return (self.written - self._consumed) * PER if self._running else 0

    def processed(self) -> int:
        self._advance()
        return self._consumed

    def set_volume(self, volume: float) -> None:
        self.volumes.append(volume)

    def stop(self) -> None:
        self.stops += 1
        self._running = False

    # for the tests
    @property
    def written(self) -> int:
        return len(self.streams[-1]) // PER if self.streams else 0

    def samples(self, stream: int = -1) -> npt.NDArray[np.int16]:
        return np.frombuffer(bytes(self.streams[stream]), dtype=np.int16).reshape(-1, 2)

    def _advance(self) -> None:
        """Consume at the clock's pace; an empty buffer plays silence meanwhile (an underrun)."""
        if not self._running:
            return
        now = self.now()
        if now <= self._last:
            return
        due = (now - self._last) * RATE // 1_000_000_000
        if self._consumed + due > self.written:  # an underrun: the rest of the time plays silence
            self._starved = True
            due = self.written - self._consumed
        self._last += due * 1_000_000_000 // RATE
        self._consumed += due
