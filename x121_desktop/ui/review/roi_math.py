"""Region-of-interest geometry for the sync grid, without Qt: a zoom window in normalised image
coordinates, and the crop + scale that shows it.

The window is a fraction of the picture (0..1 both ways), so every cell shows the same region
whatever its clip's resolution. A drag on a cell that already shows a region picks a window
inside it (`within`), so zooming nests. The QPainter path crops the decoded rgb24 frame to
`crop_box` and scales the crop to the cell with `zoom_rgb`; the GL path samples the same box as
texture coordinates. Notes drawn on a zoomed cell map through `shown_window` (the pixels on
screen, as a window of the whole picture): `to_local` / `to_picture` convert between the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Rgb = npt.NDArray[np.uint8]

MAX_ZOOM = 64
"""The deepest zoom: a window at least 1/64 of the picture each way."""
_EPS = 1e-9


def fit_wh(src: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest even (w, h) with `src`'s aspect ratio inside `box` (at least 2x2)."""
    sw, sh = max(1, src[0]), max(1, src[1])
    bw, bh = max(2, box[0]), max(2, box[1])
    if sw * bh > sh * bw:
        w, h = bw, max(2, bw * sh // sw)
    else:
        w, h = max(2, bh * sw // sh), bh
    return w - w % 2, h - h % 2


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


@dataclass(frozen=True, slots=True)
class Roi:
    """A window (x, y, w, h) in normalised image coordinates: (0, 0, 1, 1) is the whole picture."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        if not (self.w > 0 and self.h > 0):
            raise ValueError(f"a region needs a positive size, got {self.w} x {self.h}")
        if self.x < -_EPS or self.y < -_EPS or self.x + self.w > 1 + 1e-6 or self.y + self.h > 1 + 1e-6:
            raise ValueError(f"region {self} lies outside the picture (0..1)")

    @property
    def is_full(self) -> bool:
        return self.w >= 1 - 1e-6 and self.h >= 1 - 1e-6

    @property
    def zoom(self) -> float:
        """How many times the region is magnified (by its width)."""
        return 1.0 / self.w

    def inner(self, part: Roi) -> Roi:
        """`part`, given relative to this region, in whole-picture coordinates."""
        return Roi(self.x + part.x * self.w, self.y + part.y * self.h, part.w * self.w, part.h * self.h)

    def scaled(self, factor: float) -> Roi:
        """Zoomed `factor` times about its centre (below 1: zoomed out), kept inside the picture."""
        lo = 1.0 / MAX_ZOOM
        w, h = _clamp(self.w / factor, lo, 1.0), _clamp(self.h / factor, lo, 1.0)
        cx, cy = self.x + self.w / 2, self.y + self.h / 2
        return Roi(_clamp(cx - w / 2, 0.0, 1.0 - w), _clamp(cy - h / 2, 0.0, 1.0 - h), w, h)

    def to_local(self, x: float, y: float) -> tuple[float, float]:
        """A whole-picture point as a fraction of this region (outside 0..1 when it lies outside)."""
        return (x - self.x) / self.w, (y - self.y) / self.h

    def to_picture(self, u: float, v: float) -> tuple[float, float]:
        """A point given as a fraction of this region, in whole-picture coordinates (`to_local`'s inverse)."""
        return self.x + u * self.w, self.y + v * self.h

    def moved(self, dx: float, dy: float) -> Roi:
        """Moved by (dx, dy) of its own size, stopping at the picture's edges."""
        return Roi(
            _clamp(self.x + dx * self.w, 0.0, 1.0 - self.w),
            _clamp(self.y + dy * self.h, 0.0, 1.0 - self.h),
            self.w,
            self.h,
        )


FULL = Roi(0.0, 0.0, 1.0, 1.0)


def band_between(ax: float, ay: float, bx: float, by: float) -> Roi | None:
    """The window dragged from (ax, ay) to (bx, by), both normalised to the picture on screen and
    clamped to it; None when it has no area."""
    x0, x1 = sorted((_clamp(ax, 0.0, 1.0), _clamp(bx, 0.0, 1.0)))
    y0, y1 = sorted((_clamp(ay, 0.0, 1.0), _clamp(by, 0.0, 1.0)))
    lo = 1.0 / MAX_ZOOM
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    w, h = max(x1 - x0, lo), max(y1 - y0, lo)
    return Roi(min(x0, 1.0 - w), min(y0, 1.0 - h), w, h)


def crop_box(roi: Roi, width: int, height: int) -> tuple[int, int, int, int]:
    """The pixels (x0, y0, x1, y1), end-exclusive, that cover `roi` in a `width` x `height` frame:
    outward to whole pixels, at least one pixel each way."""
    x0 = min(max(math.floor(roi.x * width + 1e-6), 0), width - 1)
    y0 = min(max(math.floor(roi.y * height + 1e-6), 0), height - 1)
    x1 = max(min(math.ceil((roi.x + roi.w) * width - 1e-6), width), x0 + 1)
    y1 = max(min(math.ceil((roi.y + roi.h) * height - 1e-6), height), y0 + 1)
    return x0, y0, x1, y1


def shown_window(roi: Roi | None, width: int, height: int) -> Roi:
    """What a cell shows of a `width` x `height` frame under `roi`, in normalised image coordinates:
    the whole pixels of `crop_box` (a little more than `roi` where its edges fall inside pixels)."""
    if roi is None:
        return FULL
    x0, y0, x1, y1 = crop_box(roi, width, height)
    return Roi(x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height)


def zoom_rgb(rgb: Rgb, roi: Roi, box: tuple[int, int]) -> Rgb:
    """`rgb` cropped to `roi` and scaled to the largest even size with the crop's aspect inside
    `box` (w, h): INTER_AREA where it shrinks, INTER_LINEAR where it magnifies."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = crop_box(roi, w, h)
    crop = rgb[y0:y1, x0:x1]
    tw, th = fit_wh((x1 - x0, y1 - y0), box)
    shrink = tw < x1 - x0
    out = cv2.resize(crop, (tw, th), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.ascontiguousarray(out, dtype=np.uint8)
