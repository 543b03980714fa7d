"""Node editor versions on a real PostgreSQL: save (hash, author, note; identical content unchanged),
open an earlier version, and which scenes use which version."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from tests.conftest import REPO, SHARED
from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.comfy.object_info import ObjectInfo
from x121_desktop.core.enums import SceneStatus, SeedPolicy, StitchMode
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.core.graph.catalog import NodeCatalog
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.edits import RemoveNodes, SetWidgetValue
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.node_editor_versions import WorkflowVersionsService, prepare_document
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.workflows import WorkflowService

__all__ = ["secure_studio"]

MODELFREE_UI = REPO / "workflows" / "x121-i2v-modelfree.json"
MODELFREE_MANIFEST = REPO / "workflows" / "x121-i2v-modelfree.manifest.json"
INFO = ObjectInfo.from_file(SHARED / "comfyui" / "object_info.json")


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def versions_as(secure_studio: SecureStudio) -> Iterator[Any]:
    runtime = Runtime()
    engines = []

    def make(who: str) -> WorkflowVersionsService:
        engine = make_engine(DatabaseTarget(secure_studio.url(who)), pool_size=1)
        engines.append(engine)
        sessions = session_factory(engine)
        return WorkflowVersionsService(sessions, runtime, WorkflowService(sessions, runtime))

    yield make
    runtime.shutdown()
    for engine in engines:
        engine.dispose()


def add_scene(studio: SecureStudio, name: str, version_id: int) -> int:
    with studio.connect(SUPERUSER) as conn:
        row = conn.execute(
            "INSERT INTO scenes (character_id, name, scene_status_id, min_frames, max_frames, fps_num, fps_den, "
            "seed_policy_id, stitch_mode_id, created_by, workflow_version_id) "
            "VALUES (%s, %s, %s, 24, 240, 24, 1, %s, %s, %s, %s) RETURNING id",
            (
                studio.ids["character"],
                name,
                SceneStatus.IN_PROGRESS,
                SeedPolicy.FIXED,
                StitchMode.SIMPLE,
                studio.user_ids["creator"],
                version_id,
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


def version_id(studio: SecureStudio, name: str, number: int) -> int:
    with studio.connect(SUPERUSER) as conn:
        row = conn.execute(
            "SELECT v.id FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id "
            "WHERE w.name = %s AND v.version_no = %s",
            (name, number),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_save_versions_open_an_earlier_one_and_see_scene_use(secure_studio: SecureStudio, versions_as: Any) -> None:
    service: WorkflowVersionsService = versions_as("creator")
    name = f"editor-{uuid.uuid4().hex[:8]}"
    manifest = json.loads(MODELFREE_MANIFEST.read_text())
    doc = load_document(json.loads(MODELFREE_UI.read_text()))

    first = run(service.save_version(name, doc, INFO, note="first cut", manifest=manifest))
    assert (first.version_no, first.created) == (1, True)
    assert first.sentence == f"Saved workflow {name!r} as version 1."
    again = run(service.save_version(name, doc, INFO, note="same again"))  # manifest kept from v1
    assert (again.version_no, again.created, again.content_hash) == (1, False, first.content_hash)
    assert "unchanged" in again.sentence

    seed_node = next(n for n in doc.graph.nodes if n.type == "ImageAddNoise")
    edited = SetWidgetValue(None, seed_node.id, 0, 4242).apply(doc)
    second = run(service.save_version(name, edited, INFO, note="new noise seed"))
    assert (second.version_no, second.created) == (2, True)
    assert second.content_hash != first.content_hash

    history = run(service.history(name))
    assert [v.version_no for v in history.versions] == [1, 2]
    assert [v.note for v in history.versions] == ["first cut", "new noise seed"]
    assert {v.created_by for v in history.versions} == {secure_studio.roles["creator"]}
    assert history.versions[0].content_hash == first.content_hash
    assert history.versions[1].parameters == tuple(sorted(manifest["parameters"]))  # manifest carried over
    assert run(service.manifest(name, 2)) == manifest

    reopened = run(service.open_version(name, 1, NodeCatalog()))
    assert dump_document(reopened) == dump_document(doc)
    assert prepare_document(reopened, INFO, manifest, name).content_hash == first.content_hash

    v1, v2 = version_id(secure_studio, name, 1), version_id(secure_studio, name, 2)
    tag = name[-8:]
    add_scene(secure_studio, f"Walk {tag}", v1)
    add_scene(secure_studio, f"Turn {tag}", v2)
    add_scene(secure_studio, f"Wave {tag}", v2)
    uses = run(service.scene_uses(name))
    assert [(u.version_no, u.scene_name, u.character_name) for u in uses] == [
        (1, f"Walk {tag}", "Ada"),
        (2, f"Turn {tag}", "Ada"),
        (2, f"Wave {tag}", "Ada"),
    ]


def test_a_manifest_that_no_longer_fits_and_a_reviewer_are_refused(versions_as: Any) -> None:
    creator: WorkflowVersionsService = versions_as("creator")
    name = f"editor-{uuid.uuid4().hex[:8]}"
    manifest = json.loads(MODELFREE_MANIFEST.read_text())
    doc = load_document(json.loads(MODELFREE_UI.read_text()))
    run(creator.save_version(name, doc, INFO, manifest=manifest))
    loader = next(n for n in doc.graph.nodes if n.type == "LoadImage")
    without = RemoveNodes(None, (loader.id,)).apply(doc)  # seed_image_a pointed at this node
    with pytest.raises(InvalidInput, match="manifest no longer fits"):
        run(creator.save_version(name, without, INFO))
    with pytest.raises(InvalidInput, match="node list"):
        run(creator.save_version(name, doc, None))
    with pytest.raises(PermissionDenied):
        run(versions_as("reviewer").save_version(f"{name}-r", doc, INFO, manifest=manifest))
