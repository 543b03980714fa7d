"""Model-free image nodes, executed for real with numpy, OpenCV and Pillow."""

from __future__ import annotations

import io
import secrets
from typing import Any

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps

from tests.comfyui_server.nodes.base import Image, NodeContext, NodeFailure, NodeImpl, NodeResult, to_uint8

_INTERPOLATION = {
    "nearest-exact": cv2.INTER_NEAREST_EXACT,
    "bilinear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}


def load_image(ctx: NodeContext, image: str) -> NodeResult:
    path = ctx.resolve_input(image)
    with PILImage.open(path) as opened:
        opened.load()  # a corrupt file fails here, as in ComfyUI
        picture = ImageOps.exif_transpose(opened) or opened
        rgba = picture.convert("RGBA")
    pixels = np.asarray(rgba, dtype=np.float32) / 255.0
    mask = 1.0 - pixels[None, :, :, 3] if "A" in picture.getbands() else np.zeros((1, 64, 64), np.float32)
    return NodeResult((pixels[None, :, :, :3].copy(), mask))


def image_scale(ctx: NodeContext, image: Image, upscale_method: str, width: int, height: int, crop: str) -> NodeResult:
    _, h, w, _ = image.shape
    if width == 0 and height == 0:
        return NodeResult((image,))
    width = width or max(1, round(w * height / h))
    height = height or max(1, round(h * width / w))
    frames = image
    if crop == "center":
        old_aspect, new_aspect = w / h, width / height
        if old_aspect > new_aspect:
            cut = round((w - w * (new_aspect / old_aspect)) / 2)
            frames = frames[:, :, cut : w - cut]
        elif old_aspect < new_aspect:
            cut = round((h - h * (old_aspect / new_aspect)) / 2)
            frames = frames[:, cut : h - cut]
    method = _INTERPOLATION[upscale_method]
    out = np.stack([cv2.resize(f, (width, height), interpolation=method) for f in frames])
    return NodeResult((np.clip(out, 0.0, 1.0).astype(np.float32),))


def repeat_image_batch(ctx: NodeContext, image: Image, amount: int) -> NodeResult:
    return NodeResult((np.tile(image, (amount, 1, 1, 1)),))


def image_add_noise(ctx: NodeContext, image: Image, seed: int, strength: float) -> NodeResult:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(strength)
    return NodeResult((np.clip(image + noise, 0.0, 1.0).astype(np.float32),))


def image_blur(ctx: NodeContext, image: Image, blur_radius: int, sigma: float) -> NodeResult:
    size = blur_radius * 2 + 1
    return NodeResult((np.stack([cv2.GaussianBlur(f, (size, size), sigma) for f in image]),))


def image_from_batch(ctx: NodeContext, image: Image, batch_index: int, length: int) -> NodeResult:
    start = min(batch_index, image.shape[0] - 1)
    return NodeResult((image[start : start + length].copy(),))


def empty_image(ctx: NodeContext, width: int, height: int, batch_size: int = 1, color: int = 0) -> NodeResult:
    """A solid RGB image; `color` is 0xRRGGBB, each channel / 255 (as nodes.EmptyImage)."""
    rgb = [((color >> shift) & 0xFF) / 0xFF for shift in (16, 8, 0)]
    return NodeResult((np.broadcast_to(np.asarray(rgb, np.float32), (batch_size, height, width, 3)).copy(),))


def _with_alpha(image: Image) -> Image:
    alpha = np.ones((*image.shape[:3], 1), np.float32)
    return np.concatenate([image, alpha], axis=-1)


def _blend(a: Image, b: Image, mode: str) -> Image:
    if mode == "normal":
        return b
    if mode == "multiply":
        return a * b
    if mode == "screen":
        return 1 - (1 - a) * (1 - b)
    if mode == "overlay":
        return np.where(a <= 0.5, 2 * a * b, 1 - 2 * (1 - a) * (1 - b))
    if mode == "soft_light":
        g = np.where(a <= 0.25, ((16 * a - 12) * a + 4) * a, np.sqrt(np.maximum(a, 0.0)))
        return np.where(b <= 0.5, a - (1 - 2 * b) * a * (1 - a), a + (2 * b - 1) * (g - a))
    if mode == "difference":
        return a - b
    raise NodeFailure(f"Unsupported blend mode: {mode}")


def image_blend(ctx: NodeContext, image1: Image, image2: Image, blend_factor: float, blend_mode: str) -> NodeResult:
    """ImageBlend: image2 (an alpha channel added to whichever lacks one, resized bicubic with a centre
    crop to image1's size when the shapes differ, its batch broadcast) blended over image1 by
    `blend_mode`, mixed with image1 by `blend_factor`, clamped; image1's alpha is kept."""
    if image1.shape[-1] != image2.shape[-1]:
        image1, image2 = (_with_alpha(i) if i.shape[-1] == 3 else i for i in (image1, image2))
    if image1.shape != image2.shape and image1.shape[1:3] != image2.shape[1:3]:
        [image2] = image_scale(ctx, image2, "bicubic", image1.shape[2], image1.shape[1], "center").outputs
    blended = _blend(image1, image2, blend_mode)
    mixed = np.clip(image1 * (1 - blend_factor) + blended * blend_factor, 0.0, 1.0).astype(np.float32)
    if image1.shape[-1] == 4:
        mixed[..., 3] = image1[..., 3]
    return NodeResult((mixed,))


def get_image_size(ctx: NodeContext, image: Image) -> NodeResult:
    batch, height, width, _ = image.shape
    ctx.send_text(f"width: {width}, height: {height}\n batch size: {batch}")
    return NodeResult((width, height, batch))


def _png(frame: Image) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(to_uint8(frame)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def save_image(ctx: NodeContext, images: Image, filename_prefix: str, *, temp: bool = False) -> NodeResult:
    entries: list[dict[str, str]] = []
    for frame in images:
        path, entry = ctx.next_file(filename_prefix, "png", temp=temp)
        path.write_bytes(_png(frame))
        entries.append(entry)
    return NodeResult(ui={"images": entries})


def preview_image(ctx: NodeContext, images: Image) -> NodeResult:
    prefix = "ComfyUI_temp_" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5))
    return save_image(ctx, images, prefix, temp=True)


def save_image_websocket(ctx: NodeContext, images: Image) -> NodeResult:
    total = images.shape[0]
    for index, frame in enumerate(images):
        ctx.progress(index, total, _png(frame))
    return NodeResult()


def preview_any(ctx: NodeContext, source: Any) -> NodeResult:
    return NodeResult(ui={"text": [str(source)]})


NODES = {
    "LoadImage": NodeImpl(load_image, file_inputs={"image": "hash"}),
    "ImageScale": NodeImpl(image_scale),
    "RepeatImageBatch": NodeImpl(repeat_image_batch),
    "ImageAddNoise": NodeImpl(image_add_noise),
    "ImageBlur": NodeImpl(image_blur),
    "ImageFromBatch": NodeImpl(image_from_batch),
    "EmptyImage": NodeImpl(empty_image),
    "ImageBlend": NodeImpl(image_blend),
    "GetImageSize": NodeImpl(get_image_size),
    "SaveImage": NodeImpl(save_image),
    "PreviewImage": NodeImpl(preview_image),
    "SaveImageWebsocket": NodeImpl(save_image_websocket, always_changed=True),
    "PreviewAny": NodeImpl(preview_any),
}
