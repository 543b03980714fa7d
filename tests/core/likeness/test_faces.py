"""Likeness on real photographs: model loading, detection, embeddings and the same-person rule."""

from __future__ import annotations

import sys
import threading

import cv2
import numpy as np
import pytest
import skimage.data

from tests.seam_fixtures import ASTRONAUT_FACE, lfw_face, own_face_25, swap_face
from x121_desktop.core.likeness import (
    SAME_PERSON_DISTANCE,
    FaceBox,
    IdentityReference,
    NoFaceFound,
    detect_faces,
    face_distance,
    face_models,
    models_dir,
    observe_face,
    reference_from_image,
)


@pytest.fixture(scope="module")
def seed() -> IdentityReference:
    return reference_from_image(skimage.data.astronaut())


def test_models_are_found_without_pkg_resources_and_loaded_once() -> None:
    folder = models_dir()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    assert face_models() is face_models()
    # find_spec locates the wheel without running its pkg_resources import
    assert "face_recognition_models" not in sys.modules


def test_astronaut_face_is_found_where_expected(seed: IdentityReference) -> None:
    boxes = detect_faces(skimage.data.astronaut())
    assert boxes
    box = boxes[0]
    x0, y0, x1, y1 = ASTRONAUT_FACE
    assert abs(box.left - x0) <= 4
    assert abs(box.top - y0) <= 4
    assert abs(box.right - x1) <= 4
    assert abs(box.bottom - y1) <= 4
    assert seed.box == box
    assert len(seed.embedding) == 128


def test_large_frames_are_detected_on_a_reduced_copy_and_mapped_back() -> None:
    big = cv2.resize(skimage.data.astronaut(), (1536, 1536), interpolation=cv2.INTER_CUBIC)
    box = detect_faces(big)[0]
    x0, y0, x1, y1 = (3 * v for v in ASTRONAUT_FACE)
    inter = max(0, min(box.right, x1) - max(box.left, x0)) * max(0, min(box.bottom, y1) - max(box.top, y0))
    union = box.area + (x1 - x0) * (y1 - y0) - inter
    assert inter / union > 0.75  # HOG boxes are quantised (~6 px at the 640 px detection size)


@pytest.mark.parametrize(
    ("change", "limit"),
    [("zoom", 0.25), ("rotate", 0.25), ("jpeg", 0.3), ("mirror", 0.3), ("half", 0.35), ("control", 0.5)],
)
def test_same_person_stays_below_the_rule(seed: IdentityReference, change: str, limit: float) -> None:
    img = skimage.data.astronaut()
    h, w = img.shape[:2]
    if change == "zoom":
        img = cv2.resize(img[40:400, 60:420], (512, 512), interpolation=cv2.INTER_CUBIC)
    elif change == "rotate":
        img = cv2.warpAffine(img, cv2.getRotationMatrix2D((220, 130), 6, 1.05), (w, h))
    elif change == "jpeg":
        img = cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 35])[1], cv2.IMREAD_UNCHANGED)
    elif change == "mirror":
        img = np.ascontiguousarray(img[:, ::-1])
    elif change == "half":
        img = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
    else:
        img = swap_face(own_face_25())
    seen = observe_face(img)
    assert seen is not None
    assert seen.distance_to(seed) < limit < SAME_PERSON_DISTANCE + 1e-9


@pytest.mark.parametrize("index", [0, 1, 9, 22, 28])
def test_other_real_people_are_beyond_the_rule(seed: IdentityReference, index: int) -> None:
    seen = observe_face(swap_face(lfw_face(index)))
    assert seen is not None
    assert seen.distance_to(seed) > SAME_PERSON_DISTANCE


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
def test_no_face_is_a_documented_none_and_a_seed_without_one_a_clear_error(name: str) -> None:
    img = getattr(skimage.data, name)()
    assert detect_faces(img) == []
    assert observe_face(img) is None
    with pytest.raises(NoFaceFound, match=r"No face found in seed\.png\. Choose a seed image"):
        reference_from_image(img, "seed.png")


def test_gray_and_rgba_images_are_accepted() -> None:
    astro = skimage.data.astronaut()
    gray = cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([astro, np.full(astro.shape[:2], 255, np.uint8)])
    assert observe_face(gray) is not None
    assert observe_face(rgba) is not None
    with pytest.raises(ValueError, match="uint8"):
        observe_face(astro.astype(np.float32))


def test_concurrent_use_gives_the_same_answers(seed: IdentityReference) -> None:
    img = skimage.data.astronaut()
    results: list[float] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(2):
                seen = observe_face(img)
                assert seen is not None
                results.append(seen.distance_to(seed))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 6
    assert max(results) - min(results) < 1e-6


def test_face_distance_checks_sizes_and_box_geometry() -> None:
    with pytest.raises(ValueError, match="128"):
        face_distance((0.0,) * 3, (0.0,) * 128)
    assert face_distance((0.0,) * 128, (0.0,) * 128) == 0.0
    box = FaceBox(10, 20, 50, 80)
    assert (box.width, box.height, box.area, box.center) == (40, 60, 2400, (30.0, 50.0))
