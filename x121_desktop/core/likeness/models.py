"""Locating and loading the dlib face models, once, lazily and thread-safely.

The landmark and 128-d encoder models ship in the ``face_recognition_models`` wheel. We find
its folder with ``importlib.util.find_spec`` instead of importing it: its ``__init__`` imports
``pkg_resources``, which fails on a bare Python 3.12 venv or with setuptools >= 81
(PLATFORM.md). The HOG frontal detector is built into dlib and needs no file.

Loading takes ~0.2-1.2 s, so it happens on first use and is shared by the whole process.
dlib's Python objects are not documented as re-entrant, so each call into them holds
``FaceModels.lock``; the GIL would serialise most of that work anyway.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlib

from x121_desktop.core.errors import InvalidInput

MODELS_PACKAGE = "face_recognition_models"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
ENCODER_FILE = "dlib_face_recognition_resnet_model_v1.dat"


class FaceModelsMissing(InvalidInput):
    """The face-recognition-models wheel (or one of its files) is not installed."""


@dataclass(frozen=True)
class FaceModels:
    """The three dlib models; use through x121_desktop.core.likeness.faces."""

    detector: Any
    landmarks: Any
    encoder: Any
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)


_lock = threading.Lock()
_models: FaceModels | None = None


def models_dir() -> Path:
    """The folder holding the .dat model files, found without importing the package."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "models"
        if (candidate / ENCODER_FILE).is_file() and (candidate / LANDMARKS_FILE).is_file():
            return candidate
    raise FaceModelsMissing(
        "The face models (face-recognition-models) are not installed",
        "Run scripts/setup.sh again, or `pip install face-recognition-models` in the studio's environment.",
    )


def face_models() -> FaceModels:
    """The process-wide models, loaded on first call (thread-safe)."""
    global _models  # noqa: PLW0603 - one lazily built, immutable, process-wide cache
    loaded = _models
    if loaded is not None:
        return loaded
    with _lock:
        if _models is None:
            folder = models_dir()
            _models = FaceModels(
                detector=dlib.get_frontal_face_detector(),
                landmarks=dlib.shape_predictor(str(folder / LANDMARKS_FILE)),
                encoder=dlib.face_recognition_model_v1(str(folder / ENCODER_FILE)),
            )
        return _models
