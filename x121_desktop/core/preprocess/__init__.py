"""Preprocessing of seed images: validation findings, auto-crop geometry, aligned face, merges.

Public API::

    image = read_image(path)                          # RGB uint8; InvalidInput for corrupt files
    report = validate_portrait(image, Fraction(16, 9))  # SeedReport: findings per check + crop
    report.ok, report.failures, report.crop
    cropped = apply_crop(image, report.crop)
    chip = aligned_face(image, report.face)           # eyes level, for the symmetry script
    merged = merge_images(first, second, MergeMode.TRANSFER)

Thresholds are named constants in checks.py and crop.py, with their calibration.
"""

from __future__ import annotations

from x121_desktop.core.preprocess.align import aligned_face
from x121_desktop.core.preprocess.checks import (
    Check,
    Finding,
    SeedReport,
    Severity,
    validate_foundation,
    validate_portrait,
)
from x121_desktop.core.preprocess.crop import (
    DEFAULT_ASPECT,
    MIN_SHORT_SIDE_PX,
    CropBox,
    apply_crop,
    crop_around_face,
    parse_aspect,
)
from x121_desktop.core.preprocess.image import Image, decode_image, encode_pgm, encode_png, read_image, to_gray
from x121_desktop.core.preprocess.merge import MergeMode, merge_images

__all__ = [
    "DEFAULT_ASPECT",
    "MIN_SHORT_SIDE_PX",
    "Check",
    "CropBox",
    "Finding",
    "Image",
    "MergeMode",
    "SeedReport",
    "Severity",
    "aligned_face",
    "apply_crop",
    "crop_around_face",
    "decode_image",
    "encode_pgm",
    "encode_png",
    "merge_images",
    "parse_aspect",
    "read_image",
    "to_gray",
    "validate_foundation",
    "validate_portrait",
]
