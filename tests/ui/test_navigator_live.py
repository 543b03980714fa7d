"""The navigator follows the database: changes committed elsewhere (another workstation, the CLI) reach the
tree through LISTEN/NOTIFY (x121_scenes), a burst of them as one re-read, with nothing polled in between;
what the person had open and selected stays. Real window, real database, a reviewer's login."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem

from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.core.enums import SceneStatus, SeedPolicy, SegmentStatus, StitchMode
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.navigator import NavigatorService, NavigatorTree
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.docks import WindowServices
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.navigator import REFRESH_DELAY_MS, NavigatorPanel

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]


class CountedNavigator(NavigatorService):
    """The real service, counting its reads of the tree."""

    reads = 0

    async def tree(self, *, include_archived: bool = False) -> NavigatorTree:
        self.reads += 1
        return await super().tree(include_archived=include_archived)


@pytest.fixture
def counted(secure_studio: SecureStudio) -> Iterator[CountedNavigator]:
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("reviewer")), pool_size=1)
    yield CountedNavigator(session_factory(engine), runtime)
    runtime.shutdown()
    engine.dispose()


DONE = "In progress · 3 seg · 1 cancelled"


def found(nav: NavigatorPanel, name: str) -> QTreeWidgetItem | None:
    items = nav.tree.findItems(name, Qt.MatchFlag.MatchRecursive, 0)
    assert len(items) <= 1, f"{name} is in the tree once"
    return items[0] if items else None


def grab_if_asked(window: MainWindow, name: str) -> None:
    """Under Xvfb with X121_SHOTS=<dir>: a PNG of the whole screen (scripts/dev/grab_screen.py), to look at."""
    shots = os.environ.get("X121_SHOTS")
    if shots and os.environ.get("DISPLAY"):
        window.raise_()
        out = Path(shots) / name
        subprocess.run([sys.executable, "scripts/dev/grab_screen.py", str(out)], check=True, timeout=30)


def test_the_navigator_follows_scene_changes_made_elsewhere(
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: Callable[..., MainWindow],
    secure_studio: SecureStudio,
    counted: CountedNavigator,
) -> None:
    window = window_for(dataclasses.replace(services_as("reviewer"), navigator=counted))
    window.resize(1280, 800)
    window.show()
    run(qloop, window.start())
    nav = window.navigator
    assert nav is not None
    run(qloop, until(lambda: nav.data is not None and nav.listener is not None, what="the tree, followed"))
    listener = nav.listener
    assert listener is not None
    assert run(qloop, asyncio.to_thread(listener.wait_listening, 5))
    before = counted.reads
    su = secure_studio.connect(SUPERUSER, autocommit=True)
    creator, character = secure_studio.user_ids["creator"], secure_studio.ids["character"]
    scene = 0
    try:
        # elsewhere (another workstation, the CLI): a scene planned with one segment
        with su.transaction():
            scene = su.execute(
                "INSERT INTO scenes (character_id, name, scene_status_id, min_frames, max_frames, seed_policy_id, "
                "stitch_mode_id, created_by) VALUES (%s, 'Run', %s, 48, 240, %s, %s, %s) RETURNING id",
                (character, SceneStatus.PLANNED, SeedPolicy.FIXED, StitchMode.SIMPLE, creator),
            ).fetchone()[0]  # type: ignore[index]
            su.execute(
                "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) VALUES (%s, 0, %s, 48)",
                (scene, SegmentStatus.PLANNED),
            )
        run(qloop, until(lambda: found(nav, "Run") is not None, what="the new scene"))
        run_item = found(nav, "Run")
        assert run_item is not None
        assert run_item.text(1) == "Planned · 1 seg"
        assert counted.reads - before == 1
        run_item.parent().setExpanded(True)
        nav.tree.setCurrentItem(run_item)
        before = counted.reads
        # then five commits in a row: generation started, two more segments, the first one cancelled, renamed
        su.execute("UPDATE scenes SET scene_status_id = %s WHERE id = %s", (SceneStatus.IN_PROGRESS, scene))
        for position in (1, 2):
            su.execute(
                "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) VALUES (%s, %s, %s, 48)",
                (scene, position, SegmentStatus.QUEUED),
            )
        su.execute(
            "UPDATE segments SET segment_status_id = %s WHERE scene_id = %s AND position = 0",
            (SegmentStatus.CANCELLED, scene),
        )
        su.execute("UPDATE scenes SET name = 'Run home' WHERE id = %s", (scene,))
        run(qloop, until(lambda: (i := found(nav, "Run home")) is not None and i.text(1) == DONE, what=DONE))
        grab_if_asked(window, "navigator-after-change.png")
        reads = counted.reads - before
        assert 1 <= reads <= 2, f"{reads} reads for one burst of five changes"
        current = nav.tree.currentItem()
        assert current is not None
        assert current.text(0) == "Run home"  # the selection stayed on the scene
        parent = current.parent()
        assert parent is not None
        assert parent.isExpanded()
        quiet = counted.reads
        run(qloop, asyncio.sleep(3 * REFRESH_DELAY_MS / 1000))
        assert counted.reads == quiet  # nothing changed: nothing read (no polling)
    finally:
        su.execute("DELETE FROM segments WHERE scene_id = %s", (scene,))
        su.execute("DELETE FROM scenes WHERE id = %s", (scene,))
        su.close()
    run(qloop, window.shutdown())
    assert nav.listener is None
    assert not [t for t in threading.enumerate() if t.name == "x121-navigator" and t.is_alive()]
