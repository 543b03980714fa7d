"""The node editor panel and its service without a database: node lists from a file, the cached copy."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.comfy.test_convert_support import OBJECT_INFO_PATH
from tests.ui.node_editor.conftest import chain_document
from x121_desktop.core.graph.document import load_document
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.node_editor.panel import NodeEditorPanel


def test_panel_loads_a_node_list_and_remarks_unknown_types(qtbot: QtBot, tmp_path: Path) -> None:
    runtime = Runtime()
    service = NodeEditorService(runtime, None, tmp_path)
    cached = tmp_path / "object_info" / "local.json"
    cached.parent.mkdir()
    shutil.copy(OBJECT_INFO_PATH, cached)
    assert service.cached_servers() == [cached]
    panel = NodeEditorPanel(service)
    qtbot.addWidget(panel)
    raw = chain_document()
    raw["nodes"].append({"id": 4, "type": "NotOnThatServer", "pos": [0, 800], "mode": 0})
    panel.editor.open_document(load_document(raw))
    assert not marker_texts(panel)  # no node list yet: nothing to compare with
    catalog = asyncio.run(service.catalog_from_file(cached))
    assert "KSampler" in catalog
    sampler = catalog.get("KSampler")
    assert sampler is not None
    assert [w.name for w in sampler.widgets][:2] == ["seed", "steps"]
    assert sampler.widgets[0].control_after_generate
    panel._use(catalog)
    assert "'NotOnThatServer' is not installed" in marker_texts(panel)[0]
    assert service.api_prompt(panel.editor.document)["2"]["class_type"] == "PreviewImage"
    assert json.loads(cached.read_text())  # the cache file is left as it was
    runtime.shutdown()


def marker_texts(panel: NodeEditorPanel) -> list[str]:
    return [m.text for m in panel.editor.scene.nodes["4"].markers]
