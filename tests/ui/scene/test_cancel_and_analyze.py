"""Cancelling a scene's generation and analyzing seams from the scene workspace, in the real window.

* Cancel on the Generate row (and the Cancel scene generation action) cancels the scene's queued job
  through the service, shows it in the row while it works, gives the director's segment lock back at
  once and ends with one sentence; the chain on screen shows the segments planned again (nothing was
  generated, so the scene is planned again too). No dispatcher runs
  (the window's is off), so the job is still queued when cancelled (tests/services/test_scene_cancel.py
  covers running jobs and other users' jobs). A job that had already finished gets its take recorded.
* Analyze seams measures the selected segment's seams on real H.264 takes (a continuous camera move
  over a photograph; segment 3 jumps sideways), with a progress row, and the traffic lights follow;
  cancelled at once, it writes nothing (a reviewer has both actions disabled: test_workspace.py).
"""

from __future__ import annotations

from collections.abc import Callable

import qasync
from sqlalchemy.engine import Engine

from tests.db.security_studio import SUPERUSER
from tests.media_factory import Frame
from tests.seam_fixtures import CameraPath, animate, default_path, photo
from tests.services.review_studio import ReviewStudio
from tests.services.test_pipeline_e2e import database, rows, server
from tests.ui.scene.scene_studio import SceneWindow, build_chain, review_studio, scene_window, studio_as
from tests.ui.scene.test_generation import SETTLE_S, _chain, generated
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.core.enums import JobStatus, SceneStatus, SeamGrade, SegmentStatus
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.scene_director import SceneDirector
from x121_desktop.services.scenes import SceneService
from x121_desktop.ui.concurrency import ProgressCenter
from x121_desktop.ui.review.seams import grade_color
from x121_desktop.ui.scene.cancelling import CANCELLING, RECORDING
from x121_desktop.ui.scene.chain_view import SEAM_COLUMN

__all__ = ["database", "generated", "qloop", "review_studio", "scene_window", "server", "studio_as"]

LIVE_LOCKS = "SELECT count(*) AS n FROM segment_locks WHERE expires_at > clock_timestamp()"
FRAMES, SIZE = 12, 96


def _notes(sw: SceneWindow) -> list[str]:
    return [n.text for n in sw.window.notifier.items()]


def _said(progress: ProgressCenter) -> list[str]:
    """Every message the progress rows show from now on, in order."""
    said: list[str] = []
    progress.operation_progressed.connect(
        lambda op_id: said.append(op.message) if (op := progress.get(op_id)) else None
    )
    return said


def _statuses(sw: SceneWindow) -> list[str]:
    chain = sw.wiring.workspace.chain
    return [chain.item(r, 2).text() for r in range(chain.rowCount())]  # type: ignore[union-attr]


def test_cancel_on_generate_cancels_the_scenes_jobs_and_says_what_it_did(
    qloop: qasync.QEventLoop, generated: tuple[SceneWindow, Engine, int]
) -> None:
    run(qloop, _cancel_generate(*generated), SETTLE_S)


async def _follow_started(sw: SceneWindow, engine: Engine, scene_id: int, jobs: int) -> None:
    await until(lambda: sw.wiring.ops.following(scene_id), what="the director to follow the scene")
    await until(lambda: rows(engine, LIVE_LOCKS)[0].n > 0, what="the director to lock segment 1")
    await until(lambda: len(rows(engine, "SELECT id FROM jobs")) == jobs, what="segment 1's job queued")


async def _cancel_generate(sw: SceneWindow, engine: Engine, scene_id: int) -> None:
    a, progress, ops = sw.window.qactions, sw.window.progress, sw.wiring.ops
    assert not a["scene.cancel_generation"].isEnabled()  # nothing is generating yet
    a["scene.generate"].trigger()
    await _follow_started(sw, engine, scene_id, 1)
    assert a["scene.cancel_generation"].isEnabled()
    said: list[str] = []
    progress.operation_progressed.connect(
        lambda op_id: said.append(op.message) if (op := progress.get(op_id)) else None
    )
    [op] = progress.operations()
    assert op.title == "Generate Ada/intro"
    progress.cancel(op.id)  # the row's Cancel button
    await until(ops.directing[scene_id].done, what="the cancel to end")
    assert rows(engine, LIVE_LOCKS)[0].n == 0  # given back at once, not left to lapse
    assert progress.operations() == ()
    assert said[:2] == ["cancelling…", CANCELLING]  # the row said what it was doing until it ended
    [job] = rows(engine, "SELECT id, job_status_id AS status FROM jobs")
    assert JobStatus(job.status) is JobStatus.CANCELLED
    assert [SegmentStatus(r.status) for r in _chain(engine, scene_id)] == [SegmentStatus.PLANNED] * 3
    [scene] = rows(engine, "SELECT scene_status_id AS status FROM scenes WHERE id = :i", i=scene_id)
    assert SceneStatus(scene.status) is SceneStatus.PLANNED
    sentence = (
        "Generation of Ada/intro cancelled: 1 job cancelled (segment 1). Segments 1, 2, 3 stopped; Generate queues "
        "them again. Ada/intro is planned again: no segment has a take to look at."
    )
    assert sentence in _notes(sw)
    await until(lambda: _statuses(sw) == ["Planned"] * 3, what="the chain to show the segments planned again")
    assert not a["scene.cancel_generation"].isEnabled()
    sw.wiring.workspace.chain.select_range(0, 0)
    take = sw.wiring.workspace.takes.topLevelItem(0)
    assert take is not None
    assert (take.text(2), take.text(4)) == ("Cancelled", "cancelled")  # its take, in the tree

    # Generate again, and cancel with the action this time: the same, on the Generate row
    a["scene.generate"].trigger()
    await _follow_started(sw, engine, scene_id, 2)
    a["scene.cancel_generation"].trigger()
    await until(ops.directing[scene_id].done, what="the second cancel to end")
    assert rows(engine, LIVE_LOCKS)[0].n == 0
    assert {JobStatus(r.status) for r in rows(engine, "SELECT job_status_id AS status FROM jobs")} == {
        JobStatus.CANCELLED
    }
    assert _notes(sw).count(sentence) == 2
    await until(lambda: _statuses(sw) == ["Planned"] * 3, what="the chain to show the segments planned again")


def test_cancel_when_not_following_records_the_take_of_a_job_that_had_finished(
    qloop: qasync.QEventLoop, generated: tuple[SceneWindow, Engine, int]
) -> None:
    run(qloop, _cancel_after_finish(*generated), SETTLE_S)


async def _cancel_after_finish(sw: SceneWindow, engine: Engine, scene_id: int) -> None:
    """Segment 1's job ran to its end before the person cancels, and no director followed the scene here
    (`x121 scene generate` without --wait, say): the action opens its own row, which records that take."""
    await SceneService(sw.studio).start(scene_id)
    assert len((await SceneDirector(sw.studio).advance(scene_id)).submitted) == 1
    await Dispatcher(sw.studio, servers=["gpu1"], once=True, grace_s=5.0).run()  # the job runs and succeeds
    ws, a, progress, ops = sw.wiring.workspace, sw.window.qactions, sw.window.progress, sw.wiring.ops
    await ws.reload()
    assert not ops.following(scene_id)
    assert a["scene.cancel_generation"].isEnabled()
    said = _said(progress)
    a["scene.cancel_generation"].trigger()
    await until(lambda: any(n.startswith("Generation of Ada/intro") for n in _notes(sw)), what="the sentence")
    await until(lambda: progress.operations() == (), what="the cancel row to end")
    assert said[:2] == [CANCELLING, RECORDING]
    assert (
        "Generation of Ada/intro cancelled: no job of yours was queued or running. Segments 2, 3 stopped; Generate "
        "queues them again. Segment 1's job had already finished (succeeded); its take is kept. Ada/intro stays in "
        "progress while segment 1 is still under way."
    ) in _notes(sw)
    await until(lambda: _statuses(sw) == ["In review", "Planned", "Planned"], what="segment 1's take recorded")
    [scene] = rows(engine, "SELECT scene_status_id AS status FROM scenes WHERE id = :i", i=scene_id)
    assert SceneStatus(scene.status) is SceneStatus.IN_REVIEW  # the recording round brought it to rest
    [job] = rows(engine, "SELECT job_status_id AS status FROM jobs")
    assert JobStatus(job.status) is JobStatus.SUCCEEDED
    assert rows(engine, LIVE_LOCKS)[0].n == 0


# ------------------------------------------------------------------ analyze


def camera(position: int, _take: int) -> list[Frame]:
    """One continuous move over a photograph, frame 0 of each segment repeating the previous one's last
    frame (the chain's 1-frame overlap); from segment 3 on, the camera jumps 8 % of the frame sideways."""
    img, path = photo("coffee"), default_path("coffee", SIZE)
    frames = animate(img, path, position * (FRAMES - 1), FRAMES, SIZE)
    if position < 2:
        return frames
    jumped = CameraPath(path.cx + 0.08 * SIZE / path.zoom, path.cy, path.vx, path.vy, path.zoom, path.zoom_rate)
    return [frames[0], *animate(img, jumped, position * (FRAMES - 1) + 1, FRAMES - 1, SIZE)]


def _seam_cells(sw: SceneWindow) -> list[str]:
    chain = sw.wiring.workspace.chain
    return [chain.item(r, SEAM_COLUMN).text() for r in range(chain.rowCount())]  # type: ignore[union-attr]


def _stored(review: ReviewStudio, scene_id: int) -> dict[int, tuple[SeamGrade, float, str]]:
    """right take id → (grade, score, measured_at) of the scene's seams."""
    with review.secure.connect(SUPERUSER) as conn:
        found = conn.execute(
            "SELECT right_take_id, seam_grade_id, score, measured_at::text FROM seams WHERE scene_id = %s",
            (scene_id,),
        ).fetchall()
    return {int(r[0]): (SeamGrade(r[1]), float(r[2]), str(r[3])) for r in found}


def test_analyze_measures_the_selected_segments_seams_and_the_lights_follow(
    qloop: qasync.QEventLoop, review_studio: ReviewStudio, scene_window: Callable[[str], SceneWindow]
) -> None:
    chain = build_chain(review_studio, (SeamGrade.GREEN, SeamGrade.GREEN), (0.91, 0.88), clip=camera)
    sw = scene_window("creator")
    sw.open(qloop, chain.scene_id)
    ws, a, progress = sw.wiring.workspace, sw.window.qactions, sw.window.progress
    assert _seam_cells(sw) == ["—", "green 0.91", "green 0.88"]  # as stored, not as measured

    ws.chain.select_range(2, 2)
    assert a["segment.analyze"].isEnabled()
    titles: list[str] = []
    said: list[str] = []
    progress.operation_started.connect(lambda op_id: titles.append(op.title) if (op := progress.get(op_id)) else None)
    progress.operation_progressed.connect(
        lambda op_id: said.append(op.message) if (op := progress.get(op_id)) else None
    )
    a["segment.analyze"].trigger()
    run(qloop, until(lambda: _seam_cells(sw)[2].startswith("red"), 60, "segment 3's light to turn red"))
    run(qloop, until(lambda: progress.operations() == (), what="the analysis row to end"))
    assert titles == [f"Analyze the seams of segment 3 of Ada/{chain.name}"]
    assert said[:3] == ["reading Seed A's face…", "measuring the seam into segment 3…", "storing the results…"]
    assert _seam_cells(sw)[:2] == ["—", "green 0.91"]  # segment 3 is the last: only the seam into it
    light = ws.chain.item(2, SEAM_COLUMN).data(0x0100)  # type: ignore[union-attr]  # Qt.UserRole
    assert light == grade_color(SeamGrade.RED).name()
    stored = _stored(review_studio, chain.scene_id)
    assert stored[chain.currents[1]][:2] == (SeamGrade.GREEN, 0.91)  # untouched
    assert stored[chain.currents[2]][0] is SeamGrade.RED
    [note] = [n for n in _notes(sw) if n.startswith("Analyzed ")]
    score = _seam_cells(sw)[2].split()[1]
    assert note.startswith(f"Analyzed Ada/{chain.name}: seam into segment 3: red {score} (was green). Seed A could ")
    assert note.endswith(", so identity was not measured.")  # the secure studio's Seed A file is not on disk

    # segment 2: the seam into it (a continuous move: green) and out of it (the jump: red again)
    ws.chain.select_range(1, 1)
    a["segment.analyze"].trigger()
    run(qloop, until(lambda: len([n for n in _notes(sw) if n.startswith("Analyzed ")]) == 2, 60, "the second"))
    run(qloop, until(lambda: not _seam_cells(sw)[1].endswith("0.91"), what="segment 2's light re-read"))
    into_2, into_3 = _seam_cells(sw)[1:]
    assert into_2.startswith("green ")
    assert into_3.startswith("red ")
    assert [SegmentStatus(s.status) for s in (link.segment for link in ws.chain.links)] == [
        SegmentStatus.IN_REVIEW
    ] * 3  # analyzing changes no status

    # cancelled as soon as its row shows the first step: nothing is written, nothing said
    before = _stored(review_studio, chain.scene_id)

    def cancel_at_once(op_id: int) -> None:
        op = progress.get(op_id)
        if op is not None and op.message == "reading Seed A's face…":
            progress.cancel(op_id)

    progress.operation_progressed.connect(cancel_at_once)
    a["segment.analyze"].trigger()
    run(qloop, until(lambda: progress.operations() == (), what="the cancelled row to go"))
    progress.operation_progressed.disconnect(cancel_at_once)
    assert said[-2:] == ["reading Seed A's face…", "cancelling…"]
    assert _stored(review_studio, chain.scene_id) == before
    assert len([n for n in _notes(sw) if n.startswith("Analyzed ")]) == 2
