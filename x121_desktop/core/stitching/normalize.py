"""Transition normalization: put the subject back where the anchor had it before the next segment.

Across a seam the subject can drift: the face wanders off-centre or the camera creeps in.
Comparing the face in the anchor (Seed A, or the head of segment N) with the face in the
chosen cut frame gives the drift (centre offset as a share of the frame, and scale);
an affine warp (uniform scale + translation) of the cut frame then gives the re-centred,
re-scaled start image for segment N+1. Uncovered borders are filled by reflection or by
repeating the edge pixels.

Position and scale come from the eyes (dlib's 5-point landmarks inside the HOG face box):
HOG boxes snap to the detector's pyramid steps, so two boxes of one face zoomed 1.3x can
differ by 1.6x, while the distance between the eyes follows the zoom to a few per cent.

No face in either image → a documented no-op: the cut frame is returned unchanged with the
reason. Drift inside the tolerances → also unchanged (re-sampling would only soften the image).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from x121_desktop.core.likeness import FaceBox, detect_faces, face_models
from x121_desktop.core.stitching.colour import Frame


@dataclass(frozen=True, slots=True)
class SubjectPosition:
    """Where the subject's face is: its box, the midpoint of the eyes, and the eye distance (pixels)."""

    box: FaceBox
    centre: tuple[float, float]
    size: float


FaceLocator = Callable[[Frame], SubjectPosition | None]


def locate_subject(image: Frame) -> SubjectPosition | None:
    """The default locator: the largest dlib HOG face (core.likeness) and its eye landmarks."""
    boxes = detect_faces(image)
    if not boxes:
        return None
    box = boxes[0]
    models = face_models()
    rgb = np.ascontiguousarray(image[..., :3])
    with models.lock:
        shape = models.landmarks(rgb, dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1))
    # 5-point model: 0-1 one eye's corners, 2-3 the other's, 4 under the nose.
    pts = [(float(shape.part(i).x), float(shape.part(i).y)) for i in range(4)]
    eye_a = ((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2)
    eye_b = ((pts[2][0] + pts[3][0]) / 2, (pts[2][1] + pts[3][1]) / 2)
    size = float(np.hypot(eye_a[0] - eye_b[0], eye_a[1] - eye_b[1]))
    if size < 1.0:
        return SubjectPosition(box, box.center, float(box.height) / 2)
    return SubjectPosition(box, ((eye_a[0] + eye_b[0]) / 2, (eye_a[1] + eye_b[1]) / 2), size)


class BorderMode(enum.Enum):
    REFLECT = "reflect"
    EDGE = "edge"

    @property
    def cv2_flag(self) -> int:
        return cv2.BORDER_REFLECT_101 if self is BorderMode.REFLECT else cv2.BORDER_REPLICATE


@dataclass(frozen=True, slots=True, eq=False)  # holds frames: compare by identity
class NormalizeRequest:
    anchor: Frame  # Seed A or the head frame of segment N
    cut: Frame  # the frame segment N+1 will start from
    border: BorderMode = BorderMode.REFLECT
    position_tolerance: float = 0.02  # share of the frame's width/height
    scale_tolerance: float = 0.05  # relative size change
    max_scale: float = 2.0  # never zoom in or out by more than this


@dataclass(frozen=True, slots=True)
class SubjectDrift:
    """Face-box drift of the cut frame against the anchor, resolution-independent."""

    dx: float  # centre offset, share of the frame width (positive: subject moved right)
    dy: float  # share of the frame height (positive: subject moved down)
    scale: float  # face height in the cut / face height in the anchor (>1: subject grew)
    anchor: SubjectPosition
    cut: SubjectPosition

    @property
    def offset(self) -> float:
        return float(np.hypot(self.dx, self.dy))


@dataclass(frozen=True, slots=True, eq=False)  # holds frames: compare by identity
class NormalizeResult:
    applied: bool
    reason: str
    image: Frame  # the start image for the next segment (the cut frame itself when not applied)
    drift: SubjectDrift | None
    matrix: tuple[float, float, float, float, float, float]  # 2x3 affine, row-major (identity if not applied)
    border: BorderMode

    @property
    def zoom(self) -> float:
        return self.matrix[0]


IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def measure_drift(
    anchor: SubjectPosition, anchor_size: tuple[int, int], cut: SubjectPosition, cut_size: tuple[int, int]
) -> SubjectDrift:
    """Drift between two subject positions; sizes are (width, height) of the images they came from."""
    (aw, ah), (cw, ch) = anchor_size, cut_size
    ax, ay = anchor.centre[0] / aw, anchor.centre[1] / ah
    cx, cy = cut.centre[0] / cw, cut.centre[1] / ch
    a_rel, c_rel = anchor.size / ah, cut.size / ch
    scale = c_rel / a_rel if a_rel > 0 else 1.0
    return SubjectDrift(cx - ax, cy - ay, scale, anchor, cut)


def correction_matrix(drift: SubjectDrift, cut_size: tuple[int, int], max_scale: float) -> tuple[float, ...]:
    """Affine that maps the cut face box centre onto the anchor's centre at the anchor's size."""
    w, h = cut_size
    s = float(np.clip(1.0 / drift.scale if drift.scale > 0 else 1.0, 1.0 / max_scale, max_scale))
    cx, cy = drift.cut.centre
    target_x, target_y = cx - drift.dx * w, cy - drift.dy * h
    return (s, 0.0, target_x - s * cx, 0.0, s, target_y - s * cy)


def normalize_start(req: NormalizeRequest, locate: FaceLocator = locate_subject) -> NormalizeResult:
    """The re-centred/re-scaled start image, or the cut frame unchanged with the reason."""
    anchor = locate(req.anchor)
    if anchor is None:
        return _unchanged(req, "no face found in the anchor image, so there is no subject position to restore")
    cut = locate(req.cut)
    if cut is None:
        return _unchanged(req, "no face found in the cut frame, so the subject's drift cannot be measured")
    h, w = req.cut.shape[:2]
    ah, aw = req.anchor.shape[:2]
    drift = measure_drift(anchor, (aw, ah), cut, (w, h))
    if (
        abs(drift.dx) <= req.position_tolerance
        and abs(drift.dy) <= req.position_tolerance
        and (abs(drift.scale - 1.0) <= req.scale_tolerance)
    ):
        return _unchanged(
            req,
            f"subject drift within tolerance (offset {drift.offset:.1%}, scale {drift.scale:.3f})",
            drift,
        )
    m = correction_matrix(drift, (w, h), req.max_scale)
    matrix = np.asarray(m, dtype=np.float64).reshape(2, 3)
    warped = cv2.warpAffine(req.cut, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=req.border.cv2_flag)
    image = np.asarray(warped, dtype=np.uint8)
    clamped = abs(m[0] - 1.0 / drift.scale) > 1e-9
    reason = (
        f"subject moved {drift.dx:+.1%} across and {drift.dy:+.1%} down and scaled {drift.scale:.3f}x; "
        f"re-centred and scaled by {m[0]:.3f}" + (f" (zoom limited to {req.max_scale}x)" if clamped else "")
    )
    return NormalizeResult(True, reason, image, drift, (m[0], m[1], m[2], m[3], m[4], m[5]), req.border)


def _unchanged(req: NormalizeRequest, reason: str, drift: SubjectDrift | None = None) -> NormalizeResult:
    return NormalizeResult(False, reason, req.cut, drift, IDENTITY, req.border)
