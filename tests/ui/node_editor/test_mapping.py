"""Parameter mapping in the editor: the input context menu exposes inputs as studio parameters, the
manifest round-trips, and the artist's form writes into the graph (undoably)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit, QMenu, QSpinBox
from pytestqt.qtbot import QtBot

from tests.comfy.test_convert_support import OBJECT_INFO_PATH
from tests.conftest import REPO
from x121_desktop.comfy.templates import parse_manifest, validate_manifest
from x121_desktop.core.graph.document import load_document
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.node_editor_mapping import form_fields
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.node_editor.editor import NodeEditor
from x121_desktop.ui.node_editor.mapping import ParameterForm, ParameterMapping

UI = REPO / "workflows" / "x121-i2v-modelfree.json"


@pytest.fixture
def mapping(qtbot: QtBot, tmp_path: Path) -> Iterator[ParameterMapping]:
    runtime = Runtime()
    service = NodeEditorService(runtime, None, tmp_path)
    catalog = asyncio.run(service.catalog_from_file(OBJECT_INFO_PATH))
    editor = NodeEditor(catalog)
    qtbot.addWidget(editor)
    editor.open_document(load_document(json.loads(UI.read_text())))
    yield ParameterMapping(editor, service, "x121-i2v-modelfree.api.json")
    runtime.shutdown()


def menu_for(mapping: ParameterMapping, node_id: str, input_name: str) -> QMenu:
    menu = QMenu()
    mapping.add_menu_entries(node_id, input_name, menu)
    return menu


def expose_from_menu(mapping: ParameterMapping, node_id: str, input_name: str, name: str) -> list[str]:
    menu = menu_for(mapping, node_id, input_name)
    sub = next(a.menu() for a in menu.actions() if a.text() == "Expose as studio parameter")
    assert isinstance(sub, QMenu)
    offered = [a.text() for a in sub.actions() if a.text()]
    next(a for a in sub.actions() if a.text() == name).trigger()
    return offered


def api(mapping: ParameterMapping) -> dict[str, dict[str, object]]:
    return mapping.service.api_prompt(mapping.editor.document)


def test_expose_from_the_input_menu_and_fill_the_form(qtbot: QtBot, mapping: ParameterMapping) -> None:
    form = ParameterForm(mapping)
    qtbot.addWidget(form)
    offered = expose_from_menu(mapping, "4", "seed", "seed")
    assert "seed" in offered
    assert "frame_count" in offered
    assert "prompt" not in offered
    assert "seed_image_a" not in offered
    assert expose_from_menu(mapping, "1", "image", "seed_image_a") == ["seed_image_a", "seed_image_b", "Custom name…"]
    expose_from_menu(mapping, "3", "amount", "frame_count")
    expose_from_menu(mapping, "5", "fps", "fps")
    expose_from_menu(mapping, "9", "fps", "fps")
    menu = menu_for(mapping, "4", "seed")
    stop = [a.text() for a in menu.actions()]
    assert stop[0] == "Stop exposing as 'seed'"

    manifest = json.loads(json.dumps(mapping.manifest))  # as stored with a version
    parsed = parse_manifest(manifest, "edited")
    assert sorted(parsed.parameters) == ["fps", "frame_count", "seed", "seed_image_a"]
    assert [(t.node, t.input) for t in parsed.parameters["fps"].targets] == [("5", "fps"), ("9", "fps")]
    assert mapping.service.object_info is not None
    assert validate_manifest(parsed, api(mapping), mapping.service.object_info) == []

    assert list(form.fields) == ["seed_image_a", "seed", "frame_count", "fps"]
    frames = form.fields["frame_count"]
    assert isinstance(frames, QSpinBox)
    assert frames.value() == api(mapping)["3"]["inputs"]["amount"]
    frames.setValue(7)
    assert api(mapping)["3"]["inputs"]["amount"] == 7
    seed = form.fields["seed"]
    assert isinstance(seed, QLineEdit)  # the seed range does not fit a spin box
    seed.setText("1234")
    seed.editingFinished.emit()
    assert api(mapping)["4"]["inputs"]["seed"] == 1234
    fps = next(f for f in form_fields(mapping.manifest) if f.name == "fps")
    form.write(fps, 12.0)
    assert (api(mapping)["5"]["inputs"]["fps"], api(mapping)["9"]["inputs"]["fps"]) == (12.0, 12.0)
    mapping.editor.undo()
    mapping.editor.undo()
    assert api(mapping)["5"]["inputs"]["fps"] != 12.0
    mapping.editor.undo()  # the seed, then the frame count: the form follows the graph
    mapping.editor.undo()
    qtbot.waitUntil(lambda: frames.value() == api(mapping)["3"]["inputs"]["amount"] != 7, timeout=2000)
    assert seed.text() == str(api(mapping)["4"]["inputs"]["seed"])

    menu = menu_for(mapping, "4", "seed")
    next(a for a in menu.actions() if a.text().startswith("Stop")).trigger()
    assert "seed" not in mapping.manifest["parameters"]
    assert "seed" not in form.fields


def test_a_wrong_type_is_said_in_one_sentence(qtbot: QtBot, mapping: ParameterMapping) -> None:
    said: list[str] = []
    mapping.editor.message_posted.connect(said.append)
    inp = mapping.input("4", "seed")
    assert inp is not None
    assert not mapping.add("likeness_weight", inp)
    assert said == [said[0]]
    assert "takes INT, but likeness_weight is a float" in said[0]
    assert mapping.manifest["parameters"] == {}
