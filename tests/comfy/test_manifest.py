"""Manifests: parsing errors name file and key; validation against the workflow and /object_info."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.comfy.test_convert_support import WORKFLOWS, recorded_info
from x121_desktop.comfy.convert import load_workflow, read_json
from x121_desktop.comfy.templates import ParamType, load_manifest, parse_manifest, validate_manifest, with_limits
from x121_desktop.core.errors import ConfigError

REFERENCE = ["x121-i2v-modelfree", "wan22-i2v"]


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = read_json(WORKFLOWS / f"{name}.manifest.json")
    return data


def _prompt(name: str) -> dict[str, Any]:
    manifest = load_manifest(WORKFLOWS / f"{name}.manifest.json")
    loaded = load_workflow(WORKFLOWS / manifest.workflow)
    assert loaded.api is not None
    return dict(loaded.api)


@pytest.mark.parametrize("name", REFERENCE)
def test_reference_manifests_fit_their_workflows(name: str) -> None:
    manifest = load_manifest(WORKFLOWS / f"{name}.manifest.json")
    assert validate_manifest(manifest, _prompt(name), recorded_info()) == []
    assert {"seed_image_a", "seed", "frame_count", "fps", "width", "height"} <= set(manifest.parameters)
    assert {"segment_video", "last_frame"} <= set(manifest.outputs)
    assert manifest.parameters["seed_image_a"].required


def test_wan_manifest_maps_likeness_and_seed_b() -> None:
    manifest = load_manifest(WORKFLOWS / "wan22-i2v.manifest.json")
    params = manifest.parameters
    assert params["seed_image_b"].default_from == "seed_image_a"
    assert params["likeness_weight"].type is ParamType.FLOAT
    assert {(t.node, t.input) for t in params["likeness_weight"].targets} == {
        ("8", "strength_model"),
        ("9", "strength_model"),
    }
    prompt = _prompt("wan22-i2v")
    assert prompt["16"]["class_type"] == "WanImageToVideo"
    assert prompt["16"]["inputs"]["start_image"] == ["2", 0]  # seed A, scaled
    assert prompt["2"]["inputs"]["image"] == ["1", 0]
    assert prompt["5"]["inputs"]["image"] == ["3", 0]  # CLIP-vision reference: seed B's loader


def test_with_limits_fills_from_object_info() -> None:
    raw = _raw("x121-i2v-modelfree")
    del raw["parameters"]["frame_count"]["max"]
    manifest = with_limits(parse_manifest(raw, "m.json"), _prompt("x121-i2v-modelfree"), recorded_info())
    assert manifest.parameters["frame_count"].maximum == 4096  # RepeatImageBatch.amount max
    wan = load_manifest(WORKFLOWS / "wan22-i2v.manifest.json")
    assert with_limits(wan, _prompt("wan22-i2v"), recorded_info()).parameters["sampler"].choices == (
        "euler",
        "uni_pc",
        "dpmpp_2m",
        "res_multistep",
    )


def _problems(edit: Any) -> list[str]:
    raw = _raw("x121-i2v-modelfree")
    edit(raw)
    manifest = parse_manifest(raw, "edited.manifest.json")
    return [str(p) for p in validate_manifest(manifest, _prompt("x121-i2v-modelfree"), recorded_info())]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda r: r["parameters"]["seed"]["targets"][0].update(node="99"), "node #99, which is not in the workflow"),
        (lambda r: r["parameters"]["seed"]["targets"][0].update(input="sed"), "which has no input 'sed'"),
        (lambda r: r["parameters"]["seed"].update(type="float"), "which takes INT, not a float"),
        (lambda r: r["parameters"]["width"]["targets"][0].update(input="image"), "fed by a link"),
        (lambda r: r["parameters"]["width"].update(max=99999), "max 99999 is above the node's 16384"),
        (lambda r: r["parameters"]["width"].update(default="wide"), "must be a whole number"),
        (lambda r: r["outputs"]["last_frame"].update(node="7"), "which saves nothing"),
        (lambda r: r["outputs"]["last_frame"].update(node="70"), "node #70, which is not in the workflow"),
    ],
)
def test_manifest_problems_are_sentences(edit: Any, words: str) -> None:
    problems = _problems(edit)
    assert len(problems) == 1, problems
    assert words in problems[0]
    assert problems[0].startswith("edited.manifest.json: ")


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda r: r.update(format="other"), "'format'"),
        (lambda r: r.update(version=2), "'version'"),
        (lambda r: r["parameters"]["seed"].update(type="number"), "parameters.seed.type"),
        (lambda r: r["parameters"]["seed"].update(targets=[]), "parameters.seed.targets"),
        (lambda r: r["parameters"]["seed"].update(targets=[{"node": "4"}]), "parameters.seed.targets[0]"),
        (lambda r: r["parameters"]["seed"].update(default_from="nope"), "parameters.seed.default_from"),
        (lambda r: r["outputs"].update(bad=5), "outputs.bad"),
    ],
)
def test_malformed_manifests_name_file_and_key(edit: Any, key: str) -> None:
    raw = copy.deepcopy(_raw("x121-i2v-modelfree"))
    edit(raw)
    with pytest.raises(ConfigError) as caught:
        parse_manifest(raw, "bad.manifest.json")
    assert str(caught.value).startswith(f"bad.manifest.json: {key} ")


def test_manifest_file_with_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "m.manifest.json"
    path.write_text(json.dumps(_raw("wan22-i2v"))[:-10], encoding="utf-8")
    with pytest.raises(Exception, match=r"m\.manifest\.json is not valid JSON: .* at line 1, column"):
        load_manifest(path)
