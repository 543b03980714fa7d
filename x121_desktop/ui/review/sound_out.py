"""The sound card playback audio feeds (ui/review/playback_audio.py): the default output device through a
QAudioSink in push mode (s16 stereo 48 kHz), behind a small protocol a test can stand in for."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QIODevice, QObject
from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

from x121_desktop.core.media.audio import AudioFormat

FORMAT = AudioFormat(48000, 2, "s16")
BUFFER_MS = 300


class StreamOut(Protocol):
    """A sound card fed in push mode: a QAudioSink (QtStreamOut) or, in tests, a stand-in."""

    def start(self) -> bool:
        """(Re)start: what was queued is dropped and the consumed count restarts at 0. False: the
        device would not open."""

    def write(self, pcm: bytes) -> int: ...

    def free(self) -> int:
        """Bytes that can be written now."""

    def queued(self) -> int:
        """Bytes written and not yet consumed."""

    def processed(self) -> int:
        """Samples consumed since `start`."""

    def set_volume(self, volume: float) -> None: ...

    def stop(self) -> None: ...


class QtStreamOut:
    """The default output device through a QAudioSink."""

    def __init__(self, parent: QObject) -> None:
        fmt = QAudioFormat()
        fmt.setSampleRate(FORMAT.sample_rate)
        fmt.setChannelCount(FORMAT.channels)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self.sink = QAudioSink(QMediaDevices.defaultAudioOutput(), fmt, parent)
        self.sink.setBufferSize(fmt.bytesForDuration(BUFFER_MS * 1000))
        self._io: QIODevice | None = None

    def start(self) -> bool:
        self.sink.reset()
        self._io = self.sink.start()
        return self._io is not None

    def write(self, pcm: bytes) -> int:
        return 0 if self._io is None else int(self._io.write(pcm))

    def free(self) -> int:
        return 0 if self._io is None else int(self.sink.bytesFree())

    def queued(self) -> int:
        return 0 if self._io is None else int(self.sink.bufferSize() - self.sink.bytesFree())

    def processed(self) -> int:
        return int(self.sink.processedUSecs()) * FORMAT.sample_rate // 1_000_000

    def set_volume(self, volume: float) -> None:
        self.sink.setVolume(volume)

    def stop(self) -> None:
        self._io = None
        self.sink.reset()


def default_stream(parent: QObject) -> StreamOut | None:
    """The default sound card, or None where the machine has no audio output device."""
    if not QMediaDevices.audioOutputs() or QMediaDevices.defaultAudioOutput().isNull():
        return None
    return QtStreamOut(parent)
