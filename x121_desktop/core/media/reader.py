"""FrameReader: frame-accurate random access by frame index, and fast sequential decode."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, cast

import av.container
import av.packet
import av.video.frame
import av.video.stream
import numpy as np
import numpy.typing as npt

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import MediaError
from x121_desktop.core.media._open import AV_ERRORS, DecodePath, open_input
from x121_desktop.core.media.info import PacketIndex, VideoInfo, probe_with_index
from x121_desktop.core.media.yuv import YuvFrame, YuvMatrix, yuv_from_av, yuv_native

Frame = npt.NDArray[np.uint8]
AVFrame = av.video.frame.VideoFrame
if TYPE_CHECKING:
    VideoPacket = av.packet.Packet[av.video.stream.VideoStream]  # generic only in the stubs

DEFAULT_CACHE_BYTES = 192 << 20

SKIP_NONREF_CODECS = frozenset({"h264", "hevc", "mpeg4", "mpeg2video"})
"""Decoders whose ``skip_frame = "NONREF"`` drops only pictures that no other picture references
(H.264/HEVC: nal_ref_idc 0 / non-reference NAL types; MPEG-4 part 2 and MPEG-2: B-frames).
tests/core/media/test_seek_skip.py checks every frame of B-pyramid and open GOPs against a full
decode. Other codecs (VP9, AV1, intra-only) always decode every picture."""


@dataclass(slots=True)
class ReaderStats:
    """What the reader did, for tests and benchmarks."""

    seeks: int = 0
    decoded: int = 0
    cache_hits: int = 0
    skipping_runs: int = 0
    """Jumps decoded with non-reference pictures before the target skipped."""


class FrameReader:
    """Frames of one video file by index (0 … frame_count-1), as rgb24 (H, W, 3) uint8 arrays.

    Indices are the rank of each frame's pts among all video packets (presentation order),
    so they are exact whatever the GOP, B-frames or container time base. Random access seeks
    to the keyframe at or before the target pts and decodes forward until that exact pts
    appears; decoded frames stay in a small LRU cache (`cache_bytes`), so stepping back one
    frame or re-reading nearby frames costs no decode. Requests just ahead of the last decoded
    frame in the same GOP continue decoding without a seek.

    A jump skips the non-reference pictures in front of its target (``skip_frame`` NONREF
    until a packet at or after the target pts is demuxed, for the codecs in
    `SKIP_NONREF_CODECS`): on a B-pyramid GOP that leaves about half the frames undecoded, and
    the target is still bit-exact because nothing refers to the pictures skipped. A request
    inside or next to the span of frames asked for since the last jump is a step, not a jump: it
    decodes everything, so a GOP it re-decodes lands in the cache for the steps after it (a
    player's prefetch around the playhead, stepping back). `skip_nonref=False` turns skipping off.

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
        skip_nonref: bool = True,
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
        self._can_skip = skip_nonref and info.codec in SKIP_NONREF_CODECS
        self._skip_before: int | None = None  # pts: NONREF decoding until a packet reaches it
        self._span: tuple[int, int] | None = None  # frames asked for since the last jump
        self._cancel: CancelToken | None = None
        self._key_dts = {p: d for p, d, key in index.decode_order if key and d is not None}
        self._seek_by_dts = False

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

    def av_frame(self, index: int, *, cancel: CancelToken | None = None) -> AVFrame:
        """The decoded PyAV frame at `index`, unconverted (for re-encoding without a round trip).

        `cancel` is checked after each frame decoded on the way: a decode worker whose request
        went stale (the player jumped elsewhere) stops within a frame instead of finishing a GOP.
        Raises `Cancelled` then; the run stays open, so a later request ahead of it continues
        where this one stopped.
        """
        index = self._check_index(index)
        span = self._span
        jump = span is None or not span[0] - 1 <= index <= span[1] + 1
        self._span = (index, index) if span is None or jump else (min(span[0], index), max(span[1], index))
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            self.stats.cache_hits += 1
            return cached
        self._cancel = cancel
        try:
            return self._decode_to(index, skip=jump and self._can_skip)
        except MediaError:
            raise
        except AV_ERRORS as exc:
            if self.decode_path == "cuda":
                self._fall_back_to_software()
                return self._decode_to(index, skip=False)
            raise self._damaged(index, exc) from exc
        finally:
            self._cancel = None

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
        self._skip_before = None

    def _check_index(self, index: int) -> int:
        n = self.frame_count
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"frame {index} is outside {self.path.name} (0…{n - 1})")
        return index

    def _decode_to(self, index: int, *, skip: bool) -> AVFrame:
        target = self._index.pts[index]
        key = self._index.keyframe_at_or_before(target)
        if self._run is None or self._run_pts is None or target <= self._run_pts or key > self._run_pts:
            self._start_run(key)
        for _ in range(3):
            self._set_skip(target if skip else None)
            found = self._advance_to(target)
            if found is not None:
                return found
            # The seek landed after the target, or the decoder skipped it: start earlier.
            key = self._index.keyframe_at_or_before(key - 1) if key > self._index.pts[0] else key
            self._start_run(key)
            skip = False
        raise self._damaged(index, None)

    def _set_skip(self, before_pts: int | None) -> None:
        """Skip non-reference pictures until a packet with pts >= `before_pts` is demuxed."""
        self._skip_before = before_pts
        self._container.streams.video[0].codec_context.skip_frame = "NONREF" if before_pts is not None else "DEFAULT"
        if before_pts is not None:
            self.stats.skipping_runs += 1

    def _start_run(self, key_pts: int) -> None:
        self._run = self._decode_run(self._seek(key_pts))
        self._run_pts = None

    def _seek(self, key_pts: int) -> Iterator[VideoPacket]:
        """Seek to the keyframe with pts `key_pts`; the video packets from there on.

        Most demuxers (MP4, Matroska, WebM) seek by presentation time. MPEG-TS and MPEG-PS seek by
        decode time and land one GOP late when asked for a keyframe's pts; the first packet then
        lies after the keyframe, and from then on this reader seeks by the keyframe's dts.
        """
        stream = self._container.streams.video[0]
        dts = self._key_dts.get(key_pts, key_pts)
        self._container.seek(dts if self._seek_by_dts else key_pts, stream=stream, backward=True)
        self.stats.seeks += 1
        packets = self._container.demux(stream)
        first = next(packets, None)
        if not self._seek_by_dts and dts < key_pts and first is not None and (first.pts or 0) > key_pts:
            self._seek_by_dts = True
            self._container.seek(dts, stream=stream, backward=True)
            self.stats.seeks += 1
            packets = self._container.demux(stream)
            first = next(packets, None)
        return itertools.chain(() if first is None else (first,), packets)

    def _decode_run(self, packets: Iterator[VideoPacket]) -> Iterator[AVFrame]:
        """Decode a run packet by packet, switching skipping off when the target is near.

        A packet with pts at or after the target, or without pts, ends skipping before it is
        decoded: a target B-frame's packet follows its forward reference in decode order, and
        every picture decoded from then on may be the target or refer to it.
        """
        ctx = self._container.streams.video[0].codec_context
        for packet in packets:
            before = self._skip_before
            if before is not None and (packet.pts is None or packet.pts >= before):
                ctx.skip_frame = "DEFAULT"
                self._skip_before = None
            yield from packet.decode()

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
            if self._cancel is not None:
                self._cancel.raise_if_cancelled("Decoding")
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
