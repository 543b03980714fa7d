"""Audio for a window of video frames, decoded with PyAV and resampled to one output format.

    with AudioReader(path, AudioFormat(48000, 2, "s16"), video_start=...) as audio:
        window = audio.frames(120, 1, Fraction(24000, 1001))   # the sound of frame 120
        sink.write(window.to_bytes())                          # interleaved s16 stereo 48 kHz
    window = read_audio_frames(path, 120, 1, Fraction(24))     # one-shot convenience

Time is integer samples on the output grid: output sample ``n`` plays ``n / sample_rate``
seconds after the video's first frame. Frame ``f`` at ``rate`` covers the samples
``[sample_of_frame(f), sample_of_frame(f + 1))`` where ``sample_of_frame(f)`` is the first sample
at or after the frame's start, ``ceil(f * sample_rate / rate)``: consecutive frames tile the
samples exactly, with no gap and no overlap, whatever the rates (30000/1001 fps at 48 kHz gives
windows of 1601 or 1602 samples).

Exactness: the samples returned for a window are the ones a plain decode of the whole stream,
resampled in one go to the same format, has at those indices (tests check this against an
independent decode). To get there the reader decodes a margin around the window, starts the
resampler at an input sample that lands exactly on an output sample (so its filter phase is the
whole-stream one), and drops the first frame the decoder gives after a seek (AAC's first frame
after a flush lacks its overlap). Codecs whose decoder keeps a random state across frames (AAC
perceptual noise substitution) decode the same positions with noise-level differences after a
seek; the positions stay exact.

Where samples come from: files whose audio timestamps are finer than one sample (MP4/MOV,
MPEG-TS, WAV) are read by seeking; files with coarser ones (Matroska/WebM: 1 ms) cannot place
a seek on a sample, so they are decoded forward from the start (a jump back re-opens the file and
decodes from the start: cheap for short review clips, ~0.15-0.4 s at the end of a 60 s AAC one).
A small buffer of recent input samples serves nearby requests (frame steps back and forth)
without decoding again.

Empty results, documented: a file with no audio stream raises `NoAudioTrack` (a MediaError
whose sentence says so); samples before the audio starts or after it ends are silence (zeros),
so a window always has exactly the samples asked for.

Not thread-safe: use one reader per thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from pathlib import Path
from types import TracebackType
from typing import Literal, Self, cast

import av
import av.audio.frame
import av.audio.stream
import av.container
import numpy as np
import numpy.typing as npt

from x121_desktop.core.errors import MediaError
from x121_desktop.core.media._open import AV_ERRORS, open_input, to_fraction, unreadable

SampleFormat = Literal["s16", "flt"]
Samples = npt.NDArray[np.int16] | npt.NDArray[np.float32]

_LAYOUTS = {1: "mono", 2: "stereo"}
_DTYPES: dict[str, type[np.generic]] = {"s16": np.int16, "flt": np.float32}
_MARGIN = 256
"""Input samples decoded on each side of a window: covers the resampler's filter (32 taps by default)."""
_PREROLL = 4096
"""Input samples decoded before a window after a seek (AAC frames are 1024; the first one is dropped)."""
_KEEP_SECONDS = 4
"""Input audio kept in the buffer for nearby requests."""
_AHEAD_SECONDS = 1
"""A request this far past the decoded audio decodes forward instead of seeking."""
_END = 1 << 62


class NoAudioTrack(MediaError):
    """The file has no audio stream (the documented empty result of the audio reader)."""


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """Interleaved PCM as a sound card takes it: `s16` (int16) or `flt` (float32), 1 or 2 channels."""

    sample_rate: int = 48000
    channels: int = 2
    sample_format: SampleFormat = "s16"

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.channels not in _LAYOUTS or self.sample_format not in _DTYPES:
            raise ValueError(f"unsupported audio output format {self}")

    @property
    def bytes_per_sample(self) -> int:
        """Bytes of one sample of all channels (one 'audio frame' in Qt's words)."""
        return self.channels * np.dtype(_DTYPES[self.sample_format]).itemsize


@dataclass(frozen=True, slots=True, eq=False)
class AudioWindow:
    """`samples` (n, channels) of `format`, the first at output sample `first_sample`."""

    format: AudioFormat
    first_sample: int
    samples: Samples

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    @property
    def stop_sample(self) -> int:
        return self.first_sample + len(self)

    def to_bytes(self) -> bytes:
        """Interleaved PCM (channel after channel for each sample), native byte order."""
        return np.ascontiguousarray(self.samples).tobytes()


def sample_of_frame(frame: int, rate: Fraction, sample_rate: int) -> int:
    """The first output sample at or after the start of video frame `frame`: ceil(frame * sample_rate / rate)."""
    rate = Fraction(rate)
    return -((-frame * sample_rate * rate.denominator) // rate.numerator)


def frame_samples(start: int, count: int, rate: Fraction, sample_rate: int) -> tuple[int, int]:
    """The output samples ``[first, stop)`` of video frames ``[start, start + count)``."""
    return sample_of_frame(start, rate, sample_rate), sample_of_frame(start + count, rate, sample_rate)


class AudioReader:
    """The first audio stream of a media file as `format` PCM, by output sample or by video frame.

    `video_start` (seconds, exact) is where frame 0 of the video begins; by default the start of
    the file's first video stream (0 when there is none). Raises NotFound, MediaError for an
    unreadable file, and NoAudioTrack for a file without audio.
    """

    def __init__(
        self, path: Path | str, format: AudioFormat | None = None, *, video_start: Fraction | None = None
    ) -> None:
        self.path = Path(path)
        self.format = format or AudioFormat()
        self._container, _ = open_input(self.path)
        try:
            if not self._container.streams.audio:
                raise NoAudioTrack(
                    f"{self.path.name} has no audio track",
                    "Audio scrubbing needs a clip with sound; the picture plays as before.",
                )
            self._stream: av.audio.stream.AudioStream = self._container.streams.audio[0]
            self.input_rate = int(self._stream.codec_context.sample_rate or self._stream.rate or 0)
            if self.input_rate <= 0:
                raise MediaError(f"{self.path.name} has an audio track without a sample rate", "Re-export the file.")
            self._tb = to_fraction(self._stream.time_base, Fraction(1, self.input_rate))
            self.seekable = self._tb * self.input_rate <= 1
            """Timestamps place each sample exactly, so windows are read by seeking (not decoding from the start)."""
            origin = video_start if video_start is not None else self._video_start()
            self._origin = round(origin * self.format.sample_rate)
        except BaseException:
            self._container.close()
            raise
        rate_in, rate_out = self.input_rate, self.format.sample_rate
        self._in_step = rate_in // gcd(rate_in, rate_out)  # input samples that land on an output sample
        self._out_step = rate_out // gcd(rate_in, rate_out)
        self._buf: npt.NDArray[np.generic] | None = None  # (n, channels), decoded input, native dtype
        self._buf_start = 0
        self._next: int | None = None  # input index the decoder produces next (None: must reposition)
        self._fmt = ""  # decoded sample format and layout name
        self._layout = ""
        self._decoder: Iterator[av.audio.frame.AudioFrame] = self._container.decode(self._stream)

    # ------------------------------------------------------------------ public
    def frames(self, start: int, count: int, rate: Fraction) -> AudioWindow:
        """The samples of video frames ``[start, start + count)`` at `rate` (see `frame_samples`)."""
        first, stop = frame_samples(start, count, rate, self.format.sample_rate)
        return self.samples(first, stop - first)

    def samples(self, first: int, count: int) -> AudioWindow:
        """Output samples ``[first, first + count)``; silence where the audio has none."""
        count = max(0, count)
        out = np.zeros((count, self.format.channels), dtype=_DTYPES[self.format.sample_format])
        if count:
            lo, hi = first + self._origin, first + self._origin + count  # on the file's absolute output grid
            got = self._resampled(lo, hi)
            if got is not None:
                data, at = got
                a, b = max(lo, at), min(hi, at + len(data))
                if a < b:
                    out[a - lo : b - lo] = data[a - at : b - at]
        return AudioWindow(self.format, first, out)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ resampling
    def _resampled(self, lo: int, hi: int) -> tuple[npt.NDArray[np.generic], int] | None:
        """Absolute output samples covering ``[lo, hi)`` (with what lies around), and the index of the first."""
        rate_in, rate_out = self.input_rate, self.format.sample_rate
        need_lo = lo * rate_in // rate_out - _MARGIN
        k0 = (need_lo // self._in_step) * self._in_step  # lands on output sample k0 * rate_out / rate_in
        k1 = -(-hi * rate_in // rate_out) + _MARGIN
        try:
            data, start = self._input(k0, k1)
        except AV_ERRORS as exc:
            self._next = None
            raise unreadable(self.path, exc) from exc
        if data is None:
            return None
        skip = -(-start // self._in_step) * self._in_step - start  # first aligned sample we hold
        data = data[skip:]
        start += skip
        if not len(data):
            return None
        frame = av.audio.frame.AudioFrame.from_ndarray(
            np.ascontiguousarray(data.T if av.AudioFormat(self._fmt).is_planar else data.reshape(1, -1)),
            format=self._fmt,
            layout=self._layout,
        )
        frame.sample_rate = rate_in
        resampler = av.AudioResampler(self.format.sample_format, _LAYOUTS[self.format.channels], rate_out)
        chunks = [f.to_ndarray().reshape(-1, self.format.channels) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1, self.format.channels) for f in resampler.resample(None)]
        if not chunks:
            return None
        return np.concatenate(chunks), start // self._in_step * self._out_step

    # ------------------------------------------------------------------ decoding
    def _input(self, k0: int, k1: int) -> tuple[npt.NDArray[np.generic] | None, int]:
        """Decoded input samples overlapping ``[k0, k1)`` (absolute input indices) and the index of the first."""
        k0 = max(k0, 0)
        rate_in = self.input_rate
        held = self._buf is not None and self._buf_start <= k0 and self._next is not None
        if not held or (self.seekable and self._next is not None and k0 > self._next + _AHEAD_SECONDS * rate_in):
            self._reposition(k0)
        while self._next is not None and self._next < k1 and self._decode_one(k0):
            pass
        if self._buf is None:
            return None, k0
        a = max(k0 - self._buf_start, 0)
        b = max(min(k1 - self._buf_start, len(self._buf)), a)
        return self._buf[a:b], self._buf_start + a

    def _reposition(self, k0: int) -> None:
        """Seek so that decoding next yields samples at or before `k0` (from the start where seeking can't)."""
        self._buf, self._next = None, None
        pre = _PREROLL
        while True:
            target = k0 - pre
            from_start = not self.seekable or target <= 0
            if from_start:  # reopen: a fresh demuxer reads the priming packets a seek to 0 skips (MP4 AAC)
                self._container.close()
                self._container, _ = open_input(self.path)
                self._stream = self._container.streams.audio[0]
            else:
                at = int(Fraction(target, self.input_rate) / self._tb)
                self._container.seek(at, stream=self._stream, backward=True)
            self._decoder = self._container.decode(self._stream)
            if not from_start:
                next(self._decoder, None)  # the first frame after a flush is missing its overlap
            if not self._decode_one(k0, first=True) or from_start or self._buf_start <= k0:
                return
            pre *= 4  # landed after the window: seek further back

    def _decode_one(self, k0: int, *, first: bool = False) -> bool:
        """Decode one frame into the buffer; False at the end of the stream."""
        frame = next(self._decoder, None)
        if frame is None:
            if self._buf is not None:
                self._next = _END  # the buffer holds the stream's last samples
            return False
        arr = frame.to_ndarray()
        channels = frame.layout.nb_channels
        data = arr.T if frame.format.is_planar else arr.reshape(-1, channels)
        self._fmt, self._layout = frame.format.name, frame.layout.name
        at = self._position(frame)
        if self._buf is None or first:
            self._buf, self._buf_start = data, at
        else:
            end = self._buf_start + len(self._buf)
            if at > end:  # a gap in the stream: silence
                data = np.concatenate([np.zeros((at - end, channels), dtype=data.dtype), data])
            elif at < end:  # overlapping timestamps: keep what we had
                data = data[end - at :]
            self._buf = np.concatenate([self._buf, data])
        self._next = self._buf_start + len(self._buf)
        keep = max(_KEEP_SECONDS * self.input_rate, self._next - k0 + _PREROLL)
        if len(self._buf) > keep:
            drop = len(self._buf) - keep
            self._buf, self._buf_start = self._buf[drop:], self._buf_start + drop
        return True

    def _position(self, frame: av.audio.frame.AudioFrame) -> int:
        """The absolute input index of the frame's first sample: from its timestamp when timestamps
        place samples exactly, otherwise counted on from the previous frame (Matroska's 1 ms)."""
        pts = frame.pts
        if self._buf is not None and (not self.seekable or pts is None):
            return self._buf_start + len(self._buf)
        if pts is None:
            return 0
        exact = round(pts * self._tb * self.input_rate)
        if self._buf is not None and abs(exact - (self._buf_start + len(self._buf))) <= 1:
            return self._buf_start + len(self._buf)
        return exact

    def _video_start(self) -> Fraction:
        video = self._container.streams.video
        if not video:
            return Fraction(0)
        stream = video[0]
        return to_fraction(stream.start_time or 0) * to_fraction(stream.time_base, Fraction(1, 1))


def scrub_grain(window: AudioWindow, *, reverse: bool = False, length: int | None = None, fade: int = 0) -> AudioWindow:
    """The sound a scrub makes over `window`: reversed when moving backwards, squeezed (or stretched)
    to `length` samples by linear interpolation, so crossing n frames in one frame's time plays n
    times faster and higher, as a record turned by hand; `fade` samples ramp in and out so grains
    do not click. `length=None` and `fade=0` keep the samples bit-exact."""
    data = window.samples[::-1] if reverse else window.samples
    n = len(data)
    length = n if length is None else max(0, length)
    if length == n and not fade:
        return AudioWindow(window.format, window.first_sample, cast("Samples", np.ascontiguousarray(data)))
    out = np.zeros((length, data.shape[1]), dtype=np.float64)
    if n and length:
        where = np.linspace(0, n - 1, length)
        for ch in range(data.shape[1]):
            out[:, ch] = np.interp(where, np.arange(n), data[:, ch].astype(np.float64))
    if fade and length:
        ramp = np.minimum(np.arange(length) + 1, np.arange(length, 0, -1)) / (fade + 1)
        out *= np.minimum(1.0, ramp)[:, None]
    if window.format.sample_format == "s16":
        return AudioWindow(window.format, window.first_sample, np.clip(np.rint(out), -32768, 32767).astype(np.int16))
    return AudioWindow(window.format, window.first_sample, out.astype(np.float32))


def read_audio_frames(
    path: Path | str, start: int, count: int, rate: Fraction, format: AudioFormat | None = None
) -> AudioWindow:
    """The sound of video frames ``[start, start + count)`` of `path` (opens and closes a reader)."""
    with AudioReader(path, format) as reader:
        return reader.frames(start, count, rate)
