"""Decode workers for the review player, and review proxies.

A `FrameSource` decodes one file on a thread of its own into a bounded cache of frames around
the playhead (`core.review.wanted_frames`: ahead in play order, a little behind). The UI says
what it wants (`want`: playhead, direction, play order, and the pixel form its view draws) and
reads frames with `get`; the worker calls `on_change` (from its thread: the UI side must hand
it to its own thread, e.g. with a queued signal) whenever the cache or the source's state moves.
No Qt here: the UI never waits on the worker and the worker never touches a widget.

Pixel forms: a GPU view draws Y/U/V planes (`YuvFrame`, views of the decoder's buffers: no
conversion at all); the QPainter fallback wants rgb24 already at the size it draws, which the
worker makes off the UI thread. The cache is honest about sizes: a frame is handed out (`usable`)
only in the form and at the exact size asked for, and a new size re-plans the window (frames of
other sizes are dropped and decoded again from the file, never re-scaled from a scaled copy).

Review proxies (`REVIEW_PROXY`): H.264 with a 1 s GOP, no B-frames and x264's `fastdecode` tune
(CAVLC, no deblocking): about twice the decode speed of a default encode, so random access
costs at most one second of cheap frames.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av.container
import cv2
import numpy as np
import numpy.typing as npt

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import Cancelled, X121Error
from x121_desktop.core.media import (
    EncodeProfile,
    FrameReader,
    VideoInfo,
    WriteResult,
    YuvFrame,
    probe,
    write_video,
    yuv_from_av,
)
from x121_desktop.core.media._open import DecodePath
from x121_desktop.core.review.cache_window import CacheWindow, wanted_frames
from x121_desktop.core.review.clock import PlayOrder
from x121_desktop.services.runtime import Runtime

Rgb = npt.NDArray[np.uint8]

DEFAULT_BUDGET = 256 << 20
"""Bytes of decoded frames one source keeps (1080p Y/U/V: ~85 frames; 640x360 rgb24: ~380)."""

REVIEW_PROXY = EncodeProfile(
    "review_proxy", "libx264", "yuv420p", (("crf", "23"), ("preset", "veryfast"), ("tune", "fastdecode")),
    Fraction(1), 0, True, (".mp4", ".mov", ".mkv"),
)  # fmt: skip


def make_review_proxy(
    src: Path, dst: Path, *, cancel: CancelToken | None = None, progress: ProgressSink = no_progress
) -> WriteResult:
    """Encode `src` as a review proxy at `dst` (same size and rate, 1 s GOP, fast to decode)."""
    with FrameReader(src, hwaccel=False, cache_bytes=0) as reader:
        frames = (f for _, f in reader.av_frames(cancel=cancel))
        return write_video(dst, frames, reader.info.rate, REVIEW_PROXY, cancel=cancel, progress=progress)


async def create_review_proxy(
    runtime: Runtime, src: Path, dst: Path, *, cancel: CancelToken | None = None
) -> WriteResult:
    """`make_review_proxy` on the cpu executor."""
    return await runtime.run(runtime.cpu, make_review_proxy, src, dst, cancel=cancel)


class _ReviewReader(FrameReader):
    """A FrameReader that decodes on one thread (slice threads only, which H.264 rarely has).

    Frame threading ("AUTO") delays the first frame after every seek by the pipeline depth and,
    with four clips on a 2-core machine, runs twelve decode threads on two cores. Measured on a
    1080p 1 s GOP file, random access p95: 116 → 80 ms (default encode), 38 → 24 ms (proxy).
    """

    def _open(self, hwaccel: bool) -> tuple[av.container.InputContainer, DecodePath]:
        container, path = super()._open(hwaccel)
        container.streams.video[0].thread_type = "SLICE"
        return container, path


@dataclass(frozen=True, slots=True, eq=False)
class DecodedFrame:
    """One decoded frame: `index` is the frame the decoder delivered (what the view must label)."""

    index: int
    yuv: YuvFrame | None = None
    rgb: Rgb | None = None

    @property
    def nbytes(self) -> int:
        if self.rgb is not None:
            return int(self.rgb.nbytes)
        if self.yuv is not None:
            return int(self.yuv.y.size + self.yuv.u.size + self.yuv.v.size)
        return 0


@dataclass(frozen=True, slots=True)
class SourceWant:
    """What the player needs from a source now. `rgb_size` None: Y/U/V planes (GPU view)."""

    playhead: int
    direction: int
    order: PlayOrder | None = None
    rgb_size: tuple[int, int] | None = None


class FrameSource:
    """One video file decoded on its own thread into a cache around the playhead.

    States: opening (`info` and `error` None), ready (`info` set), failed (`error` set: the
    file cannot be decoded; the thread has ended). `close()` stops and joins the thread.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        budget_bytes: int = DEFAULT_BUDGET,
        on_change: Callable[[], None] | None = None,
        hwaccel: bool = True,
    ) -> None:
        self.path = Path(path)
        self.budget_bytes = budget_bytes
        self.info: VideoInfo | None = None
        self.error: X121Error | None = None
        self.decode_path = "software"
        self.decoded = 0
        self.window = CacheWindow(0, 0)
        self._on_change = on_change or (lambda: None)
        self._hwaccel = hwaccel
        self._cond = threading.Condition()
        self._cache: dict[int, DecodedFrame] = {}
        self._want = SourceWant(0, 0)
        self._gen = 0
        self._stale = CancelToken()  # cancelled when the player waits for a frame not yet decoded
        self._stop = False
        self._idle = False
        self._thread = threading.Thread(target=self._run, name=f"x121-review-{self.path.name}", daemon=True)

    def start(self) -> FrameSource:
        self._thread.start()
        return self

    # ------------------------------------------------------------------ UI side
    def want(self, want: SourceWant) -> None:
        """Say what the player needs. Small moves inside the planned window change nothing: the
        worker re-plans (and decodes the newly uncovered frames) only once the playhead has used
        a quarter of the frames ahead, left the frames behind, or reached a frame not yet decoded.
        So stepping inside the cache costs no decoding, and playback refills in batches."""
        with self._cond:
            planned = self._want
            if want == planned:
                return
            if self._near(planned, want):
                return
            self._want = want
            self._gen += 1
            if self._usable(want.playhead, want.rgb_size) is None:  # a jump or a new size: stop the run in flight
                self._stale.cancel()
            self._cond.notify()

    def _near(self, planned: SourceWant, want: SourceWant) -> bool:
        if (planned.direction, planned.order, planned.rgb_size) != (want.direction, want.order, want.rgb_size):
            return False
        if self._usable(want.playhead, want.rgb_size) is None:
            return False
        d = -1 if planned.direction < 0 else 1
        moved = (want.playhead - planned.playhead) * d
        return -max(1, self.window.behind // 2) <= moved <= max(1, self.window.ahead // 4)

    def get(self, index: int) -> DecodedFrame | None:
        """The cached frame `index` in whatever form and size it was decoded (see `usable`)."""
        with self._cond:
            return self._cache.get(index)

    def usable(self, index: int, rgb_size: tuple[int, int] | None) -> DecodedFrame | None:
        """Frame `index` if it is cached in the form a view draws: rgb24 of exactly `rgb_size`
        (w, h), or Y/U/V planes where `rgb_size` is None. A frame cached for another size is not
        handed out: scaled again it would not be what a decode at this size gives."""
        with self._cond:
            return self._usable(index, rgb_size)

    def _usable(self, index: int, rgb_size: tuple[int, int] | None) -> DecodedFrame | None:
        frame = self._cache.get(index)
        return frame if frame is not None and fits(frame, rgb_size) else None

    def has(self, index: int) -> bool:
        with self._cond:
            return index in self._cache

    def cached(self) -> list[int]:
        with self._cond:
            return sorted(self._cache)

    @property
    def idle(self) -> bool:
        """The worker has decoded everything it was asked for and is waiting."""
        with self._cond:
            return self._idle

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._stale.cancel()
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._cond:
            self._cache.clear()

    # ------------------------------------------------------------------ worker thread
    def _run(self) -> None:
        try:
            info = probe(self.path)
            gop_bytes = (info.gop + 2) * info.width * info.height * 9 // 2
            reader = _ReviewReader(self.path, hwaccel=self._hwaccel, cache_bytes=gop_bytes)
        except X121Error as exc:
            self._fail(exc)
            return
        with reader:
            self.info, self.decode_path = reader.info, reader.decode_path
            self._on_change()
            try:
                self._loop(reader)
            except X121Error as exc:
                self._fail(exc)

    def _loop(self, reader: FrameReader) -> None:
        seen_gen = -1
        todo: tuple[int, ...] = ()
        pos = 0
        while True:
            with self._cond:
                while not self._stop and seen_gen == self._gen and pos >= len(todo):
                    self._idle = True
                    self._cond.wait()
                self._idle = False
                if self._stop:
                    return
                if seen_gen != self._gen:
                    seen_gen, want = self._gen, self._want
                    stale = self._stale = CancelToken()
                    todo, pos = self._plan(want, reader.info), 0
                    keep = set(todo)
                    for i in [i for i in self._cache if i not in keep or not fits(self._cache[i], want.rgb_size)]:
                        del self._cache[i]
                while pos < len(todo) and todo[pos] in self._cache:
                    pos += 1
                if pos >= len(todo):
                    continue
                index = todo[pos]
            try:
                frame = self._decode(reader, index, want, stale)
            except Cancelled:
                continue  # re-plan for the new want; the reader's run stays open
            with self._cond:
                if not self._stop:
                    self._cache[index] = frame
            self.decoded += 1
            pos += 1
            self._on_change()

    def _plan(self, want: SourceWant, info: VideoInfo) -> tuple[int, ...]:
        per_frame = 3 * want.rgb_size[0] * want.rgb_size[1] if want.rgb_size else info.width * info.height * 3 // 2
        self.window = CacheWindow.for_capacity(max(2, self.budget_bytes // max(1, per_frame)))
        order = want.order or PlayOrder(0, info.frame_count, False, info.frame_count)
        return wanted_frames(want.playhead, want.direction, self.window, order)

    @staticmethod
    def _decode(reader: FrameReader, index: int, want: SourceWant, stale: CancelToken) -> DecodedFrame:
        f = reader.av_frame(index, cancel=stale)
        if want.rgb_size is None:
            return DecodedFrame(index, yuv=yuv_from_av(f))
        w, h = want.rgb_size
        rgb: Rgb = np.asarray(f.to_ndarray(format="rgb24"), dtype=np.uint8)
        if (rgb.shape[1], rgb.shape[0]) != (w, h):
            shrink = rgb.shape[1] >= 2 * w
            rgb = np.asarray(cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR))
        return DecodedFrame(index, rgb=np.ascontiguousarray(rgb))

    def _fail(self, exc: X121Error) -> None:
        self.error = exc
        self._on_change()


def fits(frame: DecodedFrame, rgb_size: tuple[int, int] | None) -> bool:
    """The frame is in the form asked for: Y/U/V planes (`rgb_size` None) or rgb24 of exactly that (w, h)."""
    if rgb_size is None:
        return frame.yuv is not None
    return frame.rgb is not None and (frame.rgb.shape[1], frame.rgb.shape[0]) == rgb_size
