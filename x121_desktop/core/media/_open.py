"""Opening files with PyAV and turning FFmpeg's failures into one-sentence MediaErrors."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.codec.hwaccel
import av.container
import av.error

from x121_desktop.core.errors import MediaError, NotFound

DecodePath = Literal["cuda", "software"]

# FFmpeg failures that mean "this file is bad", as opposed to programming errors.
AV_ERRORS: tuple[type[BaseException], ...] = (av.error.FFmpegError, OSError, EOFError, ValueError)

_hw_lock = threading.Lock()
_hw_failed: set[str] = set()  # device types that failed in this process; each retry costs an init


def check_file(path: Path) -> None:
    """Fail early, with the fix, on the cases FFmpeg reports obscurely."""
    if not path.exists():
        raise NotFound(f"{path} does not exist", "Check the path and try again.")
    if path.is_dir():
        raise MediaError(f"{path} is a folder, not a video file", "Give the path of a video file.")
    if path.stat().st_size == 0:
        raise MediaError(f"{path} is empty (0 bytes)", "Re-export or re-download the file.")


def unreadable(path: Path, exc: BaseException) -> MediaError:
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return MediaError(
        f"{path} cannot be read as video ({detail}); it is truncated, damaged or not a media file",
        "Re-export or re-download the file.",
    )


def hw_available() -> bool:
    return "cuda" not in _hw_failed and "cuda" in av.codec.hwaccel.hwdevices_available()


def open_input(path: Path, *, hwaccel: bool = False) -> tuple[av.container.InputContainer, DecodePath]:
    """Open `path` for reading, trying CUDA decode first when asked and offered.

    Without a usable GPU, FFmpeg refuses the CUDA device (PyAV raises PermissionError, an
    OSError); we then reopen in software and remember the failure for this process.
    """
    check_file(path)
    if hwaccel and hw_available():
        try:
            accel = av.codec.hwaccel.HWAccel("cuda", allow_software_fallback=True)
            return av.open(str(path), hwaccel=accel), "cuda"
        except (av.error.FFmpegError, OSError):
            with _hw_lock:
                _hw_failed.add("cuda")
    try:
        return av.open(str(path)), "software"
    except AV_ERRORS as exc:
        raise unreadable(path, exc) from exc


def no_video(path: Path) -> MediaError:
    return MediaError(f"{path} has no video stream", "Give a video file, not an audio or data file.")


def to_fraction(value: object, default: Fraction = Fraction(0)) -> Fraction:
    """A PyAV AVRational / Fraction / int as an exact Fraction (`default` for None or 0/0)."""
    if value is None:
        return default
    num, den = getattr(value, "numerator", None), getattr(value, "denominator", None)
    if isinstance(num, int) and isinstance(den, int) and den:
        return Fraction(num, den)
    return default
