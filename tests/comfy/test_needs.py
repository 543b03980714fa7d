"""Job needs and server capabilities from the recorded /object_info and the reference workflows."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from x121_desktop.comfy.needs import capabilities_of, model_folder, needs_of
from x121_desktop.comfy.object_info import ObjectInfo
from x121_desktop.core.enums import ServerStatus
from x121_desktop.core.orchestration.placement import (
    ModelRef,
    PlacementOutcome,
    ServerSnapshot,
    choose_server,
    explain_refusal,
)

ROOT = Path(__file__).resolve().parents[2]
OBJECT_INFO = ROOT.parent / "shared" / "comfyui" / "object_info.json"
WAN_MODELS = {
    ModelRef("clip_vision", "clip_vision_h.safetensors"),
    ModelRef("diffusion_models", "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors"),
    ModelRef("diffusion_models", "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors"),
    ModelRef("loras", "x121_likeness_wan22_i2v.safetensors"),
    ModelRef("text_encoders", "umt5_xxl_fp8_e4m3fn_scaled.safetensors"),
    ModelRef("vae", "wan_2.1_vae.safetensors"),
}


@pytest.fixture(scope="module")
def raw_info() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(OBJECT_INFO.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def info(raw_info: dict[str, Any]) -> ObjectInfo:
    return ObjectInfo.from_dict(raw_info, source=str(OBJECT_INFO))


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "workflows" / name).read_text(encoding="utf-8"))
    return data


def with_models(raw: dict[str, Any], models: set[ModelRef]) -> ObjectInfo:
    """The recorded /object_info as a server with these model files would report it."""
    patched = copy.deepcopy(raw)
    for class_type, body in patched.items():
        for section in ("required", "optional"):
            for name, spec in (body.get("input", {}).get(section) or {}).items():
                folder = model_folder(class_type, name)
                if folder is None or not isinstance(spec, list) or not spec:
                    continue
                files = sorted(m.name for m in models if m.folder == folder)
                if isinstance(spec[0], list):
                    spec[0] = files
                elif spec[0] == "COMBO":
                    spec[1]["options"] = files
    return ObjectInfo.from_dict(patched)


def snapshot(server_id: int, info: ObjectInfo, **extra: Any) -> ServerSnapshot:
    node_types, models = capabilities_of(info)
    fields: dict[str, Any] = {
        "status": ServerStatus.ONLINE,
        "free_slots": 1,
        "loaded_models": frozenset(),
        "speed": 1.0,
        "enabled": True,
    }
    fields.update(extra)
    return ServerSnapshot(server_id=server_id, name=f"gpu-{server_id}", node_types=node_types, models=models, **fields)


def test_wan22_needs(info: ObjectInfo) -> None:
    needs = needs_of(workflow("wan22-i2v.api.json"), info)
    assert needs.models == WAN_MODELS
    assert {"UNETLoader", "LoraLoaderModelOnly", "CLIPVisionLoader", "WanImageToVideo", "SaveVideo"} <= needs.node_types
    assert len(needs.node_types) == 17
    assert not any(m.name.endswith(".png") for m in needs.models)  # LoadImage files are inputs, not models


def test_model_free_needs(info: ObjectInfo) -> None:
    needs = needs_of(workflow("x121-i2v-modelfree.api.json"), info)
    assert needs.models == frozenset()
    assert needs.node_types == {
        "LoadImage", "ImageScale", "RepeatImageBatch", "ImageAddNoise", "CreateVideo", "SaveVideo",
        "ImageFromBatch", "SaveImage", "SaveAnimatedWEBP", "GetImageSize", "PreviewAny",
    }  # fmt: skip


def test_recorded_server_capabilities(info: ObjectInfo) -> None:
    node_types, models = capabilities_of(info)
    assert len(node_types) == 478
    assert "KSamplerAdvanced" in node_types
    assert models == {ModelRef("vae", "pixel_space")}  # the recording had no weights; Kling API choices are not models


def test_model_free_runs_on_recorded_server_and_wan_is_refused(info: ObjectInfo) -> None:
    server = snapshot(1, info)
    assert choose_server(needs_of(workflow("x121-i2v-modelfree.api.json"), info), [server]).server_id == 1
    placement = choose_server(needs_of(workflow("wan22-i2v.api.json"), info), [server])
    assert placement.outcome is PlacementOutcome.IMPOSSIBLE
    assert "has no model loras/x121_likeness_wan22_i2v.safetensors" in explain_refusal(placement)
    assert len(placement.refusals[0].reasons) == len(WAN_MODELS)


def test_wan_goes_to_the_server_with_the_models_and_prefers_loaded(raw_info: dict[str, Any], info: ObjectInfo) -> None:
    stocked = with_models(raw_info, WAN_MODELS)
    needs = needs_of(workflow("wan22-i2v.api.json"), stocked)
    assert needs == needs_of(workflow("wan22-i2v.api.json"), info)  # needs do not depend on whose list it is
    assert needs.models <= capabilities_of(stocked)[1]
    bare, fast = snapshot(1, info, speed=5.0), snapshot(2, stocked, speed=2.0)
    assert choose_server(needs, [bare, fast]).server_id == 2
    warm = snapshot(3, stocked, loaded_models=frozenset(WAN_MODELS))
    assert choose_server(needs, [bare, fast, warm]).server_id == 3


def test_missing_custom_node_is_needed_and_refused(info: ObjectInfo) -> None:
    prompt = workflow("x121-i2v-modelfree.api.json")
    prompt["99"] = {
        "class_type": "VHS_VideoCombine",
        "inputs": {"images": ["3", 0], "frame_rate": 16, "format": "video/h264-mp4"},
    }
    prompt["98"] = {"class_type": "WanVideoModelLoader", "inputs": {"model": "wan2.1_i2v_720p.safetensors"}}
    needs = needs_of(prompt, info)
    assert {"VHS_VideoCombine", "WanVideoModelLoader"} <= needs.node_types
    assert needs.models == {ModelRef("WanVideoModelLoader.model", "wan2.1_i2v_720p.safetensors")}
    reasons = choose_server(needs, [snapshot(1, info)]).refusals[0].reasons
    assert "has no node type VHS_VideoCombine (install the custom node pack)" in reasons


def test_custom_loader_capability_is_derived_from_its_file_list() -> None:
    raw = {
        "WanVideoModelLoader": {
            "input": {
                "required": {
                    "model": [["wan2.1_i2v_720p.safetensors", "other.gguf"], {}],
                    "base_precision": [["fp16", "bf16"], {}],
                }
            },
            "output": ["WANVIDEOMODEL"],
            "output_node": False,
        },
        "LoadImage": {
            "input": {"required": {"image": [["cat.safetensors"], {"image_upload": True}]}},
            "output": ["IMAGE"],
        },
    }
    _, models = capabilities_of(ObjectInfo.from_dict(raw))
    assert models == {
        ModelRef("WanVideoModelLoader.model", "wan2.1_i2v_720p.safetensors"),
        ModelRef("WanVideoModelLoader.model", "other.gguf"),
    }


def test_links_numbers_and_malformed_nodes_are_ignored(info: ObjectInfo) -> None:
    prompt: dict[str, Any] = {
        "1": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {"model": ["2", 0], "lora_name": "a.safetensors", "strength_model": 1.0},
        },
        "2": "not a node",
        "3": {"inputs": {}},
    }
    needs = needs_of(prompt, info)
    assert needs.node_types == {"LoraLoaderModelOnly"}
    assert needs.models == {ModelRef("loras", "a.safetensors")}


def test_model_folder_table() -> None:
    assert model_folder("CheckpointLoaderSimple", "ckpt_name") == "checkpoints"
    assert model_folder("CLIPVisionLoader", "clip_name") == "clip_vision"
    assert model_folder("CLIPLoader", "clip_name") == "text_encoders"
    assert model_folder("UNETLoader", "unet_name") == "diffusion_models"
    assert model_folder("ImageScale", "upscale_method", ("lanczos",)) is None
