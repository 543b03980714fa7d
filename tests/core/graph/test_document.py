"""UI-format documents load into the graph model and save back unchanged."""

from __future__ import annotations

import copy
import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.model import NodeMode


def _template_files() -> list[Path]:
    root = Path(str(resources.files("comfyui_workflow_templates_json") / "templates"))
    return sorted(p for p in root.glob("*.json") if not p.name.startswith("index") and p.name != "fuse_options.json")


def small_doc() -> dict[str, Any]:
    return {
        "id": "abc",
        "last_node_id": 3,
        "nodes": [
            {
                "id": 1,
                "type": "LoadImage",
                "pos": [0, 0],
                "size": [300, 200],
                "mode": 0,
                "inputs": [],
                "outputs": [
                    {"name": "IMAGE", "type": "IMAGE", "links": [1]},
                    {"name": "MASK", "type": "MASK", "links": None},
                ],
                "properties": {"Node name for S&R": "LoadImage"},
                "widgets_values": ["a.png", "image"],
                "color": "#223",
            },
            {
                "id": 2,
                "type": "SaveImage",
                "title": "Last frame",
                "mode": 4,
                "inputs": [{"name": "images", "type": "IMAGE", "link": 1, "localized_name": "images"}],
                "outputs": [],
                "widgets_values": ["out"],
            },
        ],
        "links": [[1, 1, 0, 2, 0, "IMAGE"]],
        "groups": [{"id": 1, "title": "Inputs", "bounding": [0, 0, 10, 10], "color": "#fff"}],
        "config": {},
        "extra": {"ds": {"scale": 1}},
        "version": 0.4,
    }


def test_small_document_is_modelled() -> None:
    doc = load_document(small_doc(), "small.json")
    save = doc.graph.node(2)
    assert save is not None
    assert save.mode == NodeMode.BYPASS
    assert save.label == '#2 "Last frame" (SaveImage)'
    assert doc.graph.node("1") is doc.graph.node(1)  # ids compare as text
    link = doc.graph.link(1)
    assert link is not None
    assert (link.origin_id, link.origin_slot, link.target_id, link.target_slot, link.type) == (1, 0, 2, 0, "IMAGE")
    assert [lk.id for lk in doc.graph.links_into(2)] == [1]
    assert doc.graph.groups[0].title == "Inputs"
    assert doc.extra["extra"] == {"ds": {"scale": 1}}


def test_save_after_load_is_identical_and_edits_show() -> None:
    raw = small_doc()
    doc = load_document(copy.deepcopy(raw), "small.json")
    assert json.loads(json.dumps(dump_document(doc))) == raw
    save = doc.graph.nodes[1]
    moved = dataclasses.replace(save, pos=(50.0, 60.0), mode=NodeMode.ALWAYS)
    edited = dataclasses.replace(doc, graph=dataclasses.replace(doc.graph, nodes=(doc.graph.nodes[0], moved)))
    out = dump_document(edited)
    assert out["nodes"][1]["pos"] == [50.0, 60.0]
    assert out["nodes"][1]["mode"] == 0
    assert out["nodes"][1]["inputs"][0]["localized_name"] == "images"  # unknown keys survive edits


def test_object_form_links_round_trip() -> None:
    raw = small_doc()
    raw["links"] = [
        {"id": 1, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0, "type": "IMAGE", "parentId": 3}
    ]
    raw["version"] = 1
    doc = load_document(copy.deepcopy(raw), "v1.json")
    assert doc.link_format == "object"
    assert doc.graph.links[0].parent_id == 3  # a reroute id (here with no reroute 3: kept, drawn straight)
    assert json.loads(json.dumps(dump_document(doc))) == raw


def test_every_installed_template_round_trips() -> None:
    files = _template_files()
    assert len(files) > 100, "the comfyui-workflow-templates package should be installed in .venv"
    for path in files:
        raw = json.loads(path.read_text(encoding="utf-8"))
        doc = load_document(copy.deepcopy(raw), path.name)
        assert json.loads(json.dumps(dump_document(doc))) == raw, path.name


def test_link_from_a_missing_node_is_one_sentence() -> None:
    raw = small_doc()
    raw["links"] = [[1, 99, 0, 2, 0, "IMAGE"]]
    with pytest.raises(InvalidInput) as caught:
        load_document(raw, "broken.json")
    message = str(caught.value)
    assert "broken.json" in message
    assert "node 99" in message
    assert '#2 "Last frame" (SaveImage)' in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"nodes": "x"}, "not a ComfyUI UI-format workflow"),
        ({"nodes": [], "links": [], "version": 7}, "newer than this studio understands"),
        ({"nodes": [{"id": 1}], "links": []}, "has no id or type"),
        ({"nodes": [], "links": [[1, 2, 3]]}, "link entry is malformed"),
    ],
)
def test_bad_documents_are_named(raw: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as caught:
        load_document(raw, "doc.json")
    assert "doc.json" in str(caught.value)
