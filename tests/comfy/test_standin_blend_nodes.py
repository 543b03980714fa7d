"""The stand-in's EmptyImage and ImageBlend compute what ComfyUI's do (nodes.EmptyImage,
comfy_extras.nodes_post_processing.Blend): colour unpacking, each blend mode's formula, the
factor mix and clamp, image2 resized to image1 when the shapes differ, batch broadcast, alpha."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.comfyui_server.nodes.base import NodeContext, NodeFailure
from tests.comfyui_server.nodes.images import empty_image, image_blend


def _ctx(tmp_path: Path) -> NodeContext:
    return NodeContext("1", tmp_path, tmp_path, tmp_path, lambda *_: None, lambda _: None)


def test_empty_image_unpacks_rgb(tmp_path: Path) -> None:
    [image] = empty_image(_ctx(tmp_path), 5, 3, 2, 0xFF8040).outputs
    assert image.shape == (2, 3, 5, 3)
    assert image.dtype == np.float32
    assert np.allclose(image[1, 2, 4], [1.0, 0x80 / 255, 0x40 / 255])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("normal", lambda a, b: b),
        ("multiply", lambda a, b: a * b),
        ("screen", lambda a, b: 1 - (1 - a) * (1 - b)),
        ("overlay", lambda a, b: np.where(a <= 0.5, 2 * a * b, 1 - 2 * (1 - a) * (1 - b))),
        ("difference", lambda a, b: a - b),
    ],
)
def test_blend_modes_mixed_by_factor(tmp_path: Path, mode: str, expected: object) -> None:
    rng = np.random.default_rng(1)
    a = rng.random((4, 6, 8, 3), dtype=np.float32)
    b = rng.random((4, 6, 8, 3), dtype=np.float32)
    [out] = image_blend(_ctx(tmp_path), a, b, 0.3, mode).outputs
    assert callable(expected)
    assert np.allclose(out, np.clip(a * 0.7 + expected(a, b) * 0.3, 0, 1), atol=1e-6)


def test_soft_light_and_factor_zero(tmp_path: Path) -> None:
    a = np.full((1, 2, 2, 3), 0.2, np.float32)
    b = np.full((1, 2, 2, 3), 0.8, np.float32)
    [out] = image_blend(_ctx(tmp_path), a, b, 1.0, "soft_light").outputs
    g = ((16 * 0.2 - 12) * 0.2 + 4) * 0.2  # a <= 0.25
    assert np.allclose(out, 0.2 + (2 * 0.8 - 1) * (g - 0.2))
    [same] = image_blend(_ctx(tmp_path), a, b, 0.0, "normal").outputs
    assert np.array_equal(same, a)


def test_one_solid_colour_over_a_batch_of_another_size(tmp_path: Path) -> None:
    frames = np.zeros((3, 10, 16, 3), np.float32)
    [colour] = empty_image(_ctx(tmp_path), 4, 4, 1, 0xFF0000).outputs
    [out] = image_blend(_ctx(tmp_path), frames, colour, 0.5, "normal").outputs
    assert out.shape == (3, 10, 16, 3)
    assert np.allclose(out[..., 0], 0.5, atol=1e-3)
    assert np.allclose(out[..., 1:], 0.0, atol=1e-3)


def test_alpha_kept_and_unknown_mode_fails(tmp_path: Path) -> None:
    rgba = np.concatenate([np.zeros((1, 2, 2, 3)), np.full((1, 2, 2, 1), 0.25)], axis=-1).astype(np.float32)
    [out] = image_blend(_ctx(tmp_path), rgba, np.ones((1, 2, 2, 3), np.float32), 1.0, "normal").outputs
    assert out.shape[-1] == 4
    assert np.allclose(out[..., 3], 0.25)
    assert np.allclose(out[..., :3], 1.0)
    with pytest.raises(NodeFailure, match="Unsupported blend mode"):
        image_blend(_ctx(tmp_path), rgba, rgba, 0.5, "hue")
