"""Validation before submit, checked against what the recorded ComfyUI server really rejected."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.comfy.test_convert_support import SHARED_COMFY, recorded_info
from x121_desktop.comfy.convert import parse_workflow
from x121_desktop.comfy.validate import (
    Finding,
    FindingKind,
    Severity,
    WorkflowInvalid,
    check_workflow,
    ensure_valid,
    findings_from_reply,
    validate_prompt,
)
from x121_desktop.core.errors import ComfyError

# What the server called each error, and what we call it.
SERVER_KIND = {
    "value_bigger_than_max": FindingKind.OUT_OF_RANGE,
    "value_smaller_than_min": FindingKind.OUT_OF_RANGE,
    "value_not_in_list": FindingKind.VALUE_NOT_IN_LIST,
    "required_input_missing": FindingKind.MISSING_INPUT,
    "exception_during_validation": FindingKind.BAD_LINK,
    "return_type_mismatch": FindingKind.TYPE_MISMATCH,
    "custom_validation_failed": FindingKind.MISSING_INPUT_FILE,
    "invalid_input_type": FindingKind.INVALID_VALUE,
}


def _recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SHARED_COMFY / name).read_text(encoding="utf-8"))
    return data


def _kinds(findings: list[Finding], severity: Severity | None = Severity.ERROR) -> set[tuple[str | None, FindingKind]]:
    return {(f.node_id, f.kind) for f in findings if severity is None or f.severity is severity}


def _assert_sentences(findings: list[Finding]) -> None:
    for finding in findings:
        text = finding.message
        assert text.endswith("."), text
        assert "\n" not in text
        assert text[0].isupper()
        if finding.node_id is not None:
            assert f"#{finding.node_id}" in text


CASES = [
    k
    for k, v in _recorded("error-validation-misc.json").items()
    if isinstance(v, dict) and "workflow" in v and v["post_prompt"]["response"]["json"].get("node_errors")
]


@pytest.mark.parametrize("case", CASES)
def test_our_findings_match_the_server_on_recorded_rejections(case: str) -> None:
    rec = _recorded("error-validation-misc.json")[case]
    server = rec["post_prompt"]["response"]["json"]["node_errors"]
    expected = {(nid, SERVER_KIND[e["type"]]) for nid, entry in server.items() for e in entry["errors"]}
    ours = validate_prompt(rec["workflow"], recorded_info())
    _assert_sentences(ours)
    # LoadImage input files are warnings for us (seed images are uploaded at submit time); compare all kinds.
    found = _kinds(ours, None)
    assert expected <= found, (case, [f.message for f in ours])
    errors = _kinds(ours)
    assert errors <= expected, (case, [f.message for f in ours])
    replayed = findings_from_reply(rec["post_prompt"]["response"]["json"], rec["workflow"])
    _assert_sentences(replayed)
    assert {(f.node_id, f.kind) for f in replayed} == expected


def test_top_level_rejections() -> None:
    misc = _recorded("error-validation-misc.json")
    no_out = misc["no output node"]
    assert [f.kind for f in validate_prompt(no_out["workflow"], recorded_info()) if f.severity is Severity.ERROR] == [
        FindingKind.NO_OUTPUTS
    ]
    assert [f.kind for f in findings_from_reply(no_out["post_prompt"]["response"]["json"])] == [FindingKind.NO_OUTPUTS]
    no_class = misc["node without class_type"]
    reply = findings_from_reply(no_class["post_prompt"]["response"]["json"])
    assert [(f.kind, f.node_id) for f in reply] == [(FindingKind.MALFORMED_NODE, "2")]
    ours = validate_prompt(no_class["workflow"], recorded_info())
    assert [f.kind for f in ours if f.severity is Severity.ERROR] == [FindingKind.MALFORMED_NODE]


def test_missing_custom_node_is_named() -> None:
    rec = _recorded("error-missing-node.json")["post_prompt"]
    prompt = rec["request"]["json"]["prompt"]
    ours = [f for f in validate_prompt(prompt, recorded_info()) if f.severity is Severity.ERROR]
    assert [(f.kind, f.node_id, f.node_type) for f in ours] == [
        (FindingKind.MISSING_NODE_TYPE, "13", "VHS_VideoCombine")
    ]
    assert "missing node type" in ours[0].message
    replayed = findings_from_reply(rec["response"]["json"], prompt)
    assert [(f.kind, f.node_id) for f in replayed] == [(FindingKind.MISSING_NODE_TYPE, "13")]
    _assert_sentences(replayed)


@pytest.mark.parametrize("case", ["only_lora_missing", "lora_and_checkpoint_missing"])
def test_missing_lora_and_checkpoint_are_missing_models(case: str) -> None:
    rec = _recorded("error-missing-lora.json")[case]["post_prompt"]
    prompt = rec["request"]["json"]["prompt"]
    reply = findings_from_reply(rec["response"]["json"], prompt)
    assert {f.kind for f in reply} == {FindingKind.MISSING_MODEL}
    ours = validate_prompt(prompt, recorded_info())
    assert {(f.node_id, f.kind) for f in reply} <= _kinds(ours)
    lora = next(f for f in ours if f.node_id == "2")
    assert lora.message == (
        "Node #2 (LoraLoader) needs the LoRA 'my_style_lora.safetensors' (lora_name), which is not on this server "
        "(missing model); copy it into ComfyUI/models/loras on the server."
    )


def test_accepted_with_node_errors_is_still_a_failure() -> None:
    rec = _recorded("error-validation-misc.json")["one good output, one bad output (whole prompt rejected?)"]
    reply = rec["post_prompt"]["response"]
    assert reply["status"] == 200
    findings = findings_from_reply(reply["json"], rec["workflow"])
    assert [(f.kind, f.node_id) for f in findings] == [(FindingKind.OUT_OF_RANGE, "5")]
    with pytest.raises(WorkflowInvalid) as caught:
        ensure_valid("segment.api.json", findings)
    assert isinstance(caught.value, ComfyError)
    assert str(caught.value) == (
        "segment.api.json cannot run: Node #5 (ImageScale) has width out of range "
        "(Value 99999 bigger than max of 16384); pick a value in range. Fix these, then submit again."
    )


def test_cycle_is_one_clear_error() -> None:
    prompt = {
        "1": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}, "_meta": {"title": "A"}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}},
    }
    findings = validate_prompt(prompt, recorded_info())
    assert [f.kind for f in findings] == [FindingKind.CYCLE]
    assert findings[0].message.startswith('Node #1 "A" (ImageInvert) is part of a cycle (#1 → #2 → #1)')
    with pytest.raises(WorkflowInvalid, match="cannot run: Node #1") as caught:
        ensure_valid("loop.api.json", findings)
    assert "\n" not in str(caught.value)


def test_cycle_in_a_ui_document_and_a_link_to_a_missing_node_in_api_format() -> None:
    ui = {
        "nodes": [
            {"id": 1, "type": "ImageInvert", "inputs": [{"name": "image", "type": "IMAGE", "link": 2}],
             "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}]},
            {"id": 2, "type": "ImageInvert", "inputs": [{"name": "image", "type": "IMAGE", "link": 1}],
             "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [2, 3]}]},
            {"id": 3, "type": "SaveImage", "inputs": [{"name": "images", "type": "IMAGE", "link": 3}],
             "widgets_values": ["x"]},
        ],
        "links": [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 1, 0, "IMAGE"], [3, 2, 0, 3, 0, "IMAGE"]],
    }  # fmt: skip
    _, findings = check_workflow(parse_workflow(ui, "loop.json"), recorded_info())
    assert [f.kind for f in findings] == [FindingKind.CYCLE]
    api = {"3": {"class_type": "SaveImage", "inputs": {"images": ["42", 0], "filename_prefix": "x"}}}
    findings = validate_prompt(api, recorded_info())
    assert [(f.kind, f.input_name) for f in findings] == [(FindingKind.BAD_LINK, "images")]
    assert "node #42, which is not in the workflow" in findings[0].message
