"""Iterate a frame source on a helper thread, a bounded number of frames ahead of the consumer.

Decoding (PyAV releases the GIL) then overlaps the analysis (OpenCV releases it too). What this
costs is the hand-over: a thread woken for every frame pays a futex wake and a context switch each
time, and on a busy 2-core machine a wait for a core. With ``queue.Queue`` (one wake a frame, and
a 50 ms poll to notice ``close``) the read-ahead QA of a 512² segment used ~15 % more CPU than the
serial one (benchmarks/bench_seam.py). So each side here sleeps only when it must (the consumer on
an empty buffer, the producer on a full one) and is woken in batches: the consumer once
``wake_batch`` frames are ready (or the source ended), the producer once the buffer has drained
to half. Errors of the source are raised in the consumer after the frames read before them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator


class ReadAhead[T]:
    """``for f in ReadAhead(frames, depth)``: ``frames`` iterated on a daemon thread.

    ``close()`` stops the thread (which closes the source iterator there) and waits for it.
    """

    def __init__(self, frames: Iterable[T], depth: int, wake_batch: int = 4) -> None:
        self._source = frames
        self._depth = max(1, depth)
        self._resume = self._depth // 2
        self._batch = max(1, min(wake_batch, self._depth))
        self._items: deque[T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._ended = False
        self._error: BaseException | None = None
        self._stop = False
        self._producer_waits = False
        self._consumer_waits = False
        self._thread = threading.Thread(target=self._run, name="x121-segment-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        it = iter(self._source)
        cond = self._cond
        try:
            for frame in it:
                with cond:
                    while len(self._items) >= self._depth and not self._stop:
                        self._producer_waits = True
                        cond.wait()
                    self._producer_waits = False
                    if self._stop:
                        break
                    self._items.append(frame)
                    if self._consumer_waits and len(self._items) >= self._batch:
                        cond.notify_all()
        except BaseException as exc:  # handed to the consuming thread, which re-raises it
            with cond:
                self._error = exc
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            with cond:
                self._ended = True
                cond.notify_all()

    def __iter__(self) -> Iterator[T]:
        cond = self._cond
        while True:
            with cond:
                while not self._items and not self._ended:
                    self._consumer_waits = True
                    cond.wait()
                self._consumer_waits = False
                if not self._items:
                    if self._error is not None:
                        raise self._error
                    return
                frame = self._items.popleft()
                if self._producer_waits and len(self._items) <= self._resume:
                    cond.notify_all()
            yield frame

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()
