"""Generation from the scene workspace, end to end on the ComfyUI stand-in.

A studio is set up through `x121` (character from scikit-image's astronaut, the stand-in server,
the model-free workflow, a scene of 3 segments). The window's own dispatcher runs the jobs on the
stand-in; the workspace's actions start the scene, regenerate segment 2 with each downstream choice
(through the regenerate dialog, by keyboard), heal the boundary an "offer" left stale, and the chain
on screen follows the job notices. The database is checked against what SceneService does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_pipeline_e2e import CREATE, Cli, database, rows, server, setup_studio
from tests.ui.scene.scene_studio import SceneWindow, close_scene_window, open_scene_window
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.core.enums import SceneStatus, SegmentStatus, TakeReason
from x121_desktop.core.media import probe
from x121_desktop.services.bootstrap import LaunchOptions, open_studio
from x121_desktop.services.scenes import Downstream
from x121_desktop.ui.scene.dialogs import RegenerateDialog

__all__ = ["database", "qloop", "server"]
SETTLE_S = 120.0
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def generated(
    qloop: qasync.QEventLoop,
    database: tuple[str, Engine],
    server: ComfyTestServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[tuple[SceneWindow, Engine, int]]:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)

    def set_up() -> int:
        setup_studio(cli, server, tmp_path)
        return int(cli.json(*CREATE)["id"])

    # each `x121` command runs its own asyncio.run(), which cannot run on this thread while the test's loop runs
    scene_id = run(qloop, asyncio.to_thread(set_up), SETTLE_S)
    studio = open_studio(LaunchOptions(database_url=url, home=str(tmp_path / "home")))
    sw = open_scene_window(qloop, studio)
    try:
        sw.open(qloop, scene_id)
        yield sw, engine, scene_id
    finally:
        close_scene_window(qloop, sw)
        studio.close()


async def _settled(sw: SceneWindow, scene_id: int, before: object = None) -> None:
    """Wait for the follow the operation started (the director; not `before`) to finish and the chain to show it."""
    ops = sw.wiring.ops
    await until(lambda: ops.directing.get(scene_id) not in (None, before), what="the director to start")
    follow = ops.directing[scene_id]
    await until(follow.done, SETTLE_S, "the chain to settle")
    await sw.wiring.workspace.reload()


def _chain(engine: Engine, scene_id: int) -> list[Any]:
    return rows(
        engine,
        "SELECT g.position, g.segment_status_id AS status, g.current_take_id AS take, t.take_reason_id AS reason, "
        "t.parent_take_id AS parent FROM segments g LEFT JOIN takes t ON t.id = g.current_take_id "
        "WHERE g.scene_id = :s ORDER BY g.position",
        s=scene_id,
    )


def _pairs(engine: Engine, scene_id: int) -> set[tuple[int, int]]:
    found = rows(engine, "SELECT left_take_id, right_take_id FROM seams WHERE scene_id = :s", s=scene_id)
    return {(r.left_take_id, r.right_take_id) for r in found}


async def _activate(sw: SceneWindow) -> None:
    """The window's shortcuts work in the active window; the last dialog was (no window manager here)."""
    sw.window.activateWindow()
    await until(sw.window.isActiveWindow, what="the window to be active")


async def _regenerate(sw: SceneWindow, position: int, how: Downstream) -> object:
    """Select the segment, Ctrl+Shift+R, pick `how`, Return; returns the follow running before."""
    ws = sw.wiring.workspace
    before = sw.wiring.ops.directing.get(ws.scene_id or 0)
    ws.chain.select_range(position, position)
    await _activate(sw)
    ws.chain.setFocus()
    QTest.keyClick(ws.chain, Qt.Key.Key_R, CTRL_SHIFT)
    dialog = sw.wiring.ops.dialog
    assert isinstance(dialog, RegenerateDialog)
    await until(dialog.isVisible, what="the regenerate dialog")
    assert (dialog.first.value(), dialog.last.value()) == (position + 1, position + 1)
    dialog.choose(how)
    QTest.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Return)
    assert sw.wiring.ops.dialog is None  # accepted and closed
    return before


def test_generate_regenerate_each_way_heal_approve_and_assemble_from_the_workspace(
    qloop: qasync.QEventLoop, generated: tuple[SceneWindow, Engine, int], tmp_path: Path
) -> None:
    # One coroutine for the whole scenario: the loop keeps running while the director works (qasync's
    # run_until_complete returning mid-work would step its tasks where asyncio sees no running loop).
    run(qloop, _generate_regenerate_heal(*generated, tmp_path), 4 * SETTLE_S)


async def _generate_regenerate_heal(sw: SceneWindow, engine: Engine, scene_id: int, tmp_path: Path) -> None:
    dispatcher = sw.window.services.dispatcher  # the window's own: it runs the jobs on the stand-in
    assert dispatcher is not None
    await dispatcher.start()
    try:
        await _scenario(sw, engine, scene_id, tmp_path)
    finally:
        await dispatcher.stop()


async def _scenario(sw: SceneWindow, engine: Engine, scene_id: int, tmp_path: Path) -> None:
    ws, a = sw.wiring.workspace, sw.window.qactions
    assert a["scene.generate"].isEnabled()
    progress = sw.window.progress
    seen: list[tuple[float, float, str]] = []
    progress.operation_progressed.connect(
        lambda op_id: seen.append((op.done, op.total, op.message)) if (op := progress.get(op_id)) else None
    )
    a["scene.generate"].trigger()
    await until(lambda: any(op.title.startswith("Generate Ada/intro") for op in progress.operations()),
                what="the progress row")  # fmt: skip
    await _settled(sw, scene_id)
    first = _chain(engine, scene_id)
    assert [SegmentStatus(r.status) for r in first] == [SegmentStatus.IN_REVIEW] * 3
    # live progress from the job notices: the chain's ready segments out of 3, growing
    assert seen
    assert {total for _, total, _ in seen} == {3}
    assert [done for done, _, _ in seen] == sorted(done for done, _, _ in seen)
    assert all("segments ready" in message for _, _, message in seen)
    assert {(first[0].take, first[1].take), (first[1].take, first[2].take)} <= _pairs(engine, scene_id)
    lights = [ws.chain.item(r, 4).text().split()[0] for r in (1, 2)]  # type: ignore[union-attr]
    assert all(light in ("green", "amber", "red") for light in lights)
    assert [link.current.id if link.current else None for link in ws.chain.links] == [r.take for r in first]

    # heal-only: segment 2 anew; segment 3 keeps its take, its boundary re-measured against the new one
    await _settled(sw, scene_id, await _regenerate(sw, 1, Downstream.HEAL))
    healed = _chain(engine, scene_id)
    assert (healed[0].take, healed[2].take) == (first[0].take, first[2].take)
    assert (TakeReason(healed[1].reason), healed[1].parent) == (TakeReason.REGENERATE, first[1].take)
    assert {(first[0].take, healed[1].take), (healed[1].take, first[2].take)} <= _pairs(engine, scene_id)

    # re-chain: segment 2 anew and segment 3 regenerated from its new cut frame
    await _settled(sw, scene_id, await _regenerate(sw, 1, Downstream.RECHAIN))
    rechained = _chain(engine, scene_id)
    assert rechained[0].take == first[0].take
    assert (TakeReason(rechained[1].reason), rechained[1].parent) == (TakeReason.REGENERATE, healed[1].take)
    assert (TakeReason(rechained[2].reason), rechained[2].parent) == (TakeReason.RECHAIN, first[2].take)
    assert [SegmentStatus(r.status) for r in rechained] == [SegmentStatus.IN_REVIEW] * 3

    # decide later: segment 3 is left STALE (a person's choice), then healed from the workspace
    await _settled(sw, scene_id, await _regenerate(sw, 1, Downstream.OFFER))
    offered = _chain(engine, scene_id)
    assert offered[2].take == rechained[2].take
    assert SegmentStatus(offered[2].status) is SegmentStatus.STALE
    assert ws.chain.item(2, 2).text().startswith("Stale")  # type: ignore[union-attr]
    ws.chain.select_range(2, 2)
    assert a["segment.heal"].isEnabled()
    before = sw.wiring.ops.directing.get(scene_id)
    await _activate(sw)
    QTest.keyClick(ws.chain, Qt.Key.Key_H, CTRL_SHIFT)
    await _settled(sw, scene_id, before)
    restitched = _chain(engine, scene_id)
    assert restitched[2].take == offered[2].take  # heal-only: the same take, the boundary measured again
    assert [SegmentStatus(r.status) for r in restitched] == [SegmentStatus.IN_REVIEW] * 3
    assert (offered[1].take, offered[2].take) in _pairs(engine, scene_id)
    await _assemble_and_export(sw, engine, scene_id, tmp_path)


def _shows_final(sw: SceneWindow, position: int) -> bool:
    item = sw.wiring.workspace.chain.item(position, 2)
    return item is not None and "· final" in item.text()


async def _assemble_and_export(sw: SceneWindow, engine: Engine, scene_id: int, tmp_path: Path) -> None:
    """Without final approval Export writes a draft only; approving every current take (Ctrl+Shift+Return)
    and Assemble write the master into final/ and deliver the scene."""
    ws, ops = sw.wiring.workspace, sw.wiring.ops
    draft = tmp_path / "out" / "draft.mp4"
    result = await ops.export(scene_id, draft)
    assert result is not None
    assert result.draft
    assert probe(draft).frame_count == 41
    [status] = rows(engine, "SELECT scene_status_id FROM scenes WHERE id = :s", s=scene_id)
    assert SceneStatus(status.scene_status_id) is SceneStatus.IN_REVIEW
    for position in range(3):
        ws.chain.select_range(position, position)
        await _activate(sw)
        ws.chain.setFocus()
        QTest.keyClick(ws.chain, Qt.Key.Key_Return, CTRL_SHIFT)
        await until(partial(_shows_final, sw, position), what=f"segment {position + 1} approved")
    sw.window.qactions["scene.assemble"].trigger()
    master = sw.studio.paths.media_root / "final" / "Ada" / "intro.mp4"
    await until(lambda: ws.workspace is not None and ws.workspace.view.scene.status is SceneStatus.DELIVERED,
                SETTLE_S, "the scene delivered")  # fmt: skip
    assert probe(master).frame_count == 41
    assert master.with_suffix(".json").is_file()


def test_new_scene_dialog_shows_the_manifest_check_and_opens_the_created_scene(
    qloop: qasync.QEventLoop, generated: tuple[SceneWindow, Engine, int]
) -> None:
    sw, engine, _ = generated
    new = sw.window.qactions["scene.new"]
    assert new.isEnabled()
    new.trigger()
    run(qloop, until(lambda: sw.wiring.new_scene is not None and sw.wiring.new_scene.isVisible(), what="the dialog"))
    dialog = sw.wiring.new_scene
    assert dialog is not None
    assert dialog.character.currentData()[0] == "Ada"
    assert dialog.workflow.currentData() == "i2v"
    create = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)  # type: ignore[union-attr]
    dialog.name.setText("outro")
    dialog.duration.setText("a while")
    create.click()
    said = "'a while' is not a duration range. Write MIN-MAX in seconds (4-6, 2.5-4) or frames (41-45f)"
    assert dialog.error.text() == said
    dialog.duration.setText("41-45f")
    dialog.params.setText("width=256 height=144 strength=2")
    create.click()
    run(qloop, until(lambda: "has no parameter" in dialog.error.text(), what="the manifest check's sentence"))
    assert dialog.error.text().startswith("Workflow 'i2v' v1 has no parameter strength. Use its parameters: ")
    assert dialog.isVisible()
    assert rows(engine, "SELECT 1 FROM scenes WHERE name = 'outro'") == []
    dialog.params.setText("width=256 height=144")
    create.click()
    # the workflow lets a segment be 1 frame long, too short to chain: the planner's sentence, then limits
    run(qloop, until(lambda: "overlap of 1 frames" in dialog.error.text(), what="the planner's sentence"))
    dialog.segment_frames.setText("9-17")
    dialog.frame_rule.setText("4n+1")
    create.click()
    ws = sw.wiring.workspace
    run(qloop, until(lambda: ws.title.text() == "Ada / outro", what="the new scene opened"))
    assert sw.wiring.new_scene is None  # closed
    [scene] = rows(engine, "SELECT id, scene_status_id FROM scenes WHERE name = 'outro'")
    planned = rows(engine, "SELECT planned_frames FROM segments WHERE scene_id = :s ORDER BY position", s=scene.id)
    assert [link.segment.planned_frames for link in ws.chain.links] == [r.planned_frames for r in planned]
    assert all(link.segment.status is SegmentStatus.PLANNED for link in ws.chain.links)
