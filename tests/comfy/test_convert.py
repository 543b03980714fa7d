"""UI format → API format, checked case by case against the frontend's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.comfy.test_convert_support import SHARED_COMFY, doc, node, out, recorded_info, sock
from x121_desktop.comfy.convert import (
    WorkflowFormat,
    detect_format,
    load_workflow,
    parse_workflow,
    to_api,
    ui_to_api,
)
from x121_desktop.comfy.object_info import map_widget_values
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.document import load_document


def convert(raw: dict[str, object]) -> dict[str, dict[str, object]]:
    return ui_to_api(load_document(raw, "t.json"), recorded_info(), "t.json").prompt


def test_widget_values_follow_input_order_and_skip_control_values() -> None:
    spec = recorded_info().get("KSampler")
    assert spec is not None
    mapped = map_widget_values(spec, [42, "randomize", 20, 7.5, "euler", "karras", 0.9])
    assert dict(mapped.values) == {
        "seed": 42,
        "steps": 20,
        "cfg": 7.5,
        "sampler_name": "euler",
        "scheduler": "karras",
        "denoise": 0.9,
    }
    assert mapped.leftover == ()


def test_upload_widget_value_is_not_an_input_and_missing_values_take_defaults() -> None:
    info = recorded_info()
    load = info.get("LoadImage")
    assert load is not None
    assert dict(map_widget_values(load, ["a.png", "image"]).values) == {"image": "a.png"}
    scale = info.get("ImageScale")
    assert scale is not None
    assert dict(map_widget_values(scale, ["bilinear"]).values) == {
        "upscale_method": "bilinear",
        "width": 512,
        "height": 512,
        "crop": "disabled",
    }
    extra = map_widget_values(scale, ["bilinear", 1, 2, "center", "surplus"])
    assert extra.leftover == ("surplus",)


def test_plain_chain_converts_with_links_and_titles() -> None:
    prompt = convert(
        doc(
            [
                node(1, "LoadImage", outputs=[out("IMAGE", "IMAGE", [1])], widgets=["a.png", "image"], title="Seed A"),
                node(
                    2,
                    "ImageAddNoise",
                    inputs=[sock("image", "IMAGE", 1)],
                    outputs=[out("IMAGE", "IMAGE", [2])],
                    widgets=[7, "fixed", 0.1],
                ),
                node(3, "SaveImage", inputs=[sock("images", "IMAGE", 2)], widgets=["x121/out"]),
            ],
            [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"]],
        )
    )
    assert prompt == {
        "1": {"inputs": {"image": "a.png"}, "class_type": "LoadImage", "_meta": {"title": "Seed A"}},
        "2": {
            "inputs": {"seed": 7, "strength": 0.1, "image": ["1", 0]},
            "class_type": "ImageAddNoise",
            "_meta": {"title": "ImageAddNoise"},
        },
        "3": {
            "inputs": {"filename_prefix": "x121/out", "images": ["2", 0]},
            "class_type": "SaveImage",
            "_meta": {"title": "Save Image"},
        },
    }


def test_reroute_note_primitive_and_linked_widget() -> None:
    prompt = convert(
        doc(
            [
                node(1, "LoadImage", outputs=[out("IMAGE", "IMAGE", [1])], widgets=["a.png", "image"]),
                node(5, "Reroute", inputs=[sock("", "*", 1)], outputs=[out("", "IMAGE", [2])]),
                node(6, "Reroute", inputs=[sock("", "*", 2)], outputs=[out("", "IMAGE", [3])]),
                node(7, "PrimitiveNode", outputs=[out("INT", "INT", [4])], widgets=[24, "fixed"]),
                node(
                    2,
                    "RepeatImageBatch",
                    inputs=[sock("image", "IMAGE", 3), sock("amount", "INT", 4, widget=True)],
                    outputs=[out("IMAGE", "IMAGE", [5])],
                    widgets=[1],
                ),
                node(3, "SaveImage", inputs=[sock("images", "IMAGE", 5)], widgets=["o"]),
                node(9, "Note", widgets=["remember the seed"]),
                node(10, "MarkdownNote", widgets=["# docs"]),
            ],
            [
                [1, 1, 0, 5, 0, "IMAGE"],
                [2, 5, 0, 6, 0, "IMAGE"],
                [3, 6, 0, 2, 0, "IMAGE"],
                [4, 7, 0, 2, 1, "INT"],
                [5, 2, 0, 3, 0, "IMAGE"],
            ],
        )
    )
    assert set(prompt) == {"1", "2", "3"}
    assert prompt["2"]["inputs"] == {"amount": 24, "image": ["1", 0]}


def test_muted_and_bypassed_nodes() -> None:
    prompt = convert(
        doc(
            [
                node(1, "LoadImage", outputs=[out("IMAGE", "IMAGE", [1, 4])], widgets=["a.png", "image"]),
                node(
                    2,
                    "ImageInvert",
                    mode=4,
                    inputs=[sock("image", "IMAGE", 1)],
                    outputs=[out("IMAGE", "IMAGE", [2])],
                ),
                node(3, "SaveImage", inputs=[sock("images", "IMAGE", 2)], widgets=["bypassed"]),
                node(
                    4,
                    "ImageInvert",
                    mode=2,
                    inputs=[sock("image", "IMAGE", 4)],
                    outputs=[out("IMAGE", "IMAGE", [3])],
                ),
                node(5, "SaveImage", inputs=[sock("images", "IMAGE", 3)], widgets=["muted"]),
            ],
            [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"], [3, 4, 0, 5, 0, "IMAGE"], [4, 1, 0, 4, 0, "IMAGE"]],
        )
    )
    assert set(prompt) == {"1", "3", "5"}
    assert prompt["3"]["inputs"]["images"] == ["1", 0]  # passed through the bypassed node
    assert "images" not in prompt["5"]["inputs"]  # fed by a muted node: left out


def _subgraph_doc() -> dict[str, object]:
    """Root: LoadImage(1) → subgraph instance 20 → SaveImage(3). Inside: ImageAddNoise(11) with a promoted seed,
    and a nested instance 12 of a second subgraph holding ImageInvert(31)."""
    inner = {
        "id": "sg-outer",
        "name": "Vary",
        "inputs": [
            {"id": "i1", "name": "image", "type": "IMAGE", "linkIds": [101]},
            {"id": "i2", "name": "seed", "type": "INT", "linkIds": [102]},
        ],
        "outputs": [{"id": "o1", "name": "IMAGE", "type": "IMAGE", "linkIds": [104]}],
        "nodes": [
            node(
                11,
                "ImageAddNoise",
                inputs=[sock("image", "IMAGE", 101), sock("seed", "INT", 102, widget=True)],
                outputs=[out("IMAGE", "IMAGE", [103])],
                widgets=[1, "randomize", 0.25],
            ),
            node(12, "sg-inner", inputs=[sock("image", "IMAGE", 103)], outputs=[out("IMAGE", "IMAGE", [104])]),
        ],
        "links": [
            {"id": 101, "origin_id": -10, "origin_slot": 0, "target_id": 11, "target_slot": 0, "type": "IMAGE"},
            {"id": 102, "origin_id": -10, "origin_slot": 1, "target_id": 11, "target_slot": 1, "type": "INT"},
            {"id": 103, "origin_id": 11, "origin_slot": 0, "target_id": 12, "target_slot": 0, "type": "IMAGE"},
            {"id": 104, "origin_id": 12, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "IMAGE"},
        ],
    }
    nested = {
        "id": "sg-inner",
        "name": "Invert",
        "inputs": [{"id": "n1", "name": "image", "type": "IMAGE", "linkIds": [201]}],
        "outputs": [{"id": "n2", "name": "IMAGE", "type": "IMAGE", "linkIds": [202]}],
        "nodes": [
            node(31, "ImageInvert", inputs=[sock("image", "IMAGE", 201)], outputs=[out("IMAGE", "IMAGE", [202])])
        ],
        "links": [
            {"id": 201, "origin_id": -10, "origin_slot": 0, "target_id": 31, "target_slot": 0, "type": "IMAGE"},
            {"id": 202, "origin_id": 31, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "IMAGE"},
        ],
    }
    return doc(
        [
            node(1, "LoadImage", outputs=[out("IMAGE", "IMAGE", [1])], widgets=["a.png", "image"]),
            node(
                20,
                "sg-outer",
                inputs=[sock("image", "IMAGE", 1), sock("seed", "INT", None, widget=True)],
                outputs=[out("IMAGE", "IMAGE", [2])],
                widgets=[99],
            ),
            node(3, "SaveImage", inputs=[sock("images", "IMAGE", 2)], widgets=["o"]),
        ],
        [[1, 1, 0, 20, 0, "IMAGE"], [2, 20, 0, 3, 0, "IMAGE"]],
        definitions={"subgraphs": [inner, nested]},
    )


def test_subgraphs_flatten_with_path_ids_and_promoted_widgets() -> None:
    prompt = convert(_subgraph_doc())
    assert set(prompt) == {"1", "20:11", "20:12:31", "3"}
    assert prompt["20:11"]["inputs"] == {"seed": 99, "strength": 0.25, "image": ["1", 0]}
    assert prompt["20:12:31"]["inputs"] == {"image": ["20:11", 0]}
    assert prompt["3"]["inputs"]["images"] == ["20:12:31", 0]


def test_format_detection_and_api_files() -> None:
    api_path = SHARED_COMFY / "workflows" / "image-to-video-segment.api.json"
    loaded = load_workflow(api_path)
    assert loaded.format is WorkflowFormat.API
    conv = to_api(loaded, recorded_info())
    assert conv.prompt == json.loads(api_path.read_text())
    assert conv.labels["1"] == '#1 "Start image" (LoadImage)'
    assert detect_format({"nodes": [], "links": []}) is WorkflowFormat.UI
    assert detect_format({}) is None


def test_malformed_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "1": {"class_type": "LoadImage",\n  "inputs": {,}\n}\n', encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_workflow(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 3, column" in message
    assert "\n" not in message


@pytest.mark.parametrize("raw", [{}, [], {"prompt": 5}, {"1": {"inputs": {}}}, "text"])
def test_unknown_format_is_one_sentence(raw: object) -> None:
    with pytest.raises(InvalidInput, match="neither a ComfyUI API-format prompt") as caught:
        parse_workflow(raw, "mystery.json")
    assert "mystery.json" in str(caught.value)


def test_unknown_node_types_are_kept_with_their_links() -> None:
    raw = doc(
        [
            node(1, "VHS_LoadVideo", outputs=[out("IMAGE", "IMAGE", [1])], widgets={"video": "a.mp4"}),
            node(2, "SaveImage", inputs=[sock("images", "IMAGE", 1)], widgets=["o"]),
        ],
        [[1, 1, 0, 2, 0, "IMAGE"]],
    )
    conv = ui_to_api(load_document(raw), recorded_info(), "t.json")
    assert conv.prompt["1"]["class_type"] == "VHS_LoadVideo"
    assert conv.prompt["2"]["inputs"]["images"] == ["1", 0]
    assert conv.prompt["1"]["inputs"] == {}  # widget order unknown without the node's object_info
