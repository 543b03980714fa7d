"""Seed image validation: one finding per check, each with its measured value and its limit.

A portrait (Seed A) must pass every check: a face is found, the auto-crop puts it near the
framing point (centred), it is large enough, sharp and well exposed, and the crop keeps enough
resolution. A foundation/style image (Seed B) need only be large enough; a face in it, when
found, guides the crop.

Sharpness and exposure are measured on the face region (box + ``FACE_MARGIN``), reduced so the
face is at most ``FACE_ANALYSIS_PX`` tall: a blur then reads the same on a 512 px and a 4k
portrait, and a soft background (bokeh) does not fail a sharp face. The measures are the seam
engine's (core.stitching.frames): variance of the Laplacian over grey-level variance, and L*
percentiles. Calibration on scikit-image's astronaut (face 88 px): sharpness 0.27 as shot,
0.097 after a Gaussian blur of sigma 1 px, 0.054 at 1.5 px, 0.033 at 2 px; a 2x bicubic upscale
0.31. Face median L* 67; x0.4 darker 27.6, x0.5 darker 34.7; brightened +40..+90 levels puts
the 95th percentile at 100 (clipped highlights).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from x121_desktop.core.likeness.faces import FaceBox, detect_faces
from x121_desktop.core.preprocess.crop import (
    DEFAULT_ASPECT,
    MIN_SHORT_SIDE_PX,
    CropBox,
    crop_around_face,
    face_offset,
)
from x121_desktop.core.preprocess.image import Image
from x121_desktop.core.stitching.frames import AnalysisGeometry, extract_segment

MIN_FACE_PX = 64
"""Face box height in source pixels below which the identity (128-d embedding) gets unreliable."""
MIN_FACE_SHARE = 0.12
"""Face box height as a share of the crop height below which the face is a detail, not a portrait."""
CENTRE_TOLERANCE = 0.12
"""Largest distance of the face centre from its framing point, as a share of the crop width/height."""
MIN_FACE_SHARPNESS = 0.07
"""Laplacian variance over grey variance on the normalised face region (see the module docstring)."""
MIN_FACE_MEDIAN_L = 30.0
MAX_FACE_MEDIAN_L = 88.0
"""Median L* (0..100) of the face region: below is underexposed, above overexposed."""
MAX_FACE_HIGHLIGHT_L = 99.0
"""95th percentile L* of the face: at or above this, more than 5 % of the face is blown out."""
FACE_MARGIN = 0.15
FACE_ANALYSIS_PX = 96


class Check(enum.Enum):
    RESOLUTION = "resolution"
    FACE_FOUND = "face_found"
    FACE_SIZE = "face_size"
    CENTRED = "centred"
    SHARPNESS = "sharpness"
    EXPOSURE = "exposure"


class Severity(enum.Enum):
    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Finding:
    check: Check
    severity: Severity
    sentence: str
    value: float | None = None
    limit: str = ""

    @property
    def failed(self) -> bool:
        return self.severity is Severity.FAILED


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What validation found in one image and the crop it proposes."""

    width: int
    height: int
    face: FaceBox | None
    faces_found: int
    aspect: Fraction
    crop: CropBox
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.failed for f in self.findings)

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.failed)

    def finding(self, check: Check) -> Finding:
        return next(f for f in self.findings if f.check is check)

    @property
    def crop_is_whole_image(self) -> bool:
        return (self.crop.left, self.crop.top, self.crop.width, self.crop.height) == (0, 0, self.width, self.height)


def _pass(check: Check, sentence: str, value: float | None = None, limit: str = "") -> Finding:
    return Finding(check, Severity.PASSED, sentence, value, limit)


def _fail(check: Check, sentence: str, value: float | None = None, limit: str = "") -> Finding:
    return Finding(check, Severity.FAILED, sentence, value, limit)


def _resolution(width: int, height: int, crop: CropBox) -> Finding:
    limit = f">= {MIN_SHORT_SIDE_PX} px short side"
    if crop.short_side < MIN_SHORT_SIDE_PX:
        return _fail(
            Check.RESOLUTION,
            f"The {width}x{height} image gives a {crop.width}x{crop.height} crop, below the "
            f"{MIN_SHORT_SIDE_PX} px minimum on its short side; use a larger image",
            crop.short_side,
            limit,
        )
    return _pass(Check.RESOLUTION, f"{width}x{height}, cropped to {crop.width}x{crop.height}", crop.short_side, limit)


def face_region(image: Image, face: FaceBox) -> Image:
    """The face box plus a margin, reduced so the face is at most FACE_ANALYSIS_PX tall."""
    import cv2

    h, w = image.shape[:2]
    mx, my = round(face.width * FACE_MARGIN), round(face.height * FACE_MARGIN)
    region = image[max(0, face.top - my) : min(h, face.bottom + my), max(0, face.left - mx) : min(w, face.right + mx)]
    scale = min(1.0, FACE_ANALYSIS_PX / max(1, face.height))
    if scale < 1.0:
        size = (max(2, round(region.shape[1] * scale)), max(2, round(region.shape[0] * scale)))
        return np.ascontiguousarray(cv2.resize(region, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.ascontiguousarray(region)


def _face_checks(image: Image, face: FaceBox, crop: CropBox) -> list[Finding]:
    out: list[Finding] = []
    share = face.height / crop.height
    size_limit = f">= {MIN_FACE_PX} px and >= {MIN_FACE_SHARE:.0%} of the crop height"
    if face.height < MIN_FACE_PX:
        out.append(
            _fail(
                Check.FACE_SIZE,
                f"The face is {face.height} px tall, below the {MIN_FACE_PX} px minimum; "
                "use a closer or larger portrait",
                face.height,
                size_limit,
            )
        )
    elif share < MIN_FACE_SHARE:
        out.append(
            _fail(
                Check.FACE_SIZE,
                f"The face fills {share:.0%} of the crop height, below {MIN_FACE_SHARE:.0%}; use a closer portrait",
                share,
                size_limit,
            )
        )
    else:
        out.append(_pass(Check.FACE_SIZE, f"face {face.height} px tall, {share:.0%} of the crop", share, size_limit))

    dx, dy = face_offset(crop, face)
    off = max(abs(dx), abs(dy))
    centre_limit = f"<= {CENTRE_TOLERANCE:.0%} from the framing point"
    if off > CENTRE_TOLERANCE:
        out.append(
            _fail(
                Check.CENTRED,
                f"The face stays {abs(dx):.0%} (across) and {abs(dy):.0%} (down) from the framing point even "
                f"after cropping, beyond {CENTRE_TOLERANCE:.0%}; use an image with room around the face",
                off,
                centre_limit,
            )
        )
    else:
        out.append(
            _pass(Check.CENTRED, f"face {abs(dx):.0%} / {abs(dy):.0%} off centre in the crop", off, centre_limit)
        )

    region = face_region(image, face)
    feats = extract_segment(region, AnalysisGeometry.for_frame(region))
    sharp_limit = f">= {MIN_FACE_SHARPNESS}"
    if feats.sharpness < MIN_FACE_SHARPNESS:
        out.append(
            _fail(
                Check.SHARPNESS,
                f"The face is blurred (sharpness {feats.sharpness:.3f}, needs {MIN_FACE_SHARPNESS}); "
                "use an in-focus portrait",
                feats.sharpness,
                sharp_limit,
            )
        )
    else:
        out.append(_pass(Check.SHARPNESS, f"face sharpness {feats.sharpness:.3f}", feats.sharpness, sharp_limit))

    _, median, p95 = feats.luma_percentiles
    exp_limit = f"median L* {MIN_FACE_MEDIAN_L:g}..{MAX_FACE_MEDIAN_L:g}, 95th percentile < {MAX_FACE_HIGHLIGHT_L:g}"
    if median < MIN_FACE_MEDIAN_L:
        out.append(
            _fail(
                Check.EXPOSURE,
                f"The face is underexposed (median L* {median:.0f}, needs {MIN_FACE_MEDIAN_L:g}); use a brighter photo",
                median,
                exp_limit,
            )
        )
    elif median > MAX_FACE_MEDIAN_L or p95 >= MAX_FACE_HIGHLIGHT_L:
        out.append(
            _fail(
                Check.EXPOSURE,
                f"The face is overexposed (median L* {median:.0f}, highlights {p95:.0f} of 100); use a darker photo",
                median,
                exp_limit,
            )
        )
    else:
        out.append(_pass(Check.EXPOSURE, f"face median L* {median:.0f}, highlights {p95:.0f}", median, exp_limit))
    return out


def validate_portrait(image: Image, aspect: Fraction = DEFAULT_ASPECT) -> SeedReport:
    """Every portrait check on `image` (RGB uint8), with the auto-crop to `aspect` it proposes."""
    h, w = image.shape[:2]
    faces = detect_faces(image)
    face = faces[0] if faces else None
    crop = crop_around_face(w, h, face, aspect)
    findings = [_resolution(w, h, crop)]
    if face is None:
        findings.append(
            _fail(Check.FACE_FOUND, "No face was found in the image; use a portrait with a clear frontal face", 0)
        )
        skipped = "skipped: no face"
        findings += [Finding(c, Severity.SKIPPED, skipped) for c in (Check.FACE_SIZE, Check.CENTRED)]
        findings += [Finding(c, Severity.SKIPPED, skipped) for c in (Check.SHARPNESS, Check.EXPOSURE)]
    else:
        note = f"{len(faces)} faces; the largest is used" if len(faces) > 1 else "one face"
        severity = Severity.WARNING if len(faces) > 1 else Severity.PASSED
        findings.append(Finding(Check.FACE_FOUND, severity, note, len(faces)))
        findings += _face_checks(image, face, crop)
    return SeedReport(w, h, face, len(faces), aspect, crop, tuple(findings))


def validate_foundation(image: Image, aspect: Fraction = DEFAULT_ASPECT) -> SeedReport:
    """Checks for a foundation/style image (Seed B): resolution; a face, if any, guides the crop."""
    h, w = image.shape[:2]
    faces = detect_faces(image)
    face = faces[0] if faces else None
    crop = crop_around_face(w, h, face, aspect)
    found = (
        _pass(Check.FACE_FOUND, "a face guides the crop", len(faces))
        if face is not None
        else Finding(Check.FACE_FOUND, Severity.WARNING, "no face found; the crop is centred", 0)
    )
    return SeedReport(w, h, face, len(faces), aspect, crop, (_resolution(w, h, crop), found))
