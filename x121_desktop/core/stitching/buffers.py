"""Per-thread scratch arrays that stay mapped, for the per-frame temporaries of the analyses.

Why: at 1080p a frame's temporaries are 0.1-1 MB each (the ½-size gray, its int16 Laplacian, the
SSIM pair terms). Allocated afresh, glibc serves such blocks from fresh pages and hands them back
to the kernel when they are freed, so every frame paid the page faults again (and, while OpenCV's
worker threads ran, TLB shootdowns on unmap). Measured on the 2-core dev machine: ``ssim_stats`` of
a 480x270 image took 0.97 ms with fresh arrays and 0.27 ms once the memory stayed mapped.

``scratch(key, shape, dtype)`` gives one array per thread and (key, shape, dtype), for temporaries
that never leave the function that fills them. Each call site uses its own key, so nested calls
cannot overwrite each other's scratch. Arrays kept inside features are ordinary allocations: at
the sizes the analyses keep (SSIM images of at most ``frames.SSIM_MAX_SIDE`` rows) they stay below
glibc's mmap threshold, and reusing them (tried: a pool fed by dropped frames) measured no gain.
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.typing import NDArray

_local = threading.local()
_SCRATCH_LIMIT = 48


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
