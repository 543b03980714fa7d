"""Reading and writing still images (seed images, face crops) as RGB uint8 arrays.

cv2 is imported inside the functions: `core` loads cv2 at module level only in media, stitching
and likeness (ARCHITECTURE §3), and these helpers are cheap to call.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
from numpy.typing import NDArray

from x121_desktop.core.errors import InvalidInput, NotFound

type Image = NDArray[np.uint8]

MAX_IMAGE_BYTES = 256 * 1024 * 1024
"""A seed image larger than this is refused before decoding (a 16kx16k PNG is ~1 GB decoded)."""


def decode_image(data: bytes, label: str) -> Image:
    """Decode PNG/JPEG/WebP/BMP/TIFF bytes to RGB uint8; a corrupt or non-image file is InvalidInput."""
    import cv2

    if len(data) == 0:
        raise InvalidInput(f"{label} is empty", "Choose a PNG or JPEG image file")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInput(f"{label} is larger than {MAX_IMAGE_BYTES >> 20} MB", "Choose a smaller image")
    if _truncated(data):
        raise InvalidInput(f"{label} is truncated (the image data ends early)", "Export or download the image again")
    buffer = np.frombuffer(data, dtype=np.uint8)
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if decoded is None or decoded.ndim != 3 or decoded.shape[0] < 1 or decoded.shape[1] < 1:
        raise InvalidInput(
            f"{label} is not a readable image (corrupt, truncated or not an image file)",
            "Choose a complete PNG or JPEG file",
        )
    return cast("Image", np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)))


def _truncated(data: bytes) -> bool:
    """cv2 decodes a cut-off JPEG/PNG without complaint (grey rows): check their end markers."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" not in data[-64:]
    if data[:2] == b"\xff\xd8":
        return b"\xff\xd9" not in data[-4096:]  # apps may append a short trailer
    return False


def read_image(path: Path) -> Image:
    """Decode the image file at `path` (RGB uint8)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{path} does not exist", "Check the path of the image") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a folder, not an image", "Give the path of an image file") from None
    except OSError as exc:
        raise InvalidInput(f"{path} cannot be read ({exc.strerror or exc})", "Check its permissions") from None
    return decode_image(data, str(path))


def encode_png(image: Image) -> bytes:
    """Lossless PNG bytes of an RGB (or grey) uint8 image."""
    import cv2

    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", pixels)
    if not ok:
        raise InvalidInput(f"An image of shape {image.shape} cannot be encoded as PNG", "")
    return bytes(encoded.tobytes())


def encode_pgm(gray: NDArray[np.uint8]) -> bytes:
    """Binary PGM (P5, maxval 255): the format the C++ pipeline scripts read without libraries."""
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"a PGM image must be 2-D uint8, got {gray.shape} {gray.dtype}")
    h, w = gray.shape
    return f"P5\n{w} {h}\n255\n".encode("ascii") + np.ascontiguousarray(gray).tobytes()


def to_gray(image: Image) -> NDArray[np.uint8]:
    import cv2

    if image.ndim == 2:
        return image
    return cast("NDArray[np.uint8]", cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
