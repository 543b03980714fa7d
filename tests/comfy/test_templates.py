"""apply(): named parameters into a prompt, and the reference workflows in workflows/."""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from typing import Any

import pytest

from tests.comfy.test_convert_support import WORKFLOWS, recorded_info
from x121_desktop.comfy.convert import load_workflow, ui_to_api
from x121_desktop.comfy.templates import Manifest, apply, load_manifest
from x121_desktop.comfy.validate import FindingKind, Severity, check_workflow, validate_prompt
from x121_desktop.core.errors import InvalidInput

# Nodes the studio's ComfyUI test server executes (tests/comfyui_server); the model-free workflow uses only these.
TEST_SERVER_NODES = {
    "LoadImage", "ImageScale", "RepeatImageBatch", "ImageAddNoise", "ImageFromBatch", "CreateVideo", "SaveVideo",
    "SaveAnimatedWEBP", "GetImageSize", "PreviewAny", "LoadVideo", "GetVideoComponents", "SaveImage",
}  # fmt: skip


def _load(name: str) -> tuple[Manifest, dict[str, Any]]:
    manifest = load_manifest(WORKFLOWS / f"{name}.manifest.json")
    loaded = load_workflow(WORKFLOWS / manifest.workflow)
    assert loaded.api is not None
    return manifest, dict(loaded.api)


def test_apply_returns_a_new_prompt_and_never_mutates() -> None:
    manifest, prompt = _load("x121-i2v-modelfree")
    before = copy.deepcopy(prompt)
    out = apply(manifest, prompt, {"seed_image_a": "up/seed a.png", "frame_count": 24, "fps": Fraction(24000, 1001)})
    assert prompt == before
    assert out is not prompt
    assert out["1"]["inputs"]["image"] == "up/seed a.png"
    assert out["3"]["inputs"]["amount"] == 24
    assert out["5"]["inputs"]["fps"] == pytest.approx(23.976, abs=1e-3)
    assert out["9"]["inputs"]["fps"] == out["5"]["inputs"]["fps"]  # one parameter, two targets
    assert out["4"]["inputs"]["seed"] == 0  # default
    assert out["2"]["inputs"]["image"] == ["1", 0]  # links untouched
    out["1"]["inputs"]["image"] = "changed"
    assert prompt["1"]["inputs"]["image"] == "x121_seed_a.png"


def test_missing_required_parameter_is_named() -> None:
    manifest, prompt = _load("wan22-i2v")
    with pytest.raises(InvalidInput) as caught:
        apply(manifest, prompt, {"seed_image_a": "a.png"})
    assert str(caught.value).startswith("wan22-i2v.api.json needs the parameter 'prompt' (string), which was not given")


def test_default_from_and_likeness() -> None:
    manifest, prompt = _load("wan22-i2v")
    out = apply(manifest, prompt, {"seed_image_a": "a.png", "prompt": "she smiles", "likeness_weight": 1.2, "seed": 9})
    assert out["3"]["inputs"]["image"] == "a.png"  # seed B falls back to seed A
    assert out["8"]["inputs"]["strength_model"] == 1.2
    assert out["9"]["inputs"]["strength_model"] == 1.2
    assert out["17"]["inputs"]["noise_seed"] == out["18"]["inputs"]["noise_seed"] == 9
    both = apply(manifest, prompt, {"seed_image_a": "a.png", "seed_image_b": "b.png", "prompt": "x"})
    assert both["3"]["inputs"]["image"] == "b.png"
    assert both["1"]["inputs"]["image"] == "a.png"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"frame_count": 2.5}, "must be a whole number"),
        ({"frame_count": True}, "must be a whole number"),
        ({"frame_count": 0}, "below its minimum 1"),
        ({"variation": 3}, "above its maximum 1.0"),
        ({"seed_image_a": 7}, "must be text"),
        ({"colour": "red"}, "has no parameter 'colour'"),
    ],
)
def test_bad_parameter_values(params: dict[str, Any], words: str) -> None:
    manifest, prompt = _load("x121-i2v-modelfree")
    with pytest.raises(InvalidInput, match=words):
        apply(manifest, prompt, {"seed_image_a": "a.png", **params})


def test_choice_parameter_is_checked() -> None:
    manifest, prompt = _load("wan22-i2v")
    with pytest.raises(InvalidInput, match="not one of 'euler'"):
        apply(manifest, prompt, {"seed_image_a": "a", "prompt": "p", "sampler": "magic"})


def test_model_free_workflow_is_valid_and_uses_only_test_server_nodes() -> None:
    manifest, prompt = _load("x121-i2v-modelfree")
    assert {n["class_type"] for n in prompt.values()} <= TEST_SERVER_NODES
    filled = apply(manifest, prompt, {"seed_image_a": "example.png"})  # the one file the recorded server has
    assert validate_prompt(filled, recorded_info()) == []


def test_model_free_ui_document_converts_to_the_api_file() -> None:
    ui = load_workflow(WORKFLOWS / "x121-i2v-modelfree.json")
    assert ui.document is not None
    converted = ui_to_api(ui.document, recorded_info()).prompt
    assert converted == json.loads((WORKFLOWS / "x121-i2v-modelfree.api.json").read_text(encoding="utf-8"))


def test_wan_workflow_needs_its_models_on_a_server_without_them() -> None:
    manifest, prompt = _load("wan22-i2v")
    filled = apply(manifest, prompt, {"seed_image_a": "example.png", "prompt": "a slow turn"})
    _, findings = check_workflow(load_workflow(WORKFLOWS / "wan22-i2v.api.json"), recorded_info())
    errors = [f for f in validate_prompt(filled, recorded_info()) if f.severity is Severity.ERROR]
    assert {f.kind for f in errors} == {FindingKind.MISSING_MODEL}
    assert {(f.node_id, f.input_name) for f in errors} == {
        ("4", "clip_name"),
        ("6", "unet_name"),
        ("7", "unet_name"),
        ("8", "lora_name"),
        ("9", "lora_name"),
        ("12", "clip_name"),
        ("15", "vae_name"),
    }
    assert {f.kind for f in findings} == {FindingKind.MISSING_MODEL, FindingKind.MISSING_INPUT_FILE}
