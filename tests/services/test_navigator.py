"""The navigator tree as a reviewer sees it (projects → characters → scenes with segment counts), and the
changes to it a reviewer's login hears (revision 0014's NOTIFY x121_scenes)."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import ProjectStatus, SceneStatus, SeedPolicy, SegmentStatus, StitchMode
from x121_desktop.core.ids import SceneId
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.navigator import NavigatorService, TreeChanged
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


def _heard(notices: queue.Queue[TreeChanged], settle_s: float = 0.4) -> list[TreeChanged]:
    """What arrived within `settle_s` (notices come at commit, on the listener thread)."""
    time.sleep(settle_s)
    out = []
    while not notices.empty():
        out.append(notices.get_nowait())
    return out


def test_listen_hears_each_change_the_tree_shows_once_and_nothing_else(secure_studio: SecureStudio) -> None:
    """As a reviewer's login: a scene added, its segments planned (three rows, one transaction: one notice),
    a segment cancelled, the scene renamed; a prompt edit and a rolled-back change are not heard. The tree
    read afterwards says what waits for a person."""
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("reviewer")), pool_size=1)
    service = NavigatorService(session_factory(engine), runtime)
    notices: queue.Queue[TreeChanged] = queue.Queue()
    listener = service.listen(notices.put)
    su = secure_studio.connect(SUPERUSER, autocommit=True)
    scene = 0
    try:
        assert listener.wait_listening(5)
        creator = secure_studio.user_ids["creator"]
        scene = su.execute(
            "INSERT INTO scenes (character_id, name, scene_status_id, min_frames, max_frames, seed_policy_id, "
            "stitch_mode_id, created_by) VALUES (%s, 'Run', %s, 48, 240, %s, %s, %s) RETURNING id",
            (secure_studio.ids["character"], SceneStatus.PLANNED, SeedPolicy.FIXED, StitchMode.SIMPLE, creator),
        ).fetchone()[0]  # type: ignore[index]
        assert _heard(notices) == [TreeChanged("scenes", scene)]
        with su.transaction():
            for position in range(3):
                su.execute(
                    "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) "
                    "VALUES (%s, %s, %s, 48)",
                    (scene, position, SegmentStatus.PLANNED),
                )
        assert _heard(notices) == [TreeChanged("segments", scene)]
        su.execute("UPDATE scenes SET prompt = 'a dog runs', updated_at = now() WHERE id = %s", (scene,))
        su.execute("UPDATE segments SET prompt = 'faster' WHERE scene_id = %s", (scene,))
        with su.transaction(force_rollback=True):
            su.execute("UPDATE scenes SET scene_status_id = %s WHERE id = %s", (SceneStatus.IN_REVIEW, scene))
        assert _heard(notices) == []
        with su.transaction():
            su.execute("UPDATE scenes SET scene_status_id = %s WHERE id = %s", (SceneStatus.IN_PROGRESS, scene))
            su.execute(
                "UPDATE segments SET segment_status_id = %s WHERE scene_id = %s AND position = 1",
                (SegmentStatus.CANCELLED, scene),
            )
        assert _heard(notices) == [TreeChanged("scenes", scene), TreeChanged("segments", scene)]
        su.execute("UPDATE characters SET name = 'Ada L.' WHERE id = %s", (secure_studio.ids["character"],))
        assert _heard(notices) == [TreeChanged("characters", secure_studio.ids["character"])]
        tree = asyncio.run(service.tree())
        found = tree.find_scene(SceneId(scene))
        assert found is not None
        node = found[2]
        assert (node.status, node.segment_count, node.attention) == (
            SceneStatus.IN_PROGRESS, 3, ((SegmentStatus.CANCELLED, 1),),
        )  # fmt: skip
    finally:
        listener.stop()
        su.execute("UPDATE characters SET name = 'Ada' WHERE id = %s", (secure_studio.ids["character"],))
        su.execute("DELETE FROM segments WHERE scene_id = %s", (scene,))
        su.execute("DELETE FROM scenes WHERE id = %s", (scene,))
        su.close()
        runtime.shutdown()
        engine.dispose()
    assert not [t for t in threading.enumerate() if t.name == "x121-navigator"]


def test_revision_0014_downgrades_and_upgrades_again(new_database: Callable[[], str]) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from x121_desktop.db.migrate import alembic_config, upgrade

    triggers = "SELECT count(*) FROM pg_trigger WHERE tgname = 'x121_notify_scenes'"
    engine = create_engine(new_database())
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text(triggers)).scalar_one() == 4  # projects, characters, scenes, segments
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0013")
        with engine.connect() as conn:
            assert conn.execute(text(triggers)).scalar_one() == 0
            assert conn.execute(text("SELECT to_regprocedure('x121_notify_scenes()')")).scalar_one() is None
        assert upgrade(engine).up_to_date
        with engine.connect() as conn:
            assert conn.execute(text(triggers)).scalar_one() == 4
    finally:
        engine.dispose()
