"""Work arrays that stay mapped: per-thread scratch and a pool for per-frame feature arrays.

Why: at 1080p each per-frame intermediate of the analyses is 0.1-1 MB. Allocated afresh, glibc
serves such blocks from fresh pages and hands them back to the kernel when they are freed, so
every frame paid the page faults again (and, with OpenCV's worker threads, TLB shootdowns on
unmap). Measured on the 2-core dev machine: ``ssim_stats`` of a 480x270 image took 0.97 ms with
fresh arrays and 0.27 ms once the memory stayed mapped (the same arithmetic).

* ``scratch(key, shape, dtype)``: one array per thread and (key, shape, dtype), for temporaries
  that never leave the function that fills them. Each call site uses its own key, so nested
  calls cannot overwrite each other's scratch.
* ``ArrayPool``: arrays that end up inside features (``SsimStats``, the ¼-size gray). A pass
  over a segment gives a frame's arrays back once its features are dropped, and the next
  frame's features take them. The pool only takes back arrays it handed out.
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.typing import NDArray

_local = threading.local()
_SCRATCH_LIMIT = 48
_POOL_LIMIT = 8


def scratch[T: np.generic](key: str, shape: tuple[int, ...], dtype: type[T]) -> NDArray[T]:
    """This thread's scratch array for ``key`` (contents undefined: fill it before reading)."""
    cache: dict[tuple[str, tuple[int, ...], type[np.generic]], NDArray[np.generic]] | None = getattr(
        _local, "scratch", None
    )
    if cache is None:
        cache = _local.scratch = {}
    found = cache.get((key, shape, dtype))
    if found is None:
        if len(cache) >= _SCRATCH_LIMIT:  # many sizes seen: drop them all rather than grow
            cache.clear()
        found = cache[(key, shape, dtype)] = np.empty(shape, dtype)
    return found  # type: ignore[return-value]


class ArrayPool:
    """Arrays handed out for features and given back when those features are dropped.

    Not thread-safe: one pool per pass (the pass runs on one thread).
    """

    def __init__(self) -> None:
        self._free: dict[tuple[tuple[int, ...], type[np.generic]], list[NDArray[np.generic]]] = {}
        self._out: dict[int, NDArray[np.generic]] = {}

    def take[T: np.generic](self, shape: tuple[int, ...], dtype: type[T]) -> NDArray[T]:
        free = self._free.get((shape, dtype))
        arr = free.pop() if free else np.empty(shape, dtype)
        self._out[id(arr)] = arr  # held, so the id stays this array's until it is given back
        return arr  # type: ignore[return-value]

    def give(self, *arrays: NDArray[np.generic]) -> None:
        """Take back arrays this pool handed out (others are ignored): their holder is gone."""
        for arr in arrays:
            if self._out.get(id(arr)) is not arr:
                continue
            del self._out[id(arr)]
            free = self._free.setdefault((arr.shape, arr.dtype.type), [])
            if len(free) < _POOL_LIMIT:
                free.append(arr)


def take[T: np.generic](pool: ArrayPool | None, shape: tuple[int, ...], dtype: type[T]) -> NDArray[T]:
    """An array from ``pool``, or a new one without a pool."""
    return pool.take(shape, dtype) if pool is not None else np.empty(shape, dtype)
