"""Likeness: dlib HOG face detection and 128-d identity embeddings compared with Seed A.

Public API (stable; other modules build on it)::

    from x121_desktop.core.likeness import observe_face, reference_from_image, SAME_PERSON_DISTANCE

Importing this package loads dlib but not the models; they load on first use (faces.py).
"""

from __future__ import annotations

from x121_desktop.core.likeness.faces import (
    DETECT_MAX_SIDE,
    EMBEDDING_SIZE,
    SAME_PERSON_DISTANCE,
    FaceBox,
    FaceObservation,
    IdentityReference,
    NoFaceFound,
    detect_faces,
    embed_face,
    face_distance,
    observe_face,
    reference_from_image,
)
from x121_desktop.core.likeness.models import FaceModelsMissing, face_models, models_dir

__all__ = [
    "DETECT_MAX_SIDE",
    "EMBEDDING_SIZE",
    "SAME_PERSON_DISTANCE",
    "FaceBox",
    "FaceModelsMissing",
    "FaceObservation",
    "IdentityReference",
    "NoFaceFound",
    "detect_faces",
    "embed_face",
    "face_distance",
    "face_models",
    "models_dir",
    "observe_face",
    "reference_from_image",
]
