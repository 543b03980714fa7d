"""Parameter mapping without Qt: exposing inputs builds a manifest that parses, validates against the
workflow, survives a JSON round trip, equals the hand-written one, and un-exposing takes it back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import REPO, SHARED
from x121_desktop.comfy.convert import ui_to_api
from x121_desktop.comfy.object_info import ObjectInfo
from x121_desktop.comfy.templates import ParamType, apply, parse_manifest, validate_manifest
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.document import load_document
from x121_desktop.services.node_editor_mapping import (
    expose,
    exposed,
    form_fields,
    input_info,
    new_manifest,
    unexpose,
)

INFO = ObjectInfo.from_file(SHARED / "comfyui" / "object_info.json")
UI = REPO / "workflows" / "x121-i2v-modelfree.json"
SHIPPED = json.loads((REPO / "workflows" / "x121-i2v-modelfree.manifest.json").read_text())


def prompt() -> dict[str, Any]:
    return ui_to_api(load_document(json.loads(UI.read_text())), INFO).prompt


def test_exposing_the_shipped_targets_round_trips_to_the_same_parameters() -> None:
    api = prompt()
    manifest = new_manifest("x121-i2v-modelfree.api.json", "model-free i2v")
    for name, body in SHIPPED["parameters"].items():
        for target in body["targets"]:
            inp = input_info(api, INFO, target["node"], target["input"])
            assert inp is not None, (name, target)
            manifest = expose(manifest, name, inp)
    text = json.dumps(manifest)
    again = json.loads(text)
    assert again == manifest
    parsed, shipped = parse_manifest(again, "built"), parse_manifest(SHIPPED, "shipped")
    assert {n: (p.type, p.targets) for n, p in parsed.parameters.items()} == {
        n: (p.type, p.targets) for n, p in shipped.parameters.items()
    }
    assert validate_manifest(parsed, api, INFO) == []
    assert parsed.parameters["seed_image_a"].required
    assert parsed.parameters["frame_count"].default == api["3"]["inputs"]["amount"]
    assert exposed(manifest)[("4", "seed")] == "seed"
    assert len(parsed.parameters["fps"].targets) == 2
    filled = apply(parsed, api, {"seed_image_a": "astronaut.png", "seed": 99, "frame_count": 4})
    assert filled["4"]["inputs"]["seed"] == 99
    assert filled["3"]["inputs"]["amount"] == 4

    fields = form_fields(manifest)
    assert [f.name for f in fields][:3] == ["seed_image_a", "seed", "frame_count"]
    assert fields[0].type is ParamType.IMAGE
    assert ("1", "image") in fields[0].targets

    for node, inp_name in list(exposed(manifest)):
        manifest = unexpose(manifest, node, inp_name)
    assert manifest == new_manifest("x121-i2v-modelfree.api.json", "model-free i2v")
    assert form_fields(manifest) == ()


def test_wrong_types_links_and_double_exposure_are_refused() -> None:
    api = prompt()
    manifest = new_manifest("w.api.json")
    seed = input_info(api, INFO, "4", "seed")
    strength = input_info(api, INFO, "4", "strength")
    assert seed is not None
    assert strength is not None
    manifest = expose(manifest, "likeness_weight", strength)
    assert manifest["parameters"]["likeness_weight"]["type"] == "float"
    with pytest.raises(InvalidInput, match="takes INT, but likeness_weight is a float"):
        expose(manifest, "likeness_weight", seed)
    with pytest.raises(InvalidInput, match="already the parameter 'likeness_weight'"):
        expose(manifest, "variation", strength)
    with pytest.raises(InvalidInput, match="cannot be a parameter name"):
        expose(manifest, "two words", seed)
    assert input_info(api, INFO, "4", "image") is None  # fed by a link: not a widget value
    assert input_info(api, INFO, "404", "seed") is None
    custom = expose(manifest, "noise_seed", seed)
    assert custom["parameters"]["noise_seed"] == {
        "type": "int",
        "targets": [{"node": "4", "input": "seed"}],
        "default": api["4"]["inputs"]["seed"],
        "min": seed.minimum,
        "max": seed.maximum,
    }
