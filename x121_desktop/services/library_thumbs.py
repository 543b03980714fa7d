"""Library thumbnails and hover-scrub strips: made once per file content, kept on disk, read back fast.

Blocking work for the cpu executor (services/library.py awaits it). A cache file is named by the
file's sha256, the size and the frame count, so it never goes stale (content-addressed media) and
two workstations sharing a home never clash. Writes are atomic: a temporary file in the same
folder, fsynced, then renamed over the target, so a reader sees a whole image or none.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.errors import MediaError

# cv2 and the media reader (PyAV) load on first use, not when the UI imports the library service.

JPEG_QUALITY = 85


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """An RGB888 image: one picture, or `frames` pictures side by side (a hover-scrub strip)."""

    file_id: int
    width: int
    height: int
    frames: int
    rgb: bytes

    @property
    def frame_width(self) -> int:
        return self.width // max(1, self.frames)


def cache_path(cache_dir: Path, sha256: str, size: int, frames: int) -> Path:
    return cache_dir / "thumbs" / sha256[:2] / f"{sha256}-{size}-{frames}.jpg"


def fit(width: int, height: int, size: int) -> tuple[int, int]:
    """(w, h) scaled so the long side is `size` (never upscaled), each at least 1 and even-friendly."""
    scale = min(1.0, size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def load_or_make(file_id: int, source: Path, target: Path, *, size: int, frames: int, is_video: bool) -> Thumbnail:
    """The cached picture at `target`, made from `source` first if missing."""
    image = _read(target)
    if image is None:
        image = _strip(source, size, frames) if is_video else _still(source, size)
        _write_atomic(target, image)
    h, w = image.shape[:2]
    shown = frames if is_video else 1
    return Thumbnail(file_id, w, h, shown, np.ascontiguousarray(image).tobytes())


def _read(path: Path) -> NDArray[np.uint8] | None:
    import cv2

    if not path.is_file():
        return None
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:  # a damaged cache file is rebuilt
        return None
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def _still(source: Path, size: int) -> NDArray[np.uint8]:
    import cv2

    bgr = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if bgr is None:
        raise MediaError(f"The image {source.name} cannot be read", "Check that the file exists and is a picture")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    return np.asarray(cv2.resize(rgb, fit(w, h, size), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _strip(source: Path, size: int, frames: int) -> NDArray[np.uint8]:
    """`frames` evenly spaced frames (the middle of each slice of the video), side by side."""
    from x121_desktop.core.media import FrameReader

    with FrameReader(source, hwaccel=False, cache_bytes=8 << 20) as probe_reader:
        w, h = fit(probe_reader.info.width, probe_reader.info.height, size)
        count = probe_reader.frame_count
    if count == 0:
        raise MediaError(f"The video {source.name} has no frames", "Re-render or re-import it")
    wanted = max(1, min(frames, count))
    with FrameReader(source, size=(w, h), hwaccel=False, cache_bytes=8 << 20) as reader:
        picked = [reader.frame(min(count - 1, (2 * i + 1) * count // (2 * wanted))) for i in range(wanted)]
    while len(picked) < frames:  # very short clips: repeat the last frame so the strip keeps its shape
        picked.append(picked[-1])
    return np.ascontiguousarray(np.hstack(picked), dtype=np.uint8)


def _write_atomic(target: Path, rgb: NDArray[np.uint8]) -> None:
    import cv2

    target.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise MediaError(f"The thumbnail for {target.stem} could not be encoded", "Check the source file")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".jpg", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(encoded.tobytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
