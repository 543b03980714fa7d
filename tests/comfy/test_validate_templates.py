"""ComfyUI's own templates (the installed `comfyui-workflow-templates` package) convert and validate.

The recorded server has no models and is ComfyUI 0.3.64, so newer templates need node types it lacks
and every model they load is missing: both must come out as findings (sentences), never as crashes.
"""

from __future__ import annotations

import collections
import json
from importlib import resources
from pathlib import Path
from typing import Any

import comfyui_workflow_templates as templates
import pytest

from tests.comfy.test_convert_support import recorded_info
from x121_desktop.comfy.convert import load_workflow
from x121_desktop.comfy.validate import MODEL_INPUTS, Finding, FindingKind, check_workflow
from x121_desktop.core.errors import InvalidInput


def _index() -> list[dict[str, Any]]:
    text = (resources.files("comfyui_workflow_templates_json") / "templates" / "index.json").read_text("utf-8")
    return [t for category in json.loads(text) for t in category["templates"]]


def _json_asset(template_id: str) -> Path | None:
    entry = templates.get_template_entry(template_id)
    name = next((a.filename for a in entry.assets if a.filename.endswith(".json")), None)
    return Path(templates.get_asset_path(template_id, name)) if name else None


def image_to_video_ids() -> list[str]:
    tagged = {t["name"] for t in _index() if "Image to Video" in t.get("tags", [])}
    return sorted(e.template_id for e in templates.iter_templates() if e.template_id in tagged)


def _check_sentence(finding: Finding) -> None:
    text = finding.message
    assert text[0].isupper(), text
    assert text.endswith("."), text
    assert "\n" not in text
    assert "Traceback" not in text
    if finding.node_id is not None:
        assert f"#{finding.node_id}" in text


def test_image_to_video_templates_convert_and_validate(capsys: pytest.CaptureFixture[str]) -> None:
    info = recorded_info()
    ids = image_to_video_ids()
    assert len(ids) >= 40, "the installed template package should list its image-to-video templates"
    rows: list[tuple[str, int, collections.Counter[str]]] = []
    for template_id in ids:
        path = _json_asset(template_id)
        assert path is not None, template_id
        conversion, findings = check_workflow(load_workflow(path), info)
        prompt = conversion.prompt
        assert prompt, template_id
        for finding in findings:
            _check_sentence(finding)
        kinds = {(f.node_id, f.kind, f.input_name) for f in findings}
        for node_id, node in prompt.items():
            spec = info.get(node["class_type"])
            if spec is None:
                assert (node_id, FindingKind.MISSING_NODE_TYPE, None) in kinds, (template_id, node_id)
                continue
            for name, value in node["inputs"].items():
                inp = spec.input(name)
                is_link = isinstance(value, list)
                if (
                    name in MODEL_INPUTS
                    and inp is not None
                    and inp.is_combo
                    and not is_link
                    and value not in inp.choices
                ):
                    assert (node_id, FindingKind.MISSING_MODEL, name) in kinds, (template_id, node_id, name)
        assert not any(f.kind is FindingKind.VALUE_NOT_IN_LIST and f.input_name in MODEL_INPUTS for f in findings)
        rows.append((template_id, len(prompt), collections.Counter(f.kind.value for f in findings)))
    with capsys.disabled():
        print(_table(rows))
    total = sum((r[2] for r in rows), collections.Counter[str]())
    assert total[FindingKind.MISSING_MODEL.value] > 50
    assert total[FindingKind.MISSING_NODE_TYPE.value] > 20


def _table(rows: list[tuple[str, int, collections.Counter[str]]]) -> str:
    columns = [k.value for k in FindingKind if any(r[2][k.value] for r in rows)]
    short = {c: c.replace("missing_", "no_").replace("_type", "")[:12] for c in columns}
    width = max(len(r[0]) for r in rows)
    head = f"{'template':<{width}} {'nodes':>5} " + " ".join(f"{short[c]:>12}" for c in columns)
    lines = ["", "image-to-video templates vs the recorded server (API nodes, findings by kind):", head]
    for name, count, kinds in rows:
        lines.append(f"{name:<{width}} {count:>5} " + " ".join(f"{kinds[c] or '':>12}" for c in columns))
    return "\n".join(lines)


def test_wan22_template_reports_exactly_its_models() -> None:
    path = _json_asset("video_wan2_2_14B_i2v")
    assert path is not None
    conversion, findings = check_workflow(load_workflow(path), recorded_info())
    missing = {(f.node_id, f.input_name): f for f in findings if f.kind is FindingKind.MISSING_MODEL}
    assert {k: f.message.split("'")[1] for k, f in missing.items()} == {
        ("129:90", "vae_name"): "wan_2.1_vae.safetensors",
        ("129:84", "clip_name"): "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
        ("129:95", "unet_name"): "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors",
        ("129:96", "unet_name"): "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors",
        ("129:101", "lora_name"): "wan2.2_i2v_lightx2v_4steps_lora_v1_high_noise.safetensors",
        ("129:102", "lora_name"): "wan2.2_i2v_lightx2v_4steps_lora_v1_low_noise.safetensors",
    }
    assert "ComfyUI/models/diffusion_models" in missing[("129:95", "unet_name")].message
    # the subgraph instance's promoted widgets reach the inner nodes
    assert conversion.prompt["129:86"]["inputs"]["noise_seed"] == 264244520398999
    assert conversion.prompt["129:98"]["inputs"]["start_image"] == ["97", 0]
    assert conversion.prompt["108"]["inputs"]["video"] == ["129:94", 0]


def test_every_template_converts_without_crashing() -> None:
    """All ~650 entries; the package also lists its catalogue (index*.json) and fuse_options.json,
    which are not workflows and must be refused as an unknown format in one sentence."""
    info = recorded_info()
    count = 0
    refused: dict[str, str] = {}
    for entry in templates.iter_templates():
        path = _json_asset(entry.template_id)
        if path is None:
            continue
        try:
            workflow = load_workflow(path)
        except InvalidInput as exc:
            refused[path.name] = str(exc)
            continue
        _, findings = check_workflow(workflow, info)
        for finding in findings:
            _check_sentence(finding)
        count += 1
    assert count > 300
    assert all(name == "fuse_options.json" or name.startswith("index") for name in refused), sorted(refused)
    for message in refused.values():
        assert "is neither a ComfyUI API-format prompt" in message
        assert "\n" not in message
