"""Opening damaged UI documents and API prompts for editing: problems listed, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core.graph.test_edits import CATALOG, consistent
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.catalog import NodeCatalog
from x121_desktop.core.graph.document import dump_document
from x121_desktop.core.graph.repair import SourceFormat, open_workflow_json


def test_damaged_document_opens_with_problems_on_the_nodes() -> None:
    raw: dict[str, Any] = {
        "nodes": [
            {"id": 1, "type": "LoadImage", "mode": 0, "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}]},
            {"id": 2, "type": "MysteryNode", "mode": 0, "inputs": [{"name": "x", "type": "IMAGE", "link": 5}]},
            {"id": 2, "type": "PreviewImage"},
            {"type": "NoId"},
            "junk",
        ],
        "links": [[1, 1, 0, 2, 0, "IMAGE"], [5, 99, 0, 2, 0, "IMAGE"], [7, 1, 0, 42, 0, "IMAGE"], ["bad"]],
        "groups": [],
        "brand_new_field": {"kept": 1},
        "version": 0.4,
    }
    opened = open_workflow_json(raw, "damaged.json", CATALOG)
    assert opened.format is SourceFormat.UI
    texts = [(p.node_id, p.message) for p in opened.problems]
    assert (None, "A node entry without an id or type was left out ({'type': 'NoId'}).") in texts
    assert ("2", "Node id 2 appears twice; the second one was left out.") in texts
    assert ("2", "Link 5 comes from node 99, which is not in the workflow; it was left out.") in texts
    assert ("1", "Link 7 goes to node 42, which is not in the workflow.") in texts
    assert any(p.node_id == "2" and "'MysteryNode' is not installed on test" in p.message for p in opened.problems)
    assert any("malformed link" in m for _, m in texts)
    doc = opened.document
    node2 = doc.graph.node(2)
    assert node2 is not None
    assert node2.inputs[0].link is None
    assert dump_document(doc)["brand_new_field"] == {"kept": 1}


def test_no_catalogue_means_no_unknown_type_noise() -> None:
    raw = {"nodes": [{"id": 1, "type": "Anything"}], "links": [], "version": 0.4}
    assert open_workflow_json(raw, "x", NodeCatalog()).problems == ()


def test_api_prompt_opens_as_a_laid_out_graph() -> None:
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}, "_meta": {"title": "Start"}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
        "3": {"class_type": "Custom", "inputs": {"pic": ["1", 1], "strength": 0.5}},
    }
    opened = open_workflow_json(prompt, "p.json", CATALOG)
    assert opened.format is SourceFormat.API
    doc = opened.document
    consistent(doc)
    load = doc.graph.node(1)
    assert load is not None
    assert load.title == "Start"
    assert load.widgets_values == ["a.png", "image"]
    assert [(lk.origin_id, lk.origin_slot, lk.target_id, lk.type) for lk in doc.graph.links] == [
        (1, 0, 2, "IMAGE"),
        (1, 1, 3, "MASK"),
    ]
    xs = {str(n.id): n.pos[0] for n in doc.graph.nodes if n.pos}
    assert xs["1"] < xs["2"]
    assert xs["2"] == xs["3"]
    assert [p.node_id for p in opened.problems] == ["3"]


@pytest.mark.parametrize("raw", [[], {"a": 1}, "text", {"nodes": "x", "links": []}])
def test_non_workflows_are_one_sentence(raw: object) -> None:
    with pytest.raises(InvalidInput, match="neither a ComfyUI UI-format workflow"):
        open_workflow_json(raw, "x.json", CATALOG)
