"""Make real test videos with PyAV, from real photographs (skimage.data).

Independent of `x121_desktop.core.media`: tests use these files to check our reader
and writer against FFmpeg itself, so nothing here calls the code under test.

    from tests.media_factory import make_video, photo_frames, read_stripe

    path = make_video(tmp_path / "a.mp4", 48, size=(128, 96), gop=24)
    frames = photo_frames(48, size=(128, 96), photo="chelsea")
    assert read_stripe(decoded_frame) == 7          # which frame is this?

Every synthetic frame is a window panning slowly across the photo (so consecutive
frames differ the way real footage does) with a frame-number stripe at the top: a
row of black/white blocks giving the index in binary, which survives lossy codecs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.video.stream
import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]

STRIPE_BITS = 12
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")
_CONTAINER_FOR_CODEC = {"libvpx-vp9": "webm", "libvpx": "webm", "ffv1": "matroska", "mjpeg": "matroska"}
_DEFAULT_PIX_FMT = {"ffv1": "yuv444p", "mjpeg": "yuvj420p", "libx264rgb": "rgb24"}


def photo(name: str = "astronaut") -> Frame:
    """An RGB uint8 photograph from skimage.data."""
    from skimage import data

    img = np.asarray(getattr(data, name)())
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


def stripe_height(height: int) -> int:
    return max(6, height // 12)


def draw_stripe(frame: Frame, number: int) -> Frame:
    """Write `number` in binary as black/white blocks across the top rows (in place)."""
    h, w = frame.shape[:2]
    sh, bw = stripe_height(h), w // STRIPE_BITS
    for bit in range(STRIPE_BITS):
        on = (number >> (STRIPE_BITS - 1 - bit)) & 1
        frame[:sh, bit * bw : (bit + 1) * bw] = 255 if on else 0
    frame[:sh, STRIPE_BITS * bw :] = 128
    return frame


def read_stripe(frame: Frame) -> int:
    """The frame number drawn by `draw_stripe` (robust to lossy compression and scaling)."""
    h, w = frame.shape[:2]
    sh, bw = stripe_height(h), w // STRIPE_BITS
    number = 0
    for bit in range(STRIPE_BITS):
        block = frame[sh // 4 : sh - sh // 4, bit * bw + bw // 4 : (bit + 1) * bw - bw // 4]
        number = (number << 1) | int(block.mean() > 127)
    return number


def photo_frames(
    count: int, size: tuple[int, int] = (128, 96), photo_name: str = "astronaut", stripe: bool = True
) -> list[Frame]:
    """`count` distinct frames (width, height = size): a slow pan and zoom over a photo."""
    return list(iter_photo_frames(count, size, photo_name, stripe))


def iter_photo_frames(
    count: int, size: tuple[int, int] = (128, 96), photo_name: str = "astronaut", stripe: bool = True
) -> Iterator[Frame]:
    width, height = size
    src = photo(photo_name)
    sh, sw = src.shape[:2]
    # A window of the output aspect ratio, 70 % of the photo, panning diagonally.
    win_w = min(sw, int(sh * 0.7 * width / height))
    win_h = int(win_w * height / width)
    span_x, span_y = sw - win_w, sh - win_h
    for i in range(count):
        t = i / max(1, count - 1)
        x, y = int(span_x * t), int(span_y * (0.5 - 0.5 * np.cos(np.pi * t)))
        crop = src[y : y + win_h, x : x + win_w]
        frame = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA).astype(np.uint8)
        yield draw_stripe(frame, i) if stripe else frame


def make_video(
    path: Path,
    frames: Iterable[Frame] | int,
    rate: Fraction | int = Fraction(24),
    codec: str = "libx264",
    gop: int | None = None,
    pix_fmt: str | None = None,
    size: tuple[int, int] = (128, 96),
    bframes: int | None = None,
    options: dict[str, str] | None = None,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    metadata: dict[str, str] | None = None,
    audio: bool = False,
    photo_name: str = "astronaut",
    rotation: int | None = None,
) -> Path:
    """Encode `frames` (or that many `photo_frames`) to `path` with raw PyAV; returns `path`.

    `gop`: keyframe interval (1 = all intra). `bframes`: max B-frames (libx264/mpeg4).
    `pts` + `time_base`: explicit timestamps, e.g. for variable frame rate.
    `rotation`: a display-matrix rotation in degrees (as phones write).
    The container follows the suffix (.mp4, .mkv, .webm, .mov, .avi).
    """
    rate = Fraction(rate)
    if isinstance(frames, int):
        frames = iter_photo_frames(frames, size, photo_name)
    opts = dict(options or {})
    if codec == "libx264":
        opts.setdefault("preset", "veryfast")
        opts.setdefault("crf", "20")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, options=opts)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.pix_fmt = pix_fmt or _DEFAULT_PIX_FMT.get(codec, "yuv420p")
        if gop is not None:
            stream.codec_context.gop_size = gop
        if bframes is not None:
            stream.codec_context.max_b_frames = bframes
        if time_base is not None:
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        if metadata:
            out.metadata.update(metadata)
        astream: Any = out.add_stream("aac", rate=48000) if audio else None
        first = True
        n = 0
        for n, img in enumerate(frames):
            if first:
                stream.width, stream.height = img.shape[1], img.shape[0]
                first = False
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            if pts is not None:
                vf.pts = pts[n]
                vf.time_base = time_base or stream.codec_context.time_base
            out.mux(stream.encode(vf))
        out.mux(stream.encode())
        if astream is not None:
            _write_tone(out, astream, seconds=float((n + 1) / rate))
    return path


def _write_tone(out: Any, astream: Any, seconds: float) -> None:
    samples = int(48000 * seconds)
    t = np.arange(samples) / 48000
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = tone[start : start + 1024]
        af = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        af.sample_rate = 48000
        af.pts = start
        out.mux(astream.encode(af))
    out.mux(astream.encode())


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An .m4a / .mka / .wav file with a sine tone and no video stream."""
    with av.open(str(path), "w") as out:
        codec = "pcm_s16le" if path.suffix == ".wav" else "aac"
        astream: Any = out.add_stream(codec, rate=48000)
        samples = int(48000 * seconds)
        t = np.arange(samples) / 48000
        fmt = "s16" if codec == "pcm_s16le" else "fltp"
        tone = 0.2 * np.sin(2 * np.pi * 440 * t)
        data = (tone * 32767).astype(np.int16) if fmt == "s16" else tone.astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = data[start : start + 1024]
            af = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format=fmt, layout="mono")
            af.sample_rate = 48000
            af.pts = start
            out.mux(astream.encode(af))
        out.mux(astream.encode())
    return path


def truncate(src: Path, dst: Path, keep: float = 0.6) -> Path:
    """Copy the first `keep` share of `src`'s bytes to `dst`, as an interrupted download would."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def container_for(codec: str) -> str:
    """A file suffix that can hold `codec`."""
    return {"webm": ".webm", "matroska": ".mkv"}.get(_CONTAINER_FOR_CODEC.get(codec, "mp4"), ".mp4")


def decode_all(path: Path) -> list[Frame]:
    """Every frame in presentation order by plain sequential PyAV decode (the reference)."""
    with av.open(str(path)) as c:
        return [np.asarray(f.to_ndarray(format="rgb24"), dtype=np.uint8) for f in c.decode(video=0)]


def psnr(a: Frame, b: Frame) -> float:
    """Peak signal-to-noise ratio in dB (99 for identical frames): > 30 dB is a faithful lossy copy."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))
