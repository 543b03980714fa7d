"""FrameReader: frame-accurate random access by frame index, and fast sequential decode."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, cast

import av.container
import av.video.frame
import numpy as np
import numpy.typing as npt

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import MediaError
from x121_desktop.core.media._open import AV_ERRORS, DecodePath, open_input
from x121_desktop.core.media.info import PacketIndex, VideoInfo, probe_with_index
from x121_desktop.core.media.yuv import YuvFrame, YuvMatrix, yuv_from_av, yuv_native

Frame = npt.NDArray[np.uint8]
AVFrame = av.video.frame.VideoFrame

DEFAULT_CACHE_BYTES = 192 << 20


@dataclass(slots=True)
class ReaderStats:
    """What the reader did, for tests and benchmarks."""

    seeks: int = 0
    decoded: int = 0
    cache_hits: int = 0


class FrameReader:
    """Frames of one video file by index (0 … frame_count-1), as rgb24 (H, W, 3) uint8 arrays.

    Indices are the rank of each frame's pts among all video packets (presentation order),
    so they are exact whatever the GOP, B-frames or container time base. Random access seeks
    to the keyframe at or before the target pts and decodes forward until that exact pts
    appears; decoded frames stay in a small LRU cache (`cache_bytes`), so stepping back one
    frame or re-reading nearby frames costs no decode. Requests just ahead of the last decoded
    frame in the same GOP continue decoding without a seek.

    `size=(w, h)` scales every returned frame (swscale, area filter) — e.g. quarter size for
    seam scans. CUDA decode is tried first when `hwaccel` and the wheel offers it; otherwise,
    or when it fails, decode runs in software. `decode_path` says which path is in use.

    Not thread-safe: use one reader per thread. Close it (or use `with`) to free the decoder.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        size: tuple[int, int] | None = None,
        hwaccel: bool = True,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.path = Path(path)
        info, index = probe_with_index(self.path)
        self.info: VideoInfo = info
        self._index: PacketIndex = index
        self.size: tuple[int, int] = size or (info.width, info.height)
        if self.size[0] <= 0 or self.size[1] <= 0:
            raise ValueError(f"FrameReader size must be positive, got {self.size}")
        self.stats = ReaderStats()
        self._hwaccel = hwaccel
        self._container, self.decode_path = self._open(hwaccel)
        frame_bytes = max(1, info.width * info.height * 3 // 2 + self.size[0] * self.size[1] * 3)
        self._cache_limit = max(2, cache_bytes // frame_bytes)
        self._cache: OrderedDict[int, AVFrame] = OrderedDict()
        self._run: Iterator[AVFrame] | None = None
        self._run_pts: int | None = None

    # ------------------------------------------------------------------ public
    @property
    def frame_count(self) -> int:
        return len(self._index.pts)

    def __len__(self) -> int:
        return self.frame_count

    def __getitem__(self, index: int) -> Frame:
        return self.frame(index)

    def frame(self, index: int) -> Frame:
        """The frame at `index` (negative counts from the end) as rgb24 (H, W, 3) uint8."""
        return self.to_array(self.av_frame(index))

    def av_frame(self, index: int) -> AVFrame:
        """The decoded PyAV frame at `index`, unconverted (for re-encoding without a round trip)."""
        index = self._check_index(index)
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            self.stats.cache_hits += 1
            return cached
        try:
            return self._decode_to(index)
        except MediaError:
            raise
        except AV_ERRORS as exc:
            if self.decode_path == "cuda":
                self._fall_back_to_software()
                return self._decode_to(index)
            raise self._damaged(index, exc) from exc

    def frames(
        self,
        start: int = 0,
        stop: int | None = None,
        *,
        cancel: CancelToken | None = None,
        progress: ProgressSink = no_progress,
    ) -> Iterator[Frame]:
        """Frames start … stop-1 in order, decoded sequentially (multi-threaded, no cache)."""
        for _, f in self.av_frames(start, stop, cancel=cancel, progress=progress):
            yield self.to_array(f)

    def frames_yuv(
        self,
        start: int = 0,
        stop: int | None = None,
        *,
        scale: int = 1,
        untagged_hd: YuvMatrix = YuvMatrix.BT601,
        cancel: CancelToken | None = None,
        progress: ProgressSink = no_progress,
    ) -> Iterator[YuvFrame]:
        """Frames start … stop-1 as Y/U/V planes (``YuvFrame``), decoded as ``frames()`` does.

        No rgb24 conversion: with ``scale`` 1 the planes view the decoder's buffers (about
        2 µs a frame); ``scale`` n area-reduces them by n (sizes rounded up; the seam analyses are
        defined on ``scale`` 1, which ``scale`` 2 matches for even sizes). The reader's ``size``
        does not apply.
        Matrix and range come from the frame's tags (see core/media/yuv.py; untagged → BT.601,
        or ``untagged_hd`` for untagged frames taller than 576 lines). Input that is not yuv420p,
        yuvj420p or nv12 is converted by swscale (``yuv_native`` is False: prefer ``frames()``).
        """
        for _, f in self.av_frames(start, stop, cancel=cancel, progress=progress):
            yield yuv_from_av(f, scale=scale, untagged_hd=untagged_hd)

    @property
    def yuv_native(self) -> bool:
        """True when ``frames_yuv`` reads planes in place (yuv420p, yuvj420p, nv12 streams)."""
        return yuv_native(self.info.pix_fmt)

    def av_frames(
        self,
        start: int = 0,
        stop: int | None = None,
        *,
        cancel: CancelToken | None = None,
        progress: ProgressSink = no_progress,
    ) -> Iterator[tuple[int, AVFrame]]:
        """(index, PyAV frame) for start … stop-1, on a container of its own.

        Iterating does not disturb random access on this reader. Raises MediaError when the
        file cannot deliver a frame it indexes (damaged or truncated mid-packet).
        """
        n = self.frame_count
        stop = n if stop is None else min(stop, n)
        start = max(0, start)
        if start >= stop:
            return
        container, _ = open_input(self.path, hwaccel=self.decode_path == "cuda")
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            index = self._index
            container.seek(index.keyframe_at_or_before(index.pts[start]), stream=stream, backward=True)
            expected = start
            try:
                for f in _decode(container):
                    i = index.index_of(f.pts) if f.pts is not None else None
                    if i is None or i < expected:
                        continue
                    if i != expected:
                        raise self._damaged(expected, None)
                    self.stats.decoded += 1
                    yield i, f
                    expected += 1
                    progress(expected - start, stop - start, "decoding")
                    if cancel is not None:
                        cancel.raise_if_cancelled("Decoding")
                    if expected >= stop:
                        return
            except AV_ERRORS as exc:
                raise self._damaged(expected, exc) from exc
            raise self._damaged(expected, None)

    def to_array(self, frame: AVFrame) -> Frame:
        w, h = self.size
        if (w, h) == (frame.width, frame.height):
            arr = frame.to_ndarray(format="rgb24")
        else:
            arr = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA")
        return cast("Frame", np.ascontiguousarray(arr))

    def close(self) -> None:
        self._cache.clear()
        self._run = None
        self._container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _open(self, hwaccel: bool) -> tuple[av.container.InputContainer, DecodePath]:
        container, path = open_input(self.path, hwaccel=hwaccel)
        container.streams.video[0].thread_type = "AUTO"
        return container, path

    def _fall_back_to_software(self) -> None:
        self._container.close()
        self._container, self.decode_path = self._open(False)
        self._run = None
        self._run_pts = None

    def _check_index(self, index: int) -> int:
        n = self.frame_count
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"frame {index} is outside {self.path.name} (0…{n - 1})")
        return index

    def _decode_to(self, index: int) -> AVFrame:
        target = self._index.pts[index]
        key = self._index.keyframe_at_or_before(target)
        if self._run is None or self._run_pts is None or target <= self._run_pts or key > self._run_pts:
            self._start_run(key)
        for _ in range(3):
            found = self._advance_to(target)
            if found is not None:
                return found
            # The seek landed after the target, or the decoder skipped it: start earlier.
            key = self._index.keyframe_at_or_before(key - 1) if key > self._index.pts[0] else key
            self._start_run(key)
        raise self._damaged(index, None)

    def _start_run(self, key_pts: int) -> None:
        stream = self._container.streams.video[0]
        self._container.seek(key_pts, stream=stream, backward=True)
        self.stats.seeks += 1
        self._run = _decode(self._container)
        self._run_pts = None

    def _advance_to(self, target: int) -> AVFrame | None:
        assert self._run is not None
        for f in self._run:
            p = f.pts
            if p is None:
                continue
            self._run_pts = p
            self.stats.decoded += 1
            i = self._index.index_of(p)
            if i is not None:
                self._remember(i, f)
            if p == target:
                return f
            if p > target:
                return None
        self._run = None
        return None

    def _remember(self, index: int, frame: AVFrame) -> None:
        self._cache[index] = frame
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_limit:
            self._cache.popitem(last=False)

    def _damaged(self, index: int, exc: BaseException | None) -> MediaError:
        why = f" ({exc})" if exc is not None else ""
        return MediaError(
            f"{self.path} cannot deliver frame {index} of {self.frame_count}{why}; "
            "the file is damaged or truncated there",
            "Re-export or re-download the file.",
        )


def _decode(container: av.container.InputContainer) -> Iterator[AVFrame]:
    stream = container.streams.video[0]
    for packet in container.demux(stream):
        yield from packet.decode()
