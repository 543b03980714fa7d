"""Auto-crop geometry: the largest crop of the target aspect that frames the face well.

Pure arithmetic on sizes and boxes (no pixels until `apply_crop`):

1. The crop has the target aspect (e.g. the project's 16:9) and is as large as the image allows.
2. If the face would fill less than ``TARGET_FACE_SHARE`` of the crop height, the crop shrinks
   towards that share, but never below ``MIN_SHORT_SIDE_PX`` on its short side (resolution first).
3. It is placed so the face centre sits at (``FACE_CENTRE_X``, ``FACE_CENTRE_Y``) of the crop,
   i.e. horizontally centred with headroom above, then pushed back inside the image.
Without a face, the crop is centred on the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness.faces import FaceBox
from x121_desktop.core.preprocess.image import Image

MIN_SHORT_SIDE_PX = 256
"""A seed narrower than this on its short side is too small for image-to-video models."""
TARGET_FACE_SHARE = 0.25
"""The face box height as a share of the crop height that a head-and-shoulders framing aims at."""
FACE_CENTRE_X = 0.5
FACE_CENTRE_Y = 0.45
"""Where the face centre should sit in the crop, as shares of its width and height."""
DEFAULT_ASPECT = Fraction(16, 9)


@dataclass(frozen=True, slots=True)
class CropBox:
    """A crop rectangle in source pixels (right/bottom exclusive)."""

    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)


def parse_aspect(text: str) -> Fraction:
    """'16:9', '9/16', '1.5' or '1280x720' → the width/height ratio."""
    cleaned = text.strip().lower()
    for sep in (":", "/", "x"):
        if sep in cleaned:
            left, _, right = cleaned.partition(sep)
            try:
                w, h = int(left), int(right)
            except ValueError:
                break
            if w > 0 and h > 0:
                return Fraction(w, h)
            break
    else:
        try:
            value = Fraction(cleaned)
        except (ValueError, ZeroDivisionError):
            value = Fraction(0)
        if value > 0:
            return value
    raise InvalidInput(f"{text!r} is not an aspect ratio", "Write it like 16:9, 9:16 or 1280x720")


def _size_for_height(height: float, aspect: Fraction) -> tuple[int, int]:
    return max(1, round(height * aspect)), max(1, round(height))


def crop_around_face(width: int, height: int, face: FaceBox | None, aspect: Fraction = DEFAULT_ASPECT) -> CropBox:
    """The crop of `aspect` (width/height) for an image of `width`x`height` with this face (or none)."""
    if width <= 0 or height <= 0 or aspect <= 0:
        raise ValueError(f"cannot crop a {width}x{height} image to aspect {aspect}")
    max_h = min(float(height), float(width / aspect))
    crop_h = max_h
    if face is not None and face.height > 0:
        wanted = face.height / TARGET_FACE_SHARE
        # the height at which the short side reaches MIN_SHORT_SIDE_PX
        floor_h = float(MIN_SHORT_SIDE_PX if aspect >= 1 else MIN_SHORT_SIDE_PX / aspect)
        crop_h = min(max_h, max(wanted, floor_h))
    cw, ch = _size_for_height(crop_h, aspect)
    cw, ch = min(cw, width), min(ch, height)
    if face is None:
        cx, cy = width / 2.0, height / 2.0
        left, top = cx - cw / 2.0, cy - ch / 2.0
    else:
        fx, fy = face.center
        left, top = fx - FACE_CENTRE_X * cw, fy - FACE_CENTRE_Y * ch
    left = min(max(0.0, left), float(width - cw))
    top = min(max(0.0, top), float(height - ch))
    return CropBox(math.floor(left + 0.5), math.floor(top + 0.5), cw, ch)


def face_offset(crop: CropBox, face: FaceBox) -> tuple[float, float]:
    """How far the face centre is from its target point, as shares of the crop width and height."""
    fx, fy = face.center
    dx = (fx - crop.left) / crop.width - FACE_CENTRE_X
    dy = (fy - crop.top) / crop.height - FACE_CENTRE_Y
    return dx, dy


def apply_crop(image: Image, crop: CropBox) -> Image:
    h, w = image.shape[:2]
    if crop.left < 0 or crop.top < 0 or crop.right > w or crop.bottom > h:
        raise ValueError(f"crop {crop} does not fit a {w}x{h} image")
    return image[crop.top : crop.bottom, crop.left : crop.right].copy()
