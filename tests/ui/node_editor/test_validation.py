"""Validation on the canvas: live, debounced, off the main thread, against the loaded node list."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.comfy.test_convert_support import OBJECT_INFO_PATH
from tests.ui.node_editor.conftest import chain_document
from x121_desktop.core.graph.document import load_document
from x121_desktop.core.graph.edits import SetWidgetValue
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.node_editor_validation import CanvasValidator, check_document
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.node_editor.editor import NodeEditor
from x121_desktop.ui.node_editor.validation import LiveValidation


def server_info(tmp: Path) -> Path:
    """The recorded server's node list with one checkpoint and one LoRA installed."""
    raw = json.loads(OBJECT_INFO_PATH.read_text())
    raw["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] = ["base.safetensors"]
    raw["LoraLoaderModelOnly"]["input"]["required"]["lora_name"][0] = ["good.safetensors"]
    path = tmp / "object_info" / "studio-a.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(raw))
    return path


def lora_document() -> dict[str, Any]:
    """LoadImage(1) → PreviewImage(2); Checkpoint(6) → LoRA(5) with a LoRA the server lacks; unknown node (4)."""
    raw = chain_document()
    raw["nodes"] = [n for n in raw["nodes"] if n["id"] != 3]
    raw["nodes"] += [
        {"id": 4, "type": "VHS_VideoCombine", "pos": [0, 800], "mode": 0, "inputs": [], "outputs": []},
        {
            "id": 6,
            "type": "CheckpointLoaderSimple",
            "pos": [0, 300],
            "size": [300, 100],
            "mode": 0,
            "inputs": [],
            "outputs": [
                {"name": "MODEL", "type": "MODEL", "links": [2]},
                {"name": "CLIP", "type": "CLIP", "links": None},
                {"name": "VAE", "type": "VAE", "links": None},
            ],
            "widgets_values": ["base.safetensors"],
        },
        {
            "id": 5,
            "type": "LoraLoaderModelOnly",
            "pos": [400, 300],
            "size": [300, 100],
            "mode": 0,
            "inputs": [{"name": "model", "type": "MODEL", "link": 2}],
            "outputs": [{"name": "MODEL", "type": "MODEL", "links": None}],
            "widgets_values": ["missing.safetensors", 1.0],
        },
    ]
    raw["links"].append([2, 6, 0, 5, 0, "MODEL"])
    raw["last_node_id"], raw["last_link_id"] = 6, 2
    return raw


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Runtime, NodeEditorService]]:
    runtime = Runtime()
    svc = NodeEditorService(runtime, None, tmp_path)
    yield runtime, svc
    runtime.shutdown()


def error_nodes(ed: NodeEditor) -> dict[str, list[str]]:
    return {i: [m.text for m in item.markers] for i, item in ed.scene.nodes.items() if item.markers}


def test_markers_on_exactly_the_broken_nodes_and_fixing_clears_them(
    qtbot: QtBot, tmp_path: Path, service: tuple[Runtime, NodeEditorService]
) -> None:
    runtime, svc = service
    catalog = asyncio.run(svc.catalog_from_file(server_info(tmp_path)))
    ed = NodeEditor(catalog)
    qtbot.addWidget(ed)
    live = LiveValidation(ed, CanvasValidator(runtime, svc), debounce_ms=20)
    with qtbot.waitSignal(live.validated, timeout=5000):
        ed.open_document(load_document(lora_document()))
    marked = error_nodes(ed)
    assert set(marked) == {"4", "5"}
    assert any("missing model" in t and "missing.safetensors" in t and "models/loras" in t for t in marked["5"])
    assert any("VHS_VideoCombine" in t and "missing node type" in t for t in marked["4"])
    assert ed.scene.nodes["5"].markers[0].input_name == "lora_name"
    assert "cannot run on" in live.summary

    with qtbot.waitSignal(live.validated, timeout=5000):
        ed.push(SetWidgetValue(None, 5, 0, "good.safetensors"))
    assert set(error_nodes(ed)) == {"4"}
    assert ed.scene.nodes["5"].toolTip() == ""

    with qtbot.waitSignal(live.validated, timeout=5000):
        ed.undo()  # undo brings the missing LoRA back, and its marker
    assert set(error_nodes(ed)) == {"4", "5"}
    live.close()


def test_type_mismatch_and_unconnected_inputs_are_marked(
    qtbot: QtBot, tmp_path: Path, service: tuple[Runtime, NodeEditorService]
) -> None:
    runtime, svc = service
    catalog = asyncio.run(svc.catalog_from_file(server_info(tmp_path)))
    ed = NodeEditor(catalog)
    qtbot.addWidget(ed)
    live = LiveValidation(ed, CanvasValidator(runtime, svc), debounce_ms=20)
    raw = chain_document()  # LoadImage's MASK wired into PreviewImage's IMAGE input, KSampler unconnected
    raw["links"] = [[1, 1, 1, 2, 0, "MASK"]]
    raw["nodes"][0]["outputs"] = [
        {"name": "IMAGE", "type": "IMAGE", "links": None},
        {"name": "MASK", "type": "MASK", "links": [1]},
    ]
    with qtbot.waitSignal(live.validated, timeout=5000):
        ed.open_document(load_document(raw))
    marked = error_nodes(ed)
    assert set(marked) == {"2", "3"}
    assert any("expects IMAGE on input images but gets MASK" in t for t in marked["2"])
    assert any("required input model (MODEL)" in t for t in marked["3"])
    assert check_document(load_document(lora_document()), svc.object_info).node_ids() == {"4", "5"}  # type: ignore[arg-type]  # loaded above
    live.close()


def test_no_node_list_means_no_validation_markers(qtbot: QtBot, service: tuple[Runtime, NodeEditorService]) -> None:
    runtime, svc = service
    ed = NodeEditor()
    qtbot.addWidget(ed)
    live = LiveValidation(ed, CanvasValidator(runtime, svc), debounce_ms=20)
    with qtbot.waitSignal(live.validated, timeout=5000):
        ed.open_document(load_document(lora_document()))
    assert live.report is not None
    assert not live.report.findings
    assert live.summary == ""
    live.close()
