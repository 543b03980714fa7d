"""The workspace in the window `x121` builds (ui.app._build_window): Compare with previous take puts the take
and its parent side by side in Review; Open segment workflow opens the scene's workflow version in the
node editor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from tests.services.review_studio import ReviewStudio
from tests.ui.scene.scene_studio import SceneWindow, build_chain, qloop, review_studio, studio_as
from tests.ui.studio_fixtures import run, until
from x121_desktop.core.enums import SeamGrade
from x121_desktop.services.bootstrap import Studio
from x121_desktop.ui.app import _build_window
from x121_desktop.ui.node_editor.panel import NodeEditorPanel
from x121_desktop.ui.panels import pulse as pulse_module
from x121_desktop.ui.panels.pulse import CollabWiring
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.scene import install as install_module
from x121_desktop.ui.scene.install import SceneWindowWiring

__all__ = ["qloop", "review_studio", "studio_as"]


@pytest.fixture
def built(
    qloop: qasync.QEventLoop, studio_as: Callable[[str], Studio], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SceneWindow, CollabWiring]]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    collabs: list[CollabWiring] = []
    scenes: list[SceneWindowWiring] = []
    real_collab, real_scene = pulse_module.install_collab, install_module.install_scene_workspace

    def keep_collab(*args: Any, **kwargs: Any) -> CollabWiring:
        collabs.append(real_collab(*args, **kwargs))
        return collabs[-1]

    def keep_scene(*args: Any, **kwargs: Any) -> SceneWindowWiring:
        scenes.append(real_scene(*args, **kwargs))
        return scenes[-1]

    monkeypatch.setattr(pulse_module, "install_collab", keep_collab)
    monkeypatch.setattr(install_module, "install_scene_workspace", keep_scene)
    studio = studio_as("creator")
    window = _build_window(app, studio)
    review = window.panel("review", ReviewPanel)
    assert review is not None
    window.show()
    run(qloop, window.start())
    yield SceneWindow(window, scenes[0], studio), collabs[0]
    review.close_player()
    run(qloop, scenes[0].stop())
    for wiring in collabs:
        run(qloop, wiring.stop())
    run(qloop, window.shutdown())
    window.close()
    window.deleteLater()
    run(qloop, asyncio.sleep(0.01))


def test_compare_with_previous_take_and_open_the_workflow(
    qloop: qasync.QEventLoop, review_studio: ReviewStudio, built: tuple[SceneWindow, CollabWiring]
) -> None:
    sw, _collab = built
    chain = build_chain(review_studio, (SeamGrade.GREEN, SeamGrade.AMBER), (0.93, 0.61))
    sw.open(qloop, chain.scene_id)
    ws, a = sw.wiring.workspace, sw.window.qactions
    ws.chain.select_range(1, 1)
    assert ws.takes.selected_take() == chain.currents[1]
    compare = a["take.compare_previous"]
    assert compare.isEnabled()
    compare.trigger()
    review = sw.window.panel("review", ReviewPanel)
    assert review is not None
    media = review_studio.home / "media" / "scene-ws"
    wanted = [
        media / f"{chain.scene_id}_{chain.segments[1]}_0.mp4",
        media / f"{chain.scene_id}_{chain.segments[1]}_1.mp4",
    ]
    run(qloop, until(lambda: review.paths == wanted, what="the parent and the take in Review"))
    assert review.grid_shape == (1, 2)
    assert sw.window.docks["review"].isVisible()
    # the first take has no parent: nothing to compare with
    assert ws.takes.select_take(chain.older)
    assert not compare.isEnabled()

    editor = sw.window.panel("node_editor", NodeEditorPanel)
    assert editor is not None
    assert editor.versions is not None
    opened: list[int] = []
    editor.versions.version_opened.connect(opened.append)
    assert a["segment.open_workflow"].isEnabled()
    a["segment.open_workflow"].trigger()
    run(qloop, until(lambda: opened == [1], what="version 1 opened in the node editor"))
    assert editor.versions.name_field.text() == "wan-i2v"
    assert sw.window.docks["node_editor"].isVisible()


def test_a_link_to_a_take_selects_it_in_the_workspace(
    qloop: qasync.QEventLoop, review_studio: ReviewStudio, built: tuple[SceneWindow, CollabWiring]
) -> None:
    sw, collab = built
    chain = build_chain(review_studio, (SeamGrade.RED, SeamGrade.GREEN), (0.2, 0.9))
    project = review_studio.secure.ids["project"]
    collab.opener.open(f"x121://project/{project}/scene/{chain.scene_id}/segment/2/take/{chain.older}")
    ws = sw.wiring.workspace
    run(qloop, until(lambda: ws.takes.selected_take() == chain.older, what="the linked take selected"))
    assert ws.chain.current_position() == 1
    assert ws.title.text().endswith(f"/ {chain.name}")
