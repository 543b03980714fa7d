"""Seam QA cost: along-segment analysis + seam window vs pure decode, SSIM ours vs scikit-image,
and likeness (dlib HOG detect + 128-d embedding) per sampled frame.

Run with ``python -m benchmarks`` (all benchmarks) or ``python -m benchmarks.bench_seam``.
Timings on a shared 2-core machine vary by ±20 % or more; read them as ratios.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from skimage.metrics import structural_similarity

from x121_desktop.core.likeness import observe_face, reference_from_image
from x121_desktop.core.media.reader import FrameReader
from x121_desktop.core.stitching.metrics import analyze_seam, analyze_segment
from x121_desktop.core.stitching.segment import DEFAULT_IDENTITY_EVERY
from x121_desktop.core.stitching.ssim import ssim

FRAMES = 81


def _render(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """A slow pan + zoom over the astronaut photo at ``size`` (w, h)."""
    img = skimage.data.astronaut()
    w, h = size
    out = []
    for t in range(count):
        zoom = max(w, h) / 360.0 * (1.0 + 0.001 * t)
        cx, cy = 215.0 + 0.6 * t, 200.0 + 0.2 * t
        m = np.array([[zoom, 0.0, w / 2 - zoom * cx], [0.0, zoom, h / 2 - zoom * cy]])
        out.append(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return out


def _encode(path: Path, frames: list[np.ndarray]) -> Path:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "g": "24", "crf": "20"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _best(fn: Callable[[], object], repeat: int = 2) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _decode(path: Path) -> None:
    with FrameReader(path) as reader:
        for _ in reader.frames():
            pass


def _qa(path: Path, prev_tail: list[np.ndarray]) -> None:
    """Seam QA of one segment: every frame through the along-segment checks, plus its seam with the
    previous segment (6 frames a side), decoded once. Identity is timed separately."""
    head: list[np.ndarray] = []

    def frames():  # type: ignore[no-untyped-def]
        with FrameReader(path) as reader:
            for f in reader.frames():
                if len(head) < 6:
                    head.append(f)
                yield f

    analyze_segment(frames(), identity_every=0)
    analyze_seam(prev_tail, head, identity=False)


def _segment_figures(label: str, size: tuple[int, int], tmp: Path) -> None:
    frames = _render(size, FRAMES + 6)
    path = _encode(tmp / f"{label}.mp4", frames[6:])
    tail = frames[:6]
    decode = _best(lambda: _decode(path))
    qa = _best(lambda: _qa(path, tail))
    samples = -(-FRAMES // DEFAULT_IDENTITY_EVERY) + 1
    likeness = _best(lambda: observe_face(frames[10]), repeat=3)
    print(
        f"  {label:>10}: decode {decode * 1e3:7.0f} ms ({FRAMES / decode:5.0f} fps)  "
        f"seam QA {qa * 1e3:7.0f} ms = {qa / decode:4.2f}x decode (goal <= 1.5x)  "
        f"+ likeness {samples} samples x {likeness * 1e3:.0f} ms = {samples * likeness * 1e3:.0f} ms"
    )


def run() -> None:
    print("Seam QA (81-frame H.264 segment; decode = FrameReader rgb24; QA = decode + analysis):")
    with tempfile.TemporaryDirectory() as tmp:
        _segment_figures("512x512", (512, 512), Path(tmp))
        _segment_figures("1920x1080", (1920, 1080), Path(tmp))

    print("SSIM, ours (cv2 Gaussian) vs skimage.metrics.structural_similarity (same definition):")
    astro = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY)
    for w, h in ((128, 128), (512, 512), (1920, 1080)):
        a = cv2.resize(astro, (w, h))
        b = np.roll(a, 2, axis=1)

        def ref_ssim(x: np.ndarray = a, y: np.ndarray = b) -> float:
            return float(
                structural_similarity(
                    x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
                )
            )

        ours = _best(lambda x=a, y=b: ssim(x, y), repeat=5)
        ref = _best(ref_ssim, repeat=3)
        diff = abs(ssim(a, b) - ref_ssim())
        print(
            f"  {w}x{h}: ours {ours * 1e3:6.2f} ms, skimage {ref * 1e3:6.1f} ms ({ref / ours:4.1f}x), |diff| {diff:.1e}"
        )

    print("Likeness per sampled frame (HOG detect on <= 640 px + landmarks + 128-d embedding):")
    t = time.perf_counter()
    seed = reference_from_image(skimage.data.astronaut())
    print(f"  model load + seed: {(time.perf_counter() - t) * 1e3:.0f} ms (once per process)")
    for w, h in ((512, 512), (1920, 1080)):
        frame = _render((w, h), 1)[0]
        cost = _best(lambda: observe_face(frame), repeat=3)  # noqa: B023
        seen = observe_face(frame)
        dist = f"{seen.distance_to(seed):.3f}" if seen else "no face"
        print(f"  {w}x{h}: {cost * 1e3:.0f} ms per sampled frame (distance to seed {dist})")


if __name__ == "__main__":
    run()
