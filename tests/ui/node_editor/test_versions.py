"""The versions pane on a real database: Save version from the editor, history with scene use, open v1."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from tests.comfy.test_convert_support import OBJECT_INFO_PATH
from tests.db.security_studio import SecureStudio, secure_studio
from tests.services.test_node_editor_versions import MODELFREE_MANIFEST, MODELFREE_UI, add_scene, version_id
from tests.ui.node_editor.conftest import recorded_catalog
from tests.ui.studio_fixtures import qloop, run
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.edits import SetWidgetValue
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.node_editor_versions import WorkflowVersionsService
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.workflows import WorkflowService
from x121_desktop.ui.node_editor.editor import NodeEditor
from x121_desktop.ui.node_editor.mapping import ParameterMapping
from x121_desktop.ui.node_editor.versions import VersionsPane

__all__ = ["qloop", "secure_studio"]


@pytest.fixture
def pane(qtbot: QtBot, secure_studio: SecureStudio, tmp_path: Path) -> Iterator[VersionsPane]:
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("creator")), pool_size=1)
    sessions = session_factory(engine)
    editor_service = NodeEditorService(runtime, sessions, tmp_path)
    versions = WorkflowVersionsService(sessions, runtime, WorkflowService(sessions, runtime))
    editor = NodeEditor(recorded_catalog())
    qtbot.addWidget(editor)
    widget = VersionsPane(editor, versions, editor_service)
    qtbot.addWidget(widget)
    yield widget
    runtime.shutdown()
    engine.dispose()


def test_save_version_lists_history_with_scenes_and_opens_v1(
    qloop: qasync.QEventLoop, pane: VersionsPane, secure_studio: SecureStudio
) -> None:
    run(qloop, pane.editor_service.catalog_from_file(OBJECT_INFO_PATH))
    name = f"pane-{uuid.uuid4().hex[:8]}"
    original = load_document(json.loads(MODELFREE_UI.read_text()))
    run(
        qloop,
        pane.versions.save_version(
            name, original, pane.editor_service.object_info, manifest=json.loads(MODELFREE_MANIFEST.read_text())
        ),
    )
    pane.name_field.setText(name)
    pane.editor.open_document(original)
    noise = next(n for n in original.graph.nodes if n.type == "ImageAddNoise")
    pane.editor.push(SetWidgetValue(None, noise.id, 0, 99))
    assert pane.editor.modified
    pane.note_field.setText("seed 99")
    saved = run(qloop, pane.save_version())
    assert (saved.version_no, saved.created) == (2, True)
    assert not pane.editor.modified
    assert run(qloop, pane.save_version()).created is False  # identical content: unchanged

    add_scene(secure_studio, f"Jump {name[-8:]}", version_id(secure_studio, name, 1))
    run(qloop, pane.refresh())
    rows = [pane.history.item(i).text() for i in range(pane.history.count())]
    assert rows[0].startswith(f"v2 · {secure_studio.roles['creator']}")
    assert "seed 99" in rows[0]
    assert "no scene uses it" in rows[0]
    assert rows[1].startswith("v1")
    assert f"Ada / Jump {name[-8:]}" in rows[1]

    mapping = ParameterMapping(pane.editor, pane.editor_service)
    pane.manifest_source = lambda: mapping.manifest if mapping.edited else None
    pane.manifest_loaded.connect(mapping.set_manifest)
    run(qloop, pane.open_version(1))
    assert dump_document(pane.editor.document) == dump_document(original)
    assert sorted(mapping.manifest["parameters"]) == sorted(json.loads(MODELFREE_MANIFEST.read_text())["parameters"])
    assert not mapping.edited
    mapping.remove("6", "filename_prefix")  # the artist stops exposing output_prefix
    third = run(qloop, pane.save_version())
    assert (third.version_no, third.created) == (3, True)
    stored = run(qloop, pane.versions.manifest(name, 3))
    assert "output_prefix" not in stored["parameters"]
    assert "seed" in stored["parameters"]
