"""Skin-texture normalization by frequency separation on a feathered skin mask.

usage: skin_texture.py IN.png OUT.png STATS.json STRENGTH

1. Skin mask: pixels inside the YCrCb skin range (Chai & Ngan: Cr 133..173, Cb 77..127),
   cleaned with a morphological open/close and feathered with a Gaussian.
2. Frequency separation: low = Gaussian blur (sigma ~1 % of the short side), high = image - low.
3. On skin, the low layer is evened with a bilateral filter (blotchy tone) and the high layer
   (pores, noise, over-sharpening) is scaled towards TARGET_TEXTURE (a robust spread, so the
   edges of eyes and lips do not count), by a gain limited to [MIN_GAIN, MAX_GAIN] and mixed in by STRENGTH.
Outside the mask the image is unchanged. Exit status 2: bad arguments or unreadable input.
"""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np

TARGET_TEXTURE = 8.0  # robust std (1.4826 x MAD) of the high-frequency layer on skin, in 8-bit levels
MIN_GAIN = 0.35
MAX_GAIN = 1.25
CR_RANGE = (133, 173)
CB_RANGE = (77, 127)


def skin_mask(bgr: np.ndarray) -> np.ndarray:
    ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
    lower = np.array([0, CR_RANGE[0], CB_RANGE[0]], dtype=np.uint8)
    upper = np.array([255, CR_RANGE[1], CB_RANGE[1]], dtype=np.uint8)
    mask = cv2.inRange(ycrcb, lower, upper)
    k = max(3, (min(bgr.shape[:2]) // 100) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    feather = max(1.0, min(bgr.shape[:2]) / 150.0)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), feather)


def texture_level(high: np.ndarray, weight: np.ndarray) -> float:
    """Robust spread of the high-frequency layer on skin: eyes, brows and lips are outliers."""
    if not weight.any():
        return 0.0
    values = high[weight]
    return float(np.median(np.abs(values - np.median(values))) * 1.4826)


def normalize(bgr: np.ndarray, strength: float) -> tuple[np.ndarray, dict[str, float]]:
    img = bgr.astype(np.float32)
    sigma = max(1.5, min(bgr.shape[:2]) / 100.0)
    low = cv2.GaussianBlur(img, (0, 0), sigma)
    high = img - low
    mask = skin_mask(bgr)
    weight = mask > 0.5
    before = texture_level(high, weight)
    gain = float(np.clip(TARGET_TEXTURE / before, MIN_GAIN, MAX_GAIN)) if before > 1e-6 else 1.0
    d = max(5, int(sigma * 2) | 1)
    low_even = cv2.bilateralFilter(low, d, 12.0, sigma * 2)
    m = (mask * float(strength))[..., None]
    new_low = low + m * (low_even - low)
    new_high = high * (1.0 + m * (gain - 1.0))
    out = np.clip(np.rint(new_low + new_high), 0, 255).astype(np.uint8)
    after_high = out.astype(np.float32) - cv2.GaussianBlur(out.astype(np.float32), (0, 0), sigma)
    after = texture_level(after_high, weight)
    stats = {
        "skin_fraction": float(weight.mean()),
        "texture_before": before,
        "texture_after": after,
        "target": TARGET_TEXTURE,
        "gain": gain,
        "strength": float(strength),
        "sigma": sigma,
    }
    return out, stats


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print("usage: skin_texture.py IN.png OUT.png STATS.json STRENGTH", file=sys.stderr)
        return 2
    _, src, dst, stats_path, strength_text = argv
    strength = float(strength_text)
    if not 0.0 <= strength <= 1.0:
        print(f"skin_texture: strength {strength} is outside 0..1", file=sys.stderr)
        return 2
    bgr = cv2.imread(src, cv2.IMREAD_COLOR)
    if bgr is None:
        print(f"skin_texture: cannot read {src}", file=sys.stderr)
        return 2
    out, stats = normalize(bgr, strength)
    if not cv2.imwrite(dst, out):
        print(f"skin_texture: cannot write {dst}", file=sys.stderr)
        return 2
    with open(stats_path, "w", encoding="utf-8") as handle:
        json.dump(stats, handle, indent=2)
    print(
        f"skin {stats['skin_fraction']:.1%}, texture {stats['texture_before']:.2f} -> {stats['texture_after']:.2f} "
        f"(gain {stats['gain']:.2f}, strength {strength:g})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
