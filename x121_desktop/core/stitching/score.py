"""Seam grades: per-metric bands, the overall green/amber/red grade and the 0..1 score.

Every graded metric is a *badness*: 0 is perfect and larger is worse. A band has two limits:
``green`` if value < ``green_below``, ``red`` if value >= ``red_from``, ``amber`` in between.
The overall grade is the worst metric grade (one defect is enough to spoil a seam), and the
score is the lowest per-metric score, where a metric's score falls linearly from 1.0 at 0 to
0.75 at ``green_below`` and 0.40 at ``red_from``, then on to 0. So score > 0.75 is green,
0.40-0.75 amber, <= 0.40 red.

Most metrics are measured *across the cut* (last frame of N vs first of N+1) minus the median of
the same metric between consecutive frames *within* each side: a fast pan changes every frame and
must not read as a defect, while the same change appearing only at the cut does.

Thresholds (the named constants below; calibrated on tests/seam_fixtures.py, whose clean seams are
slow pans/zooms over real photographs animated at 320 px, and whose defects are the *mildest*
we want caught: a colour cast of ~6 ΔE, an exposure change of ±12 % luma, a 10 % zoom or 8 % jump
of the subject, another person's face, 4 frozen frames):

=================  =====================================================  ===========  ==========
metric             value                                                  green below  red from
=================  =====================================================  ===========  ==========
ssim               within-side median SSIM - SSIM across (¼ size gray*)   0.05         0.15
phash              Hamming across - within-side median (64-bit pHash)     6            14
colour             CIE76 ΔE between the mean L*a*b* colours (excess)      2.0          4.0
histogram          Bhattacharyya distance of 8³-bin Lab histograms (ex.)  0.15         0.30
exposure           largest |ΔL*| of the 5th/50th/95th percentiles (ex.)   3.0          6.0
motion             flow across / max(within-side median, 0.5 % of width)  3.0          6.0
sharpness          1 - sharpness(head[0]) / median sharpness of the tail  0.30         0.55
frozen             repeated frames: longest near-identical run - 1        2            3
identity           face distance of the head to Seed A (or to the tail)   0.50         0.60
=================  =====================================================  ===========  ==========

(*) ⅛ size for large frames (720p and up: frames.py, SSIM_MAX_SIDE); the 1080x1080 defect set keeps
recall 1.0 and no false alarm with it (tests/core/stitching/test_large_frames.py). The ssim row
read 0.08 / 0.20 here until this note; the constants below (0.05 / 0.15) are the calibrated ones
the grades have used since the defect set was built.

Reasoning:

* colour: a ΔE76 of ~2.3 is the just-noticeable difference; a *sudden* global cast becomes
  visible as a flash at about twice that, hence green < 2, red >= 4 (the within-side excess
  of clean slow pans over real photos stayed below 1.0).
* exposure: L* is perceptual; a 3-unit jump is just visible on a cut, 6 is an obvious flash.
* ssim / phash: clean seams of slow camera moves stay within 0.03 SSIM and 4 bits of their
  within-side baseline; a 10 % zoom or a jump of 8 % of the frame drops SSIM by > 0.2.
* motion: DIS optical-flow magnitudes at ⅛ size (motion.py); the floor (0.5 % of the width per
  frame: 1.6 px at 320 px, 9.6 px at 1080p) keeps almost static shots from turning noise into huge
  ratios.
* sharpness: the variance of the Laplacian varies ±20 % with content in a clean pan; a blur that
  a viewer notices at a cut halves it.
* frozen: the "simple" stitch mode repeats the last frame of N as the first of N+1, so one repeated
  frame (a run of 2 identical frames) at a seam is normal; 2 repeats are suspicious, 3 or more
  (4 identical frames, 1/6 s at 24 fps) are a visible stall.
* identity: dlib's "same person" rule is < 0.6; the same face zoomed, rotated, compressed or
  mirrored measures 0.06-0.20, and our worst clean degradation (a 25 px face upscaled) 0.40-0.47,
  so green < 0.5 and red from the rule's 0.6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Grade(StrEnum):
    """Seam or segment quality; the UI maps codes to theme tokens (status.green.fg ...)."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Grade.GREEN: 0, Grade.AMBER: 1, Grade.RED: 2}


class SeamMetric(StrEnum):
    """The graded metrics, in report order."""

    SSIM = "ssim"
    PHASH = "phash"
    COLOUR = "colour"
    HISTOGRAM = "histogram"
    EXPOSURE = "exposure"
    MOTION = "motion"
    SHARPNESS = "sharpness"
    FROZEN = "frozen"
    IDENTITY = "identity"


@dataclass(frozen=True, slots=True)
class Band:
    """Green below ``green_below``, red from ``red_from``, amber between (0 < green_below < red_from)."""

    green_below: float
    red_from: float

    def __post_init__(self) -> None:
        if not 0.0 < self.green_below < self.red_from:
            raise ValueError(f"a band needs 0 < green_below < red_from, got {self}")

    def grade(self, value: float) -> Grade:
        if value >= self.red_from:
            return Grade.RED
        if value >= self.green_below:
            return Grade.AMBER
        return Grade.GREEN

    def score(self, value: float) -> float:
        """1.0 at 0, 0.75 at green_below, 0.40 at red_from, then linearly down to 0."""
        if math.isnan(value):
            return 0.0
        v = max(0.0, value)
        if v < self.green_below:
            return 1.0 - 0.25 * v / self.green_below
        slope = 0.35 / (self.red_from - self.green_below)
        return max(0.0, 0.75 - slope * (v - self.green_below))


SSIM_DROP_GREEN = 0.05
SSIM_DROP_RED = 0.15
PHASH_EXCESS_GREEN = 6.0
PHASH_EXCESS_RED = 14.0
COLOUR_DELTA_E_GREEN = 2.0
COLOUR_DELTA_E_RED = 4.0
HISTOGRAM_GREEN = 0.15
HISTOGRAM_RED = 0.30
EXPOSURE_GREEN = 3.0
EXPOSURE_RED = 6.0
MOTION_RATIO_GREEN = 3.0
MOTION_RATIO_RED = 6.0
MOTION_FLOOR_FRACTION = 0.005
"""Within-side flow below 0.5 % of the frame width per frame counts as that much (see motion)."""
SHARPNESS_DROP_GREEN = 0.30
SHARPNESS_DROP_RED = 0.55
FROZEN_REPEATS_GREEN = 2.0
FROZEN_REPEATS_RED = 3.0
IDENTITY_GREEN = 0.50
IDENTITY_RED = 0.60
FROZEN_MAD = 0.6
"""Two consecutive frames are 'near-identical' when their mean absolute difference at ¼ size is
below this many 8-bit levels (a re-encoded duplicate measures 0.0-0.4; a 1 px/frame pan > 1)."""


@dataclass(frozen=True, slots=True)
class SeamThresholds:
    """One band per metric; ``DEFAULT_THRESHOLDS`` holds the calibrated values above."""

    ssim: Band = Band(SSIM_DROP_GREEN, SSIM_DROP_RED)
    phash: Band = Band(PHASH_EXCESS_GREEN, PHASH_EXCESS_RED)
    colour: Band = Band(COLOUR_DELTA_E_GREEN, COLOUR_DELTA_E_RED)
    histogram: Band = Band(HISTOGRAM_GREEN, HISTOGRAM_RED)
    exposure: Band = Band(EXPOSURE_GREEN, EXPOSURE_RED)
    motion: Band = Band(MOTION_RATIO_GREEN, MOTION_RATIO_RED)
    sharpness: Band = Band(SHARPNESS_DROP_GREEN, SHARPNESS_DROP_RED)
    frozen: Band = Band(FROZEN_REPEATS_GREEN, FROZEN_REPEATS_RED)
    identity: Band = Band(IDENTITY_GREEN, IDENTITY_RED)

    def band(self, metric: SeamMetric) -> Band:
        band: Band = getattr(self, metric.value)
        return band


DEFAULT_THRESHOLDS = SeamThresholds()


def worst(grades: list[Grade] | tuple[Grade, ...]) -> Grade:
    """The worst of ``grades`` (green when empty)."""
    return max(grades, key=lambda g: g.rank, default=Grade.GREEN)
