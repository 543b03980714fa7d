"""Transition normalization with the real dlib face detector on a real portrait."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.media_factory import photo
from x121_desktop.core.likeness import FaceBox
from x121_desktop.core.stitching.normalize import (
    IDENTITY,
    BorderMode,
    NormalizeRequest,
    SubjectPosition,
    correction_matrix,
    locate_subject,
    measure_drift,
    normalize_start,
)

SIDE = 256


@pytest.fixture(scope="module")
def anchor() -> np.ndarray:
    return np.ascontiguousarray(cv2.resize(photo("astronaut"), (SIDE, SIDE), interpolation=cv2.INTER_AREA))


def _drifted(image: np.ndarray, zoom: float, dx: float, dy: float) -> np.ndarray:
    """The subject zoomed by `zoom` about the centre and moved by (dx, dy) pixels."""
    c = SIDE / 2
    m = np.array([[zoom, 0, c - zoom * c + dx], [0, zoom, c - zoom * c + dy]], dtype=np.float64)
    return np.asarray(cv2.warpAffine(image, m, (SIDE, SIDE), borderMode=cv2.BORDER_REFLECT_101), dtype=np.uint8)


def test_drift_and_matrix_maths() -> None:
    a = SubjectPosition(FaceBox(40, 40, 80, 80), (60.0, 60.0), 20.0)
    c = SubjectPosition(FaceBox(70, 50, 130, 110), (100.0, 80.0), 30.0)  # +20 %, +10 % of 200; 1.5x bigger
    drift = measure_drift(a, (200, 200), c, (200, 200))
    assert (drift.dx, drift.dy, drift.scale) == pytest.approx((0.2, 0.1, 1.5))
    m = correction_matrix(drift, (200, 200), max_scale=2.0)
    # The cut face centre (100, 80) lands on the anchor face centre (60, 60).
    assert m[0] * 100 + m[2] == pytest.approx(60)
    assert m[4] * 80 + m[5] == pytest.approx(60)
    assert m[0] == pytest.approx(1 / 1.5)


def test_zoomed_and_shifted_subject_is_put_back(anchor: np.ndarray) -> None:
    cut = _drifted(anchor, 1.3, 28, -14)
    want = locate_subject(anchor)
    assert want is not None
    result = normalize_start(NormalizeRequest(anchor, cut, BorderMode.EDGE))
    assert result.applied
    assert result.drift is not None
    assert result.drift.scale == pytest.approx(1.3, abs=0.06)
    # The zoom was about the centre (128, 128): the eyes moved by 0.3 * (eyes - centre) + (28, -14).
    expect_dx = (0.3 * (want.centre[0] - SIDE / 2) + 28) / SIDE
    assert result.drift.dx == pytest.approx(expect_dx, abs=0.01)
    assert result.zoom == pytest.approx(1 / 1.3, abs=0.04)
    assert result.image.shape == cut.shape
    assert result.border is BorderMode.EDGE
    assert "re-centred" in result.reason
    after = locate_subject(result.image)
    assert after is not None
    # Eyes back within ~1.5 % of the frame, eye distance within ~5 %.
    assert abs(after.centre[0] - want.centre[0]) < 0.015 * SIDE
    assert abs(after.centre[1] - want.centre[1]) < 0.015 * SIDE
    assert after.size / want.size == pytest.approx(1.0, abs=0.05)


def test_small_drift_is_left_alone(anchor: np.ndarray) -> None:
    result = normalize_start(NormalizeRequest(anchor, anchor.copy()))
    assert not result.applied
    assert result.matrix == IDENTITY
    assert "within tolerance" in result.reason


def test_no_face_is_a_documented_no_op(anchor: np.ndarray) -> None:
    cup = np.ascontiguousarray(cv2.resize(photo("coffee"), (SIDE, SIDE)))
    result = normalize_start(NormalizeRequest(anchor, cup))
    assert not result.applied
    assert result.image is cup
    assert result.drift is None
    assert result.reason.startswith("no face found in the cut frame")
    result = normalize_start(NormalizeRequest(cup, anchor))
    assert not result.applied
    assert result.reason.startswith("no face found in the anchor")


def test_zoom_is_limited(anchor: np.ndarray) -> None:
    cut = _drifted(anchor, 1.6, 0, 0)
    result = normalize_start(NormalizeRequest(anchor, cut, max_scale=1.25))
    assert result.applied
    assert result.zoom == pytest.approx(0.8)
    assert "zoom limited" in result.reason
