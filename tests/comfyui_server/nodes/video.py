"""Model-free video nodes: real encodes with PyAV (h264 mp4, vp9 webm) and Pillow (animated WebP)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image as PILImage

from tests.comfyui_server.nodes.base import (
    Image,
    NodeContext,
    NodeFailure,
    NodeImpl,
    NodeResult,
    Video,
    to_uint8,
)


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def _encode(path: Path, frames: Image, fps: Fraction, codec: str, options: dict[str, str]) -> None:
    pixels = to_uint8(frames)
    height, width = pixels.shape[1] // 2 * 2, pixels.shape[2] // 2 * 2
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for frame in pixels:
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:height, :width]), format="rgb24")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def create_video(ctx: NodeContext, images: Image, fps: float, audio: Any = None) -> NodeResult:
    return NodeResult((Video(images, _rate(fps)),))


def save_video(ctx: NodeContext, video: Video, filename_prefix: str, format: str, codec: str) -> NodeResult:
    path, entry = ctx.next_file(filename_prefix, "mp4")
    _encode(path, video.frames, video.fps, "libx264", {"crf": "19", "preset": "veryfast"})
    return NodeResult(ui={"images": [entry], "animated": [True]})


def save_webm(ctx: NodeContext, images: Image, filename_prefix: str, codec: str, fps: float, crf: float) -> NodeResult:
    path, entry = ctx.next_file(filename_prefix, "webm")
    if codec == "vp9":
        options = {"crf": str(int(crf)), "b": "0", "deadline": "realtime", "cpu-used": "8"}
        _encode(path, images, _rate(fps), "libvpx-vp9", options)
    else:
        _encode(path, images, _rate(fps), "libsvtav1", {"crf": str(int(crf)), "preset": "12"})
    return NodeResult(ui={"images": [entry], "animated": [True]})


def save_animated_webp(
    ctx: NodeContext, images: Image, filename_prefix: str, fps: float, lossless: bool, quality: int, method: str
) -> NodeResult:
    path, entry = ctx.next_file(filename_prefix, "webp")
    frames = [PILImage.fromarray(f) for f in to_uint8(images)]
    effort = {"default": 4, "fastest": 0, "slowest": 6}[method]
    frames[0].save(
        path,
        format="WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=round(1000.0 / fps),
        lossless=lossless,
        quality=quality,
        method=effort,
    )
    return NodeResult(ui={"images": [entry], "animated": [True]})


def load_video(ctx: NodeContext, file: str) -> NodeResult:
    path = ctx.resolve_input(file)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or stream.guessed_rate or 24)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    if not frames:
        raise NodeFailure(f"{file} has no video frames")
    return NodeResult((Video(np.stack(frames).astype(np.float32) / 255.0, rate),))


def get_video_components(ctx: NodeContext, video: Video) -> NodeResult:
    return NodeResult((video.frames, None, float(video.fps)))


NODES = {
    "CreateVideo": NodeImpl(create_video),
    "SaveVideo": NodeImpl(save_video),
    "SaveWEBM": NodeImpl(save_webm),
    "SaveAnimatedWEBP": NodeImpl(save_animated_webp),
    "LoadVideo": NodeImpl(load_video, file_inputs={"file": "mtime"}),
    "GetVideoComponents": NodeImpl(get_video_components),
}
