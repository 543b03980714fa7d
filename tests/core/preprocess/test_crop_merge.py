"""Crop geometry (pure arithmetic), the aligned face chip and seed merges on real photos."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from skimage import data

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness import detect_faces
from x121_desktop.core.likeness.faces import FaceBox
from x121_desktop.core.preprocess import MergeMode, aligned_face, crop_around_face, merge_images, parse_aspect
from x121_desktop.core.preprocess.crop import FACE_CENTRE_Y, MIN_SHORT_SIDE_PX, face_offset
from x121_desktop.core.stitching.colour import lab_stats


@pytest.mark.parametrize(
    ("text", "value"),
    [("16:9", Fraction(16, 9)), ("9/16", Fraction(9, 16)), ("1280x720", Fraction(16, 9)), ("1.5", Fraction(3, 2))],
)
def test_parse_aspect(text: str, value: Fraction) -> None:
    assert parse_aspect(text) == value


@pytest.mark.parametrize("text", ["", "wide", "0:9", "16:", "-1"])
def test_parse_aspect_refuses_nonsense(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not an aspect ratio"):
        parse_aspect(text)


@given(
    w=st.integers(64, 4000),
    h=st.integers(64, 4000),
    aspect=st.sampled_from([Fraction(16, 9), Fraction(9, 16), Fraction(1, 1), Fraction(4, 5)]),
    fx=st.floats(0, 1),
    fy=st.floats(0, 1),
    fs=st.floats(0.02, 0.9),
)
def test_crop_has_the_aspect_fits_and_holds_the_face(
    w: int, h: int, aspect: Fraction, fx: float, fy: float, fs: float
) -> None:
    side = max(2, round(min(w, h) * fs))
    left, top = round((w - side) * fx), round((h - side) * fy)
    face = FaceBox(left, top, left + side, top + side)
    crop = crop_around_face(w, h, face, aspect)
    assert crop.left >= 0
    assert crop.top >= 0
    assert crop.right <= w
    assert crop.bottom <= h
    assert abs(crop.width / crop.height - float(aspect)) <= 1.5 / min(crop.width, crop.height) * float(aspect) + 0.02
    assert crop.short_side >= min(MIN_SHORT_SIDE_PX, crop.short_side)  # never shrunk below the floor by zooming
    if crop.width >= side and crop.height >= side * 1.2:
        cx, cy = face.center
        assert crop.left <= cx <= crop.right
        assert crop.top <= cy <= crop.bottom


def test_zoom_never_goes_below_the_resolution_floor() -> None:
    face = FaceBox(900, 500, 940, 540)  # a 40 px face in a 1920x1080 frame
    crop = crop_around_face(1920, 1080, face, Fraction(16, 9))
    assert crop.height == MIN_SHORT_SIDE_PX
    dx, dy = face_offset(crop, face)
    assert abs(dx) < 0.01
    assert abs(dy) < 0.01
    big_face = FaceBox(700, 300, 1100, 700)
    crop = crop_around_face(1920, 1080, big_face, Fraction(16, 9))
    assert (crop.width, crop.height) == (1920, 1080)  # the whole frame; the face fills 37 %
    assert face_offset(crop, big_face)[1] == pytest.approx(500 / 1080 - FACE_CENTRE_Y)


def test_aligned_face_is_a_level_square_chip() -> None:
    image = np.ascontiguousarray(data.astronaut())
    chip = aligned_face(image, detect_faces(image)[0])
    assert chip.shape == (150, 150, 3)
    assert chip.dtype == np.uint8
    again = detect_faces(np.ascontiguousarray(np.pad(chip, ((75, 75), (75, 75), (0, 0)), mode="edge")))
    assert again, "the chip still holds a detectable face"


def test_blend_and_transfer() -> None:
    first = np.ascontiguousarray(data.astronaut())
    second = np.ascontiguousarray(data.coffee())  # 400 x 600: cropped to square, resized
    blend = merge_images(first, second, MergeMode.BLEND)
    assert blend.shape == first.shape
    assert np.array_equal(merge_images(first, second, MergeMode.BLEND, 0.0), first)
    mean_blend = float(blend.astype(np.float64).mean())
    assert min(first.mean(), second.mean()) - 1 < mean_blend < max(first.mean(), second.mean()) + 1
    transfer = merge_images(first, second, MergeMode.TRANSFER)
    assert transfer.shape == first.shape
    target, before, after = lab_stats([second]), lab_stats([first]), lab_stats([transfer])
    for ch in (1, 2):  # a*, b*: the colours of the second
        assert abs(after.mean[ch] - target.mean[ch]) < abs(before.mean[ch] - target.mean[ch]) / 3
    with pytest.raises(InvalidInput, match=r"outside 0\.\.1"):
        merge_images(first, second, MergeMode.BLEND, 1.5)
