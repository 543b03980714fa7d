"""The aligned face crop the refinement scripts measure (symmetry) or use as a reference.

dlib's 5-point landmarks give the eye corners and the nose; `get_face_chip` rotates and scales
the face so the eyes are level and at fixed positions in a square chip. A left/right comparison
of that chip is then a comparison of the two halves of the face, not of a tilted head.
"""

from __future__ import annotations

import numpy as np

from x121_desktop.core.likeness.faces import FaceBox
from x121_desktop.core.likeness.models import face_models
from x121_desktop.core.preprocess.image import Image

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def aligned_face(image: Image, face: FaceBox, size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> Image:
    """A sizexsize RGB chip of the face, eyes level and centred (dlib get_face_chip)."""
    import dlib

    rgb = np.ascontiguousarray(image[..., :3])
    models = face_models()
    rect = dlib.rectangle(face.left, face.top, face.right - 1, face.bottom - 1)
    with models.lock:
        shape = models.landmarks(rgb, rect)
        chip = dlib.get_face_chip(rgb, shape, size=size, padding=padding)
    return np.ascontiguousarray(np.asarray(chip, dtype=np.uint8))
