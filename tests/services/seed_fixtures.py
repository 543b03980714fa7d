"""Shared by the character and seed service tests: a migrated database per module, real photos."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from skimage import data

from x121_desktop.core.preprocess import encode_png

_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


def write_png(folder: Path, name: str, image: np.ndarray) -> Path:
    path = folder / name
    path.write_bytes(encode_png(np.ascontiguousarray(image)))
    return path


def photos(folder: Path) -> dict[str, Path]:
    """astronaut (portrait), rocket and coffee (no face), tiny astronaut, corrupt PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    astronaut = data.astronaut()
    out = {
        "astronaut": write_png(folder, "astronaut.png", astronaut),
        "rocket": write_png(folder, "rocket.png", data.rocket()),
        "coffee": write_png(folder, "coffee.png", data.coffee()),
        "tiny": write_png(folder, "tiny.png", astronaut[::4, ::4]),
    }
    corrupt = folder / "corrupt.png"
    corrupt.write_bytes(out["astronaut"].read_bytes()[:4000])
    out["corrupt"] = corrupt
    return out
