"""RGB test frames as the decoded Y/U/V planes an encoder would see (for the YUV-path tests)."""

from __future__ import annotations

from collections.abc import Iterable

import av
import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.media import YuvFrame, yuv_from_av


def as_planes(frames: Iterable[NDArray[np.uint8]]) -> list[YuvFrame]:
    """Frames through swscale to yuv420p (untagged BT.601, as an encoder gets them)."""
    return [yuv_from_av(av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")) for f in frames]
