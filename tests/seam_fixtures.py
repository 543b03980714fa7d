"""Builders of the seam defect test set: real photographs animated into chained segments.

Photographs come from ``skimage.data`` (offline, public-domain or CC0): the astronaut portrait
(Eileen Collins, the only large frontal face there), coffee, chelsea, rocket and camera.

Segments follow one continuous virtual camera path over a photo (a slow pan plus a slow zoom, done
with cv2.warpAffine), so segment N+1 starts exactly where segment N ended. Defects are injected into
segment N+1 (the head side of the seam), so their ground truth is known:

* ``COLOUR``: a Lab cast of ~6 ΔE76 (a* +4, b* +4.5) on every head frame.
* ``EXPOSURE``: L* of every head frame scaled by 1.12 (brighter) or 0.88 (darker).
* ``JUMP`` / ``ZOOM``: the head's camera jumps 8 % of the frame sideways, or zooms in 12 %.
* ``IDENTITY``: a different person. ``skimage.data.lfw_subset()`` holds 100 real 25x25 face crops
  from Labeled Faces in the Wild; one is upscaled, tone-matched and feathered into the astronaut's
  face region of the photo the head is animated from. The honest control (``IDENTITY_CONTROL``)
  pastes the astronaut's *own* face through the same 25 px round trip: same artefacts, same person.
  Measured: control 0.40 from the original, other people 0.69-0.92 (26 of the first 30 LFW
  faces are detected after pasting; see LFW_FACES).
* ``FROZEN``: the last 4 frames of the tail are one repeated frame (the model stalled).
* ``BLUR``: the head is Gaussian-blurred (sigma 1.6 px), a common decoder/upscaler fault.
* ``CLEAN``: continuous path; ``CLEAN_DUPLICATE``: the head starts with the tail's last frame
  repeated (the "simple" stitch mode), which must also pass.

The healing tests reuse these builders (``make_case``, ``defect_set``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import skimage.data
from numpy.typing import NDArray

type Frame = NDArray[np.uint8]

SIZE = 320
SEGMENT_FRAMES = 20
WINDOW = 6
"""Frames per side handed to analyze_seam in the tests."""

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera")
ASTRONAUT_FACE = (179, 83, 266, 170)
"""dlib HOG box (left, top, right, bottom) of the face in skimage.data.astronaut() at 512 px."""
LFW_FACES = (1, 9, 22)
"""Indices into lfw_subset() used for identity swaps: detected in every animated frame, distances
to Seed A 0.81, 0.72 and 0.69 (22 is the closest of the first 30 faces: the hardest case)."""


class Defect(StrEnum):
    CLEAN = "clean"
    CLEAN_DUPLICATE = "clean-duplicate"
    IDENTITY_CONTROL = "identity-control"
    COLOUR = "colour"
    EXPOSURE_UP = "exposure-up"
    EXPOSURE_DOWN = "exposure-down"
    JUMP = "jump"
    ZOOM = "zoom"
    IDENTITY = "identity"
    FROZEN = "frozen"
    BLUR = "blur"

    @property
    def is_clean(self) -> bool:
        return self in (Defect.CLEAN, Defect.CLEAN_DUPLICATE, Defect.IDENTITY_CONTROL)


@functools.cache
def photo(name: str) -> Frame:
    """A skimage.data photograph as RGB uint8 (grayscale ones are stacked to RGB)."""
    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 2:
        img = np.dstack([img, img, img])
    out: Frame = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True)
class CameraPath:
    """Window centre (photo px) and zoom for frame t: centre + t * velocity, zoom * (1 + t * zoom_rate)."""

    cx: float
    cy: float
    vx: float
    vy: float
    zoom: float
    zoom_rate: float

    def at(self, t: float) -> tuple[float, float, float]:
        return self.cx + t * self.vx, self.cy + t * self.vy, self.zoom * (1.0 + t * self.zoom_rate)


def default_path(name: str, size: int = SIZE) -> CameraPath:
    """A slow pan + zoom that keeps the subject in frame over three segments (60 frames)."""
    img = photo(name)
    h, w = img.shape[:2]
    if name == "astronaut":
        # Face (87 px) stays ~87-95 px on screen, above dlib HOG's 80 px minimum at upsample 0.
        return CameraPath(215.0, 200.0, 0.9, 0.4, size / 320.0, 0.0012)
    zoom = size / (0.62 * min(h, w))
    return CameraPath(w / 2 - 0.8 * 30, h / 2 - 0.3 * 30, 0.8, 0.3, zoom, 0.0012)


def render(img: Frame, cx: float, cy: float, zoom: float, size: int = SIZE) -> Frame:
    """The size x size view of ``img`` centred on (cx, cy) at ``zoom`` output px per photo px."""
    m = np.array([[zoom, 0.0, size / 2 - zoom * cx], [0.0, zoom, size / 2 - zoom * cy]], np.float64)
    out: Frame = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def animate(img: Frame, path: CameraPath, start: int, count: int, size: int = SIZE) -> list[Frame]:
    """Frames ``start .. start+count-1`` of ``path`` over ``img``."""
    return [render(img, *path.at(t), size=size) for t in range(start, start + count)]


def chained_segments(name: str, segments: int = 3, frames: int = SEGMENT_FRAMES, size: int = SIZE) -> list[list[Frame]]:
    """``segments`` clean consecutive segments of one continuous camera move over a photo."""
    img, path = photo(name), default_path(name, size)
    return [animate(img, path, k * frames, frames, size) for k in range(segments)]


# ------------------------------------------------------------------ defect injection


def lab_shift(frame: Frame, dl_scale: float = 1.0, da: float = 0.0, db: float = 0.0) -> Frame:
    """Scale L* and add to a*, b* (float Lab, back to RGB uint8)."""
    lab = cv2.cvtColor(frame.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    lab[..., 0] = np.clip(lab[..., 0] * dl_scale, 0, 100)
    lab[..., 1] += da
    lab[..., 2] += db
    rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    out: Frame = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


@functools.cache
def lfw_face(index: int) -> NDArray[np.uint8]:
    """One real 25x25 grayscale face crop from skimage.data.lfw_subset() (indices 0-99 are faces)."""
    if not 0 <= index < 100:
        raise ValueError("lfw_subset faces are indices 0-99")
    faces = skimage.data.lfw_subset()
    out: NDArray[np.uint8] = (faces[index] * 255.0 + 0.5).astype(np.uint8)
    return out


def own_face_25() -> NDArray[np.uint8]:
    """The astronaut's face taken through the same 25 px grayscale round trip as lfw_face."""
    gray = cv2.cvtColor(photo("astronaut"), cv2.COLOR_RGB2GRAY)
    a, b, n = _face_square(1.15)
    out: NDArray[np.uint8] = cv2.resize(gray[b : b + n, a : a + n], (25, 25), interpolation=cv2.INTER_AREA)
    return out


def _face_square(grow: float) -> tuple[int, int, int]:
    x0, y0, x1, y1 = ASTRONAUT_FACE
    n = int((x1 - x0) * grow)
    return int((x0 + x1) / 2 - n / 2), int((y0 + y1) / 2 - n / 2), n


def swap_face(face25: NDArray[np.uint8], grow: float = 1.15) -> Frame:
    """The astronaut photo with ``face25`` upscaled, tone-matched and feathered over her face."""
    img = photo("astronaut").copy()
    a, b, n = _face_square(grow)
    region = img[b : b + n, a : a + n].astype(np.float32)
    face = cv2.resize(face25, (n, n), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    luma = region.mean(axis=2)
    face = (face - face.mean()) / (face.std() + 1e-6) * luma.std() + luma.mean()
    tint = region.reshape(-1, 3).mean(axis=0) / max(float(region.mean()), 1e-3)
    coloured = np.clip(face[..., None] * tint[None, None, :], 0, 255)
    yy, xx = np.mgrid[0:n, 0:n]
    mask = 1.0 - (((xx - n / 2) / (n * 0.48)) ** 2 + ((yy - n / 2) / (n * 0.55)) ** 2)
    mask = np.clip(mask * 4.0, 0.0, 1.0)[..., None]
    img[b : b + n, a : a + n] = (coloured * mask + region * (1.0 - mask)).astype(np.uint8)
    return img


@dataclass(frozen=True)
class SeamCase:
    """Two chained segments with a known seam: ``tail`` is segment N, ``head`` segment N+1."""

    photo: str
    defect: Defect
    tail: tuple[Frame, ...]
    head: tuple[Frame, ...]
    variant: int = 0

    @property
    def name(self) -> str:
        suffix = f"#{self.variant}" if self.variant else ""
        return f"{self.photo}/{self.defect.value}{suffix}"

    def window(self, frames: int = WINDOW) -> tuple[list[Frame], list[Frame]]:
        """The last ``frames`` of the tail and the first ``frames`` of the head."""
        return list(self.tail[-frames:]), list(self.head[:frames])


def make_case(name: str, defect: Defect, variant: int = 0, frames: int = SEGMENT_FRAMES, size: int = SIZE) -> SeamCase:
    """Segment 0 and segment 1 of ``name`` with ``defect`` injected at their seam."""
    img, path = photo(name), default_path(name, size)
    tail = animate(img, path, 0, frames, size)
    head_path = path
    head_img = img
    if defect is Defect.JUMP:
        head_path = CameraPath(path.cx + 0.08 * size / path.zoom, path.cy, path.vx, path.vy, path.zoom, path.zoom_rate)
    elif defect is Defect.ZOOM:
        # zoom in 12 % around the same centre, continuing the same move
        head_path = CameraPath(path.cx, path.cy, path.vx, path.vy, path.zoom * 1.12, path.zoom_rate)
    elif defect is Defect.IDENTITY:
        head_img = swap_face(lfw_face(LFW_FACES[variant % len(LFW_FACES)]))
    elif defect is Defect.IDENTITY_CONTROL:
        head_img = swap_face(own_face_25())
    head = animate(head_img, head_path, frames, frames, size)
    if defect is Defect.COLOUR:
        head = [lab_shift(f, 1.0, 4.0, 4.5) for f in head]
    elif defect is Defect.EXPOSURE_UP:
        head = [lab_shift(f, 1.12) for f in head]
    elif defect is Defect.EXPOSURE_DOWN:
        head = [lab_shift(f, 0.88) for f in head]
    elif defect is Defect.BLUR:
        head = [cv2.GaussianBlur(f, (0, 0), 1.6) for f in head]
    elif defect is Defect.FROZEN:
        stall = tail[-4]
        tail = tail[:-4] + [stall.copy() for _ in range(4)]
    elif defect is Defect.CLEAN_DUPLICATE:
        head = [tail[-1].copy(), *head[:-1]]
    return SeamCase(name, defect, tuple(tail), tuple(head), variant)


GENERIC_DEFECTS = (
    Defect.CLEAN,
    Defect.CLEAN_DUPLICATE,
    Defect.COLOUR,
    Defect.EXPOSURE_UP,
    Defect.EXPOSURE_DOWN,
    Defect.JUMP,
    Defect.ZOOM,
    Defect.FROZEN,
    Defect.BLUR,
)


@functools.cache
def defect_set() -> tuple[SeamCase, ...]:
    """Every photo x every generic defect, plus identity swaps and the control on the astronaut."""
    cases = [make_case(p, d) for p in PHOTOS for d in GENERIC_DEFECTS]
    cases += [make_case("astronaut", Defect.IDENTITY, v) for v in range(len(LFW_FACES))]
    cases.append(make_case("astronaut", Defect.IDENTITY_CONTROL))
    return tuple(cases)


def seed_a() -> Frame:
    """Seed A: the astronaut photograph the portrait segments start from."""
    return photo("astronaut")
