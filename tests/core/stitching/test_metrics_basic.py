"""SSIM against scikit-image, pHash, and the pair metrics on real photographs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
from skimage.metrics import structural_similarity

from x121_desktop.core.stitching.frames import AnalysisGeometry, check_frame
from x121_desktop.core.stitching.metrics import compare_frames
from x121_desktop.core.stitching.phash import hamming, phash
from x121_desktop.core.stitching.ssim import ssim


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("astronaut", "noise"),
        ("coffee", "blur"),
        ("camera", "shift"),
        ("chelsea", "gamma"),
        ("rocket", "identical"),
    ],
)
def test_ssim_matches_scikit_image(name: str, change: str) -> None:
    a = _gray(getattr(skimage.data, name)())
    rng = np.random.default_rng(7)
    if change == "noise":
        b = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    elif change == "blur":
        b = cv2.GaussianBlur(a, (0, 0), 2.0)
    elif change == "shift":
        b = np.roll(a, 3, axis=1)
    elif change == "gamma":
        b = (255 * (a / 255.0) ** 0.7).astype(np.uint8)
    else:
        b = a.copy()
    ours = ssim(a, b)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    assert abs(ours - ref) < 1e-3, (ours, ref)


def test_ssim_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="one shape"):
        ssim(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8))


def test_phash_is_stable_under_small_changes_and_separates_photos() -> None:
    astro = skimage.data.astronaut()
    same = phash(astro)
    assert 0 <= same < 2**64
    jpeg = cv2.imdecode(cv2.imencode(".jpg", astro, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], cv2.IMREAD_UNCHANGED)
    assert hamming(same, phash(jpeg)) <= 4
    assert hamming(same, phash(cv2.resize(astro, (256, 256), interpolation=cv2.INTER_AREA))) <= 4
    others = [skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()]
    assert all(hamming(same, phash(o)) >= 20 for o in others)


def test_compare_frames_reads_a_colour_cast_and_an_exposure_jump() -> None:
    img = skimage.data.coffee()
    warm = np.clip(img.astype(np.int16) + np.array([18, 0, -18], np.int16), 0, 255).astype(np.uint8)
    dark = (img * 0.75).astype(np.uint8)
    same = compare_frames(img, img.copy())
    assert same.ssim == pytest.approx(1.0)
    assert same.delta_e_cast < 0.01
    assert same.difference == 0.0
    cast = compare_frames(img, warm)
    assert cast.delta_e_cast > 5.0
    assert abs(cast.exposure_jump) < cast.delta_e_cast / 2
    expo = compare_frames(img, dark)
    assert expo.exposure_jump < -6.0


def test_frames_are_validated_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        check_frame(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="at least 2x2"):
        check_frame(np.zeros((1, 8, 3), np.uint8))


def test_geometry_keeps_small_frames_near_full_size() -> None:
    g = AnalysisGeometry.for_frame(np.zeros((1080, 1920, 3), np.uint8))
    assert g.quarter == (480, 270)
    assert g.eighth == (240, 135)
    tiny = AnalysisGeometry.for_frame(np.zeros((48, 64, 3), np.uint8))
    assert tiny.quarter == (64, 48)
    # odd sizes and mismatched frames still compare
    odd = compare_frames(np.full((37, 53, 3), 90, np.uint8), np.full((40, 60, 3), 90, np.uint8))
    assert odd.ssim == pytest.approx(1.0, abs=1e-3)
