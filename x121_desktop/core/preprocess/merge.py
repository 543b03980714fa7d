"""Merging two seed variations into a new one (Seed B manager).

* ``blend``: a linear mix, ``(1 - amount) * first + amount * second``; the second image is first
  centre-cropped to the first's aspect and resized to its size.
* ``transfer``: the first image's content with the second's colours: Reinhard mean/std transfer
  in CIE Lab (core.stitching.colour), applied at ``amount`` (1 = full transfer).
"""

from __future__ import annotations

import enum
from typing import cast

import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.preprocess.image import Image
from x121_desktop.core.stitching.colour import ColourMethod, apply_transfer, fit_transfer

DEFAULT_BLEND_AMOUNT = 0.5
DEFAULT_TRANSFER_AMOUNT = 1.0


class MergeMode(enum.Enum):
    BLEND = "blend"
    TRANSFER = "transfer"

    @property
    def default_amount(self) -> float:
        return DEFAULT_BLEND_AMOUNT if self is MergeMode.BLEND else DEFAULT_TRANSFER_AMOUNT


def fit_to(image: Image, width: int, height: int) -> Image:
    """Centre-crop `image` to width/height's aspect, then resize it to exactly widthxheight."""
    import cv2

    h, w = image.shape[:2]
    if w * height > h * width:  # too wide
        cw = max(1, round(h * width / height))
        x0 = (w - cw) // 2
        image = image[:, x0 : x0 + cw]
    elif w * height < h * width:  # too tall
        ch = max(1, round(w * height / width))
        y0 = (h - ch) // 2
        image = image[y0 : y0 + ch]
    if image.shape[1] == width and image.shape[0] == height:
        return np.ascontiguousarray(image)
    interp = cv2.INTER_AREA if image.shape[1] > width else cv2.INTER_CUBIC
    return cast("Image", cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=interp))


def merge_images(first: Image, second: Image, mode: MergeMode, amount: float | None = None) -> Image:
    """A new image from two RGB uint8 seeds; the result has the first's size."""
    share = mode.default_amount if amount is None else amount
    if not 0.0 <= share <= 1.0:
        raise InvalidInput(f"The merge amount {share:g} is outside 0..1", "Give an amount between 0 and 1")
    h, w = first.shape[:2]
    if mode is MergeMode.BLEND:
        other = fit_to(second, w, h)
        mixed: NDArray[np.float32] = first.astype(np.float32) * (1.0 - share) + other.astype(np.float32) * share
        return np.asarray(np.clip(np.rint(mixed), 0, 255), dtype=np.uint8)
    transfer = fit_transfer([second], [first], ColourMethod.REINHARD)
    return apply_transfer(first, transfer, share)
