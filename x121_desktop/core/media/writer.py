"""Encoding: delivery, review proxy and lossless intermediates, always written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping, Sized
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import av.container
import av.video.frame
import av.video.stream
import numpy as np
import numpy.typing as npt

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import MediaError
from x121_desktop.core.media._open import AV_ERRORS

Frame = npt.NDArray[np.uint8]
AVFrame = av.video.frame.VideoFrame

# Suffix → muxer. Only these are written; others are refused with the list.
_MUXERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
_MP4_LIKE = {".mp4", ".mov"}


@dataclass(frozen=True, slots=True)
class EncodeProfile:
    """How to encode. `gop_seconds` None keeps the encoder's default keyframe interval.

    `even_size`: the pixel format subsamples chroma, so odd widths/heights are padded by one
    row/column (edge pixels repeated) — see WriteResult.padded.
    """

    name: str
    codec: str
    pix_fmt: str
    options: tuple[tuple[str, str], ...]
    gop_seconds: Fraction | None
    max_b_frames: int | None
    even_size: bool
    suffixes: tuple[str, ...]

    def gop_for(self, rate: Fraction) -> int | None:
        return None if self.gop_seconds is None else max(1, round(rate * self.gop_seconds))


DELIVERY = EncodeProfile(
    "delivery", "libx264", "yuv420p", (("crf", "18"), ("preset", "medium")), None, None, True,
    (".mp4", ".mov", ".mkv"),
)  # fmt: skip
PROXY = EncodeProfile(
    "proxy", "libx264", "yuv420p", (("crf", "23"), ("preset", "veryfast")), Fraction(1), 0, True,
    (".mp4", ".mov", ".mkv"),
)  # fmt: skip
INTERMEDIATE = EncodeProfile(
    "intermediate", "libx264", "yuv444p", (("qp", "0"), ("preset", "veryfast")), Fraction(1), 0, False,
    (".mkv", ".mp4", ".mov"),
)  # fmt: skip
LOSSLESS = EncodeProfile(
    "lossless", "ffv1", "bgr0", (("level", "3"), ("slicecrc", "1")), Fraction(1), None, False, (".mkv",),
)  # fmt: skip
PROFILES: Mapping[str, EncodeProfile] = {p.name: p for p in (DELIVERY, PROXY, INTERMEDIATE, LOSSLESS)}


@dataclass(frozen=True, slots=True)
class WriteResult:
    path: Path
    profile: str
    frame_count: int
    rate: Fraction
    width: int
    height: int
    padded: bool


class VideoWriter:
    """Encode frames into `path` through a temp file beside it; `close()` renames it into place.

    A crash or an exception inside `with VideoWriter(...)` removes the temp file, so `path`
    is either the old file or the complete new one. Frames are rgb24 (H, W, 3) uint8 arrays
    or PyAV VideoFrames; every frame must have the first frame's size.
    """

    def __init__(
        self,
        path: Path | str,
        rate: Fraction | int,
        profile: EncodeProfile = DELIVERY,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.rate = Fraction(rate)
        self.profile = profile
        if self.rate <= 0:
            raise MediaError(f"Cannot write {self.path} at frame rate {self.rate}", "Use a positive rate.")
        suffix = self.path.suffix.lower()
        if suffix not in profile.suffixes:
            raise MediaError(
                f"The {profile.name} profile cannot write a {suffix or 'suffix-less'} file ({self.path})",
                f"Use one of {', '.join(profile.suffixes)}.",
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".part{suffix}", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        options = {"movflags": "+faststart"} if suffix in _MP4_LIKE else {}
        try:
            self._out: av.container.OutputContainer = av.open(
                tmp, "w", format=_MUXERS[suffix], container_options=options
            )
        except AV_ERRORS as exc:
            self._tmp.unlink(missing_ok=True)
            raise MediaError(f"Cannot create {self.path} ({exc})", "Check the folder is writable.") from exc
        for key, value in (metadata or {}).items():
            self._out.metadata[key] = value
        self._stream: av.video.stream.VideoStream | None = None
        self._size: tuple[int, int] | None = None
        self._coded: tuple[int, int] = (0, 0)
        self._count = 0
        self._done = False

    def write(self, frame: Frame | AVFrame) -> None:
        if isinstance(frame, AVFrame):
            size = (frame.width, frame.height)
        else:
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise MediaError(
                    f"Frame {self._count} for {self.path} is {frame.dtype} {frame.shape}",
                    "Give rgb24 frames: uint8 arrays shaped (height, width, 3).",
                )
            size = (frame.shape[1], frame.shape[0])
        if self._stream is None:
            self._start(size)
        elif size != self._size:
            first = self._size or (0, 0)
            raise MediaError(
                f"Frame {self._count} for {self.path} is {size[0]}x{size[1]}, but the video is {first[0]}x{first[1]}",
                "Resize every frame to one size before writing.",
            )
        vf = self._to_video_frame(frame)
        vf.pts = self._count
        vf.time_base = 1 / self.rate
        assert self._stream is not None
        try:
            self._out.mux(self._stream.encode(vf))
        except AV_ERRORS as exc:
            raise MediaError(f"Encoding frame {self._count} of {self.path} failed ({exc})", "") from exc
        self._count += 1

    def close(self) -> WriteResult:
        """Flush the encoder, finish the file and move it to `path`."""
        if self._done:
            raise RuntimeError("VideoWriter is already closed")
        if self._stream is None:
            self.abort()
            raise MediaError(f"No frames were given for {self.path}", "Give at least one frame.")
        try:
            self._out.mux(self._stream.encode())
            self._out.close()
            self._done = True
            with open(self._tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        assert self._size is not None
        return WriteResult(
            self.path, self.profile.name, self._count, self.rate, *self._coded, self._coded != self._size
        )

    def abort(self) -> None:
        """Stop and delete the temp file; `path` is left as it was."""
        if not self._done:
            self._done = True
            with contextlib.suppress(*AV_ERRORS):
                self._out.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._done:
            self.close()

    # ------------------------------------------------------------------ internals
    def _start(self, size: tuple[int, int]) -> None:
        w, h = size
        if self.profile.even_size:
            w, h = w + w % 2, h + h % 2
        opts = dict(self.profile.options)
        try:
            stream = self._out.add_stream(self.profile.codec, rate=self.rate, options=opts)
        except AV_ERRORS as exc:
            self.abort()
            raise MediaError(f"This PyAV build cannot encode {self.profile.codec}", "Pick another profile.") from exc
        if not isinstance(stream, av.video.stream.VideoStream):
            self.abort()
            raise MediaError(f"{self.profile.codec} is not a video codec", "Pick a video profile.")
        stream.width, stream.height = w, h
        stream.pix_fmt = self.profile.pix_fmt
        gop = self.profile.gop_for(self.rate)
        if gop is not None:
            stream.codec_context.gop_size = gop
        if self.profile.max_b_frames is not None:
            stream.codec_context.max_b_frames = self.profile.max_b_frames
        stream.thread_type = "AUTO"
        self._stream = stream
        self._size = size
        self._coded = (w, h)

    def _to_video_frame(self, frame: Frame | AVFrame) -> AVFrame:
        w, h = self._coded
        if isinstance(frame, AVFrame):
            if (frame.width, frame.height) == (w, h):
                vf = frame.reformat(format=self.profile.pix_fmt)
                vf.pict_type = 0  # let the encoder choose; decoded frames carry their old I/P/B type
                return vf
            frame = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        if frame.shape[:2] != (h, w):
            frame = np.pad(frame, ((0, h - frame.shape[0]), (0, w - frame.shape[1]), (0, 0)), mode="edge")
        return AVFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")


def write_video(
    path: Path | str,
    frames: Iterable[Frame | AVFrame],
    rate: Fraction | int,
    profile: EncodeProfile = DELIVERY,
    *,
    metadata: Mapping[str, str] | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressSink = no_progress,
) -> WriteResult:
    """Encode `frames` to `path` (atomically) with `profile`; returns what was written."""
    total = len(frames) if isinstance(frames, Sized) else 0
    with VideoWriter(path, rate, profile, metadata=metadata) as writer:
        for n, frame in enumerate(frames, 1):
            if cancel is not None:
                cancel.raise_if_cancelled(f"Writing {Path(path).name}")
            writer.write(frame)
            progress(n, total or n, "encoding")
        return writer.close()
