"""The navigator tree as a reviewer sees it: projects → characters → scenes with segment counts."""

from __future__ import annotations

import asyncio

from tests.db.security_studio import SecureStudio, secure_studio
from x121_desktop.core.enums import ProjectStatus, SceneStatus
from x121_desktop.core.ids import SceneId
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.navigator import NavigatorService
from x121_desktop.services.runtime import Runtime

__all__ = ["secure_studio"]


def test_tree_lists_projects_characters_and_scenes(secure_studio: SecureStudio) -> None:
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("reviewer")), pool_size=1)
    try:
        tree = asyncio.run(NavigatorService(session_factory(engine), runtime).tree())
    finally:
        runtime.shutdown()
        engine.dispose()
    assert [p.name for p in tree.projects] == ["Privileges"]
    project = tree.projects[0]
    assert project.status is ProjectStatus.ACTIVE
    assert [c.name for c in project.characters] == ["Ada"]
    scene = project.characters[0].scenes[0]
    assert (scene.name, scene.status, scene.segment_count) == ("Walk", SceneStatus.IN_PROGRESS, 1)
    assert tree.counts == (1, 1, 1)
    found = tree.find_scene(SceneId(secure_studio.ids["scene"]))
    assert found is not None
    assert found[2] == scene
    assert tree.find_scene(SceneId(-1)) is None
