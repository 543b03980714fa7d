"""Portrait validation on real photos: each check's finding, with its value and its limit."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.preprocess import (
    Check,
    Severity,
    apply_crop,
    decode_image,
    encode_png,
    read_image,
    validate_foundation,
    validate_portrait,
)
from x121_desktop.core.preprocess.checks import MIN_FACE_SHARPNESS


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut())


def _severity(report: object, check: Check) -> Severity:
    from x121_desktop.core.preprocess import SeedReport

    assert isinstance(report, SeedReport)
    return report.finding(check).severity


def test_the_astronaut_passes_every_check(astronaut: np.ndarray) -> None:
    report = validate_portrait(astronaut)
    assert report.ok, report.failures
    assert [f.check for f in report.findings] == list(Check)
    assert all(f.severity is Severity.PASSED for f in report.findings)
    assert report.face is not None
    assert report.face.height == 88
    assert report.crop.width / report.crop.height == pytest.approx(16 / 9, abs=0.01)
    assert report.finding(Check.SHARPNESS).value is not None
    assert report.finding(Check.SHARPNESS).limit == f">= {MIN_FACE_SHARPNESS}"


def test_no_face_fails_and_skips_the_face_checks() -> None:
    report = validate_portrait(np.ascontiguousarray(data.coffee()))
    assert not report.ok
    face = report.finding(Check.FACE_FOUND)
    assert face.failed
    assert face.sentence.startswith("No face was found")
    assert {_severity(report, c) for c in (Check.FACE_SIZE, Check.CENTRED, Check.SHARPNESS, Check.EXPOSURE)} == {
        Severity.SKIPPED
    }
    assert report.finding(Check.RESOLUTION).severity is Severity.PASSED


def test_a_tiny_image_fails_on_resolution(astronaut: np.ndarray) -> None:
    tiny = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    report = validate_portrait(tiny)
    resolution = report.finding(Check.RESOLUTION)
    assert resolution.failed
    assert "below the 256 px minimum" in resolution.sentence


def test_a_small_face_fails_face_size(astronaut: np.ndarray) -> None:
    # the astronaut at half size inside a 640x640 frame: the face is ~45 px, below the 64 px minimum
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    framed = np.ascontiguousarray(np.pad(small, ((192, 192), (192, 192), (0, 0)), mode="reflect"))
    report = validate_portrait(framed, Fraction(1, 1))
    size = report.finding(Check.FACE_SIZE)
    assert size.failed
    assert "px minimum" in size.sentence
    assert report.finding(Check.RESOLUTION).severity is Severity.PASSED


def test_blur_fails_sharpness(astronaut: np.ndarray) -> None:
    assert validate_portrait(cv2.GaussianBlur(astronaut, (0, 0), 1.0)).finding(Check.SHARPNESS).severity is (
        Severity.PASSED
    )
    blurred = validate_portrait(cv2.GaussianBlur(astronaut, (0, 0), 2.0))
    sharp = blurred.finding(Check.SHARPNESS)
    assert sharp.failed
    assert "blurred" in sharp.sentence
    assert [f.check for f in blurred.failures] == [Check.SHARPNESS]


def test_dark_and_blown_out_faces_fail_exposure(astronaut: np.ndarray) -> None:
    dark = np.clip(astronaut * 0.4, 0, 255).astype(np.uint8)
    finding = validate_portrait(dark).finding(Check.EXPOSURE)
    assert finding.failed
    assert "underexposed" in finding.sentence
    bright = np.clip(astronaut.astype(np.float32) * 1.3 + 40, 0, 255).astype(np.uint8)
    finding = validate_portrait(bright).finding(Check.EXPOSURE)
    assert finding.failed
    assert "overexposed" in finding.sentence


def test_a_face_at_the_edge_cannot_be_centred(astronaut: np.ndarray) -> None:
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    edge = np.ascontiguousarray(big[150:, 330:])  # the face now touches the left border
    report = validate_portrait(edge)
    centred = report.finding(Check.CENTRED)
    assert centred.failed
    assert "even after cropping" in centred.sentence
    assert report.finding(Check.RESOLUTION).severity is Severity.PASSED


def test_a_foundation_needs_no_face_and_is_centre_cropped() -> None:
    rocket = np.ascontiguousarray(data.rocket())  # 427 x 640
    report = validate_foundation(rocket, Fraction(16, 9))
    assert report.ok
    assert report.finding(Check.FACE_FOUND).severity is Severity.WARNING
    assert (report.crop.width, report.crop.height) == (640, 360)
    assert report.crop.top == (427 - 360 + 1) // 2
    assert apply_crop(rocket, report.crop).shape == (360, 640, 3)


def test_corrupt_truncated_and_missing_files(astronaut: np.ndarray, tmp_path: Path) -> None:
    png = encode_png(astronaut)
    assert decode_image(png, "ok.png").shape == (512, 512, 3)
    with pytest.raises(InvalidInput, match="is truncated"):
        decode_image(png[: len(png) // 2], "half.png")
    ok, jpeg = cv2.imencode(".jpg", astronaut)
    assert ok
    with pytest.raises(InvalidInput, match="is truncated"):
        decode_image(jpeg.tobytes()[:-5000], "half.jpg")
    with pytest.raises(InvalidInput, match="not a readable image"):
        decode_image(b"GIF89a this is not really an image", "x.gif")
    with pytest.raises(InvalidInput, match="is empty"):
        decode_image(b"", "empty.png")
    with pytest.raises(NotFound):
        read_image(tmp_path / "missing.png")
