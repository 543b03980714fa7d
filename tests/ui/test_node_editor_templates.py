"""Every image-to-video template of the installed `comfyui-workflow-templates` package in the node editor:
it opens (subgraphs as nested canvases), renders offscreen, converts to the same API JSON as the
bridge's converter, saves UI JSON that loads back identical, and an API export opens back as a graph
that converts to the same prompt.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from tests.comfy.test_convert_support import OBJECT_INFO_PATH, recorded_info
from tests.comfy.test_validate_templates import _json_asset, image_to_video_ids
from tests.ui.node_editor.conftest import recorded_catalog
from x121_desktop.comfy.convert import load_workflow, to_api, ui_to_api
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.edits import MoveNodes
from x121_desktop.core.graph.from_api import document_from_api
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.node_editor.editor import NodeEditor


def _drawn(editor: NodeEditor) -> bool:
    """The grab shows more than the empty canvas (nodes or wires were painted)."""
    image = editor.view.grab().toImage()
    bg = editor.look.bg.rgb()
    step = 7
    return any(
        QColor(image.pixel(x, y)).rgb() not in (bg, editor.look.grid.rgb(), editor.look.grid_major.rgb())
        for x in range(0, image.width(), step)
        for y in range(0, image.height(), step)
    )


def test_image_to_video_templates_open_render_convert_and_round_trip(qtbot: QtBot, tmp_path: Path) -> None:
    info = recorded_info()
    runtime = Runtime()
    service = NodeEditorService(runtime, None, tmp_path)
    asyncio.run(service.catalog_from_file(OBJECT_INFO_PATH))
    editor = NodeEditor(recorded_catalog())
    qtbot.addWidget(editor)
    editor.resize(640, 400)
    editor.show()
    ids = image_to_video_ids()
    assert len(ids) >= 40
    api_round_trips = 0
    for template_id in ids:
        path = _json_asset(template_id)
        assert path is not None
        raw: dict[str, Any] = json.loads(path.read_text("utf-8"))
        assert editor.open_path(path), template_id
        assert _drawn(editor), template_id
        for sub_id in editor.document.subgraphs:
            editor.enter_subgraph(sub_id)
            assert editor.scope == sub_id
            assert len(editor.scene.nodes) >= len(editor.document.subgraphs[sub_id].graph.nodes)
            editor.leave_subgraph()

        bridge = to_api(load_workflow(path), info).prompt
        assert service.api_prompt(editor.document) == bridge, template_id

        out = tmp_path / f"{template_id}.json"
        assert editor.save_as(out)
        saved = json.loads(out.read_text("utf-8"))
        assert saved == raw, template_id
        assert dump_document(load_document(saved)) == saved, template_id

        graph = editor.document.graph
        moved = tuple((n.id, (float(n.pos[0]) + 10, float(n.pos[1]))) for n in graph.nodes if n.pos)
        editor.push(MoveNodes(None, moved))
        editor.undo()
        assert dump_document(editor.document) == raw, template_id

        if all(node["class_type"] in info for node in bridge.values()):
            rebuilt, problems = document_from_api(bridge, recorded_catalog())
            assert not problems, (template_id, problems)
            assert ui_to_api(rebuilt, info).prompt == bridge, template_id
            api_round_trips += 1
    assert api_round_trips >= 5
    runtime.shutdown()
