"""A job's work estimate (pixel-frames) from its API prompt, for the finish-aware dispatch rule."""

from __future__ import annotations

from x121_desktop.comfy.needs import work_estimate


def test_a_video_latent_counts_width_height_and_length() -> None:
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "seed.png"}},
        "2": {"class_type": "WanImageToVideo", "inputs": {"width": 832, "height": 480, "length": 81, "vae": ["3", 0]}},
    }
    assert work_estimate(prompt) == 832 * 480 * 81


def test_images_count_their_batch_and_the_largest_node_wins() -> None:
    prompt = {
        "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 4}},
        "2": {"class_type": "ImageScale", "inputs": {"width": 1024, "height": 1024, "image": ["1", 0]}},
    }
    assert work_estimate(prompt) == 1024 * 1024


def test_links_booleans_and_missing_sizes_count_one() -> None:
    prompt = {
        "1": {"class_type": "ImageScale", "inputs": {"width": ["5", 0], "height": 512}},
        "2": {"class_type": "Odd", "inputs": {"width": True, "height": 512}},
        "3": "not a node",
    }
    assert work_estimate(prompt) == 1.0
