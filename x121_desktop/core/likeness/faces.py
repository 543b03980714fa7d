"""Face detection (dlib HOG) and 128-d identity embeddings compared with Seed A.

* Detection: dlib's HOG frontal detector on a copy of the frame reduced so its long side is at
  most ``DETECT_MAX_SIDE`` (1080p costs 145-155 ms at full size, PLATFORM.md). It runs with
  upsample 0 first and, only if that finds nothing, upsample 1 (finds faces down to ~40 px but can
  add false positives), and keeps the **largest** box among the confident ones: a box scoring below
  half the best detection's score is dropped first. (Measured: on a JPEG q35-75 astronaut, HOG adds
  a 105 px false box at score 0.07-0.14 beside the real 88 px face at 1.4-1.6; "largest" alone
  picked the wrong one.)
* Embedding: the 5-point landmarks and the ResNet encoder on the full-resolution frame (the encoder
  works on a 150x150 aligned chip, so resolution above that adds nothing).
* Distance: euclidean between embeddings. dlib's rule: **< 0.6 means the same person**
  (``SAME_PERSON_DISTANCE``). Measured: the same face zoomed, rotated, JPEG'd or mirrored gives
  0.06-0.20; a different person ~0.8 (PLATFORM.md; tests/core/likeness).

A frame with no face is not an error: ``observe_face`` returns None and callers report a degraded
result ("no face found in …"). Only a *seed* image without a face raises ``NoFaceFound``, because
the person asked to compare against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import dlib
import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness.models import face_models

SAME_PERSON_DISTANCE = 0.6
CONFIDENT_SHARE = 0.5
"""Boxes scoring below this share of the best detection are dropped before taking the largest."""
DETECT_MAX_SIDE = 640
EMBEDDING_SIZE = 128


class NoFaceFound(InvalidInput):
    """A reference image (Seed A) contains no face the detector can find."""


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A face rectangle in full-frame pixels (right/bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)


@dataclass(frozen=True, slots=True)
class FaceObservation:
    """The largest face of a frame and its 128-d embedding."""

    box: FaceBox
    embedding: tuple[float, ...]

    def distance_to(self, other: FaceObservation | IdentityReference) -> float:
        return face_distance(self.embedding, other.embedding)


@dataclass(frozen=True, slots=True)
class IdentityReference:
    """Seed A: the embedding every frame is compared with, and a label for messages."""

    embedding: tuple[float, ...]
    label: str = "Seed A"
    box: FaceBox | None = None


def _as_rgb(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"a face image must be uint8 gray, RGB or RGBA, got {image.shape} {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(np.dstack([image, image, image]))
    return np.ascontiguousarray(image[..., :3])


def detect_faces(image: NDArray[np.uint8]) -> list[FaceBox]:
    """Confident face boxes (upsample 0, then 1 if none), largest first, in full-frame pixels."""
    rgb = _as_rgb(image)
    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = rgb if scale >= 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    models = face_models()
    with models.lock:
        found, scores, _ = models.detector.run(small, 0, 0.0)
        if len(found) == 0:
            found, scores, _ = models.detector.run(small, 1, 0.0)
    best = max(scores, default=0.0)
    boxes = [
        FaceBox(
            max(0, round(r.left() / scale)),
            max(0, round(r.top() / scale)),
            min(w, round((r.right() + 1) / scale)),
            min(h, round((r.bottom() + 1) / scale)),
        )
        for r, score in zip(found, scores, strict=True)
        if score >= CONFIDENT_SHARE * best
    ]
    boxes = [b for b in boxes if b.area > 0]
    boxes.sort(key=lambda b: b.area, reverse=True)
    return boxes


def embed_face(image: NDArray[np.uint8], box: FaceBox) -> tuple[float, ...]:
    """The 128-d embedding of the face in ``box``."""
    rgb = _as_rgb(image)
    models = face_models()
    rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    with models.lock:
        shape = models.landmarks(rgb, rect)
        descriptor = models.encoder.compute_face_descriptor(rgb, shape, 1)
    return tuple(float(v) for v in descriptor)


def observe_face(image: NDArray[np.uint8]) -> FaceObservation | None:
    """The largest face of ``image`` with its embedding, or None when no face is found."""
    boxes = detect_faces(image)
    if not boxes:
        return None
    return FaceObservation(boxes[0], embed_face(image, boxes[0]))


def reference_from_image(image: NDArray[np.uint8], label: str = "Seed A") -> IdentityReference:
    """Seed A's identity; raises NoFaceFound when the image holds no detectable face."""
    seen = observe_face(image)
    if seen is None:
        raise NoFaceFound(
            f"No face found in {label}",
            "Choose a seed image with a clear frontal face (at least ~40 px), or analyse without a seed.",
        )
    return IdentityReference(seen.embedding, label, seen.box)


def face_distance(a: tuple[float, ...] | NDArray[np.floating], b: tuple[float, ...] | NDArray[np.floating]) -> float:
    """Euclidean distance between two 128-d embeddings; < SAME_PERSON_DISTANCE = same person."""
    va = np.asarray(a, dtype=np.float64)
    vb = np.asarray(b, dtype=np.float64)
    if va.shape != (EMBEDDING_SIZE,) or vb.shape != (EMBEDDING_SIZE,):
        raise ValueError(f"face embeddings must have {EMBEDDING_SIZE} values, got {va.shape} and {vb.shape}")
    return float(np.linalg.norm(va - vb))
