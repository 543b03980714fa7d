"""Analyzing a segment's seams on request (services/seam_analysis.py), end to end: scene 'locks' of Ada is
generated on the ComfyUI stand-in with the graded model-free workflow (real H.264 takes, seams measured
by the director against the real Seed A), then analyzed again:

* a measured pair gets the same grade, score and metrics as the director's (the same engine), its row
  replaced in place with a new time, its remedy kept; progress goes step by step;
* a pair never measured (segment 1 regenerated, segment 2 left stale) gets its seams row, the
  segment's status untouched; each analysis is in the activity feed;
* cancelled while measuring, nothing is written; a reviewer is refused before any measuring.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SecureStudio
from tests.services.test_pipeline_e2e import server
from tests.services.test_pipeline_locks import _locks
from tests.services.test_pipeline_roles import roles_studio
from tests.services.test_scene_cancel import _all, _segments, studios
from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.enums import SeamGrade, SegmentStatus
from x121_desktop.core.errors import Cancelled, PermissionDenied
from x121_desktop.core.pipeline.values import SceneRef
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.scene_director import SceneDirector
from x121_desktop.services.scenes import Downstream, SceneService
from x121_desktop.services.seam_analysis import AnalyzeRequest, SeamAnalysisService

__all__ = ["roles_studio", "server", "studios"]


def _seams(studio: Studio, scene_id: int) -> dict[tuple[int, int], Any]:
    found = _all(
        studio,
        "SELECT id, left_take_id, right_take_id, seam_grade_id AS grade, score, metrics, remedy, measured_at "
        "FROM seams WHERE scene_id = :s",
        s=scene_id,
    )
    return {(r.left_take_id, r.right_take_id): r for r in found}


def _currents(studio: Studio, scene_id: int) -> list[int]:
    sql = "SELECT current_take_id AS take FROM segments WHERE scene_id = :s ORDER BY position"
    return [int(r.take) for r in _all(studio, sql, s=scene_id)]


async def _generated(studio: Studio) -> int:
    """Scene 'locks' started and generated; its id."""
    scene_id = await SceneService(studio).find(SceneRef("Ada", "locks"), "Default")
    await SceneService(studio).start(scene_id)
    await _generate(studio, scene_id)
    return scene_id


async def _generate(studio: Studio, scene_id: int) -> None:
    """The director follows the scene while a dispatcher runs its jobs on the stand-in, until it settles."""
    stop = asyncio.Event()
    dispatching = asyncio.create_task(Dispatcher(studio, servers=["gpu1"]).run(stop))
    try:
        report = await SceneDirector(studio).settle(scene_id, timeout=120)
        assert not report.failed, report
    finally:
        stop.set()
        await dispatching


def test_analyze_measures_as_the_director_did_and_stores_pairs_never_measured(
    studios: dict[str, Studio], server: ComfyTestServer
) -> None:
    creator = studios["creator"]

    async def main() -> None:
        scene_id = await _generated(creator)
        first, second = _currents(creator, scene_id)
        measured = _seams(creator, scene_id)
        before = measured[(first, second)]

        steps: list[tuple[float, float, str]] = []

        def progress(done: float, total: float, message: str = "") -> None:
            steps.append((done, total, message))

        report = await SeamAnalysisService(creator).analyze(AnalyzeRequest(scene_id, 1), progress=progress)
        [seam] = report.seams
        assert (seam.boundary, seam.left_take_id, seam.right_take_id) == (2, first, second)
        assert (seam.grade, seam.before) == (SeamGrade(before.grade), SeamGrade(before.grade))
        assert seam.score == pytest.approx(before.score, abs=1e-5)  # the column is a 4-byte REAL
        assert report.notes == ()  # Seed A read: identity measured
        assert steps == [
            (0, 3, "reading Seed A's face…"), (1, 3, "measuring the seam into segment 2…"),
            (2, 3, "storing the results…"), (3, 3, "done"),
        ]  # fmt: skip
        after = _seams(creator, scene_id)
        assert after.keys() == measured.keys()  # no row added
        now = after[(first, second)]
        assert now.id == before.id  # replaced in place, one row per take pair
        assert (now.grade, now.metrics, now.remedy) == (before.grade, before.metrics, before.remedy)
        assert now.metrics["identity_distance"] is not None
        assert now.measured_at > before.measured_at
        said = f"Analyzed Ada/locks: seam into segment 2: {seam.grade.code} {seam.score:.2f} (was {seam.grade.code})."
        assert report.sentence() == said

        # Segment 1 anew, segment 2 left stale: the seam between the new take and segment 2 is not measured.
        await SceneService(creator).regenerate(scene_id, 0, 0, Downstream.OFFER)
        await _generate(creator, scene_id)
        new_first, same_second = _currents(creator, scene_id)
        assert (new_first != first, same_second) == (True, second)
        assert _segments(creator, scene_id) == [SegmentStatus.IN_REVIEW, SegmentStatus.STALE]
        assert (new_first, second) not in _seams(creator, scene_id)
        fresh = await SeamAnalysisService(creator).analyze(AnalyzeRequest(scene_id, 0, 1))  # both segments
        [seam] = fresh.seams  # segment 1 has no seam into it, segment 2 none out of it
        assert (seam.boundary, seam.left_take_id, seam.right_take_id, seam.before) == (2, new_first, second, None)
        row = _seams(creator, scene_id)[(new_first, second)]
        assert (SeamGrade(row.grade), row.score) == (seam.grade, pytest.approx(seam.score, abs=1e-5))
        assert row.metrics["reasons"] == list(seam.reasons)
        assert _segments(creator, scene_id) == [SegmentStatus.IN_REVIEW, SegmentStatus.STALE]  # a person decides
        analyzed = _all(creator, "SELECT data FROM activity_events WHERE data->>'action' = 'analyze' ORDER BY id")
        assert [(a.data["boundary"], a.data["before"]) for a in analyzed] == [(1, SeamGrade(before.grade).code),
                                                                              (1, None)]  # fmt: skip
        assert _locks(creator, scene_id) == {}

    asyncio.run(main())


def test_cancelled_while_measuring_writes_nothing_and_a_reviewer_is_refused_up_front(
    studios: dict[str, Studio], roles_studio: SecureStudio, server: ComfyTestServer, tmp_path: Path
) -> None:
    creator = studios["creator"]

    async def main() -> None:
        scene_id = await _generated(creator)
        before = _seams(creator, scene_id)
        token = CancelToken()

        def progress(done: float, total: float, message: str = "") -> None:
            if message.startswith("measuring"):
                token.cancel()  # the person presses Cancel while the seam is measured

        with pytest.raises(Cancelled):
            await SeamAnalysisService(creator).analyze(AnalyzeRequest(scene_id, 1), cancel=token, progress=progress)
        assert _seams(creator, scene_id) == before
        assert _all(creator, "SELECT 1 FROM activity_events WHERE data->>'action' = 'analyze'") == []

        reviewer = open_studio(LaunchOptions(database_url=roles_studio.url("reviewer"), home=str(tmp_path / "home")))
        try:
            steps: list[str] = []

            def said(done: float, total: float, message: str = "") -> None:
                steps.append(message)

            with pytest.raises(PermissionDenied) as refused:
                await SeamAnalysisService(reviewer).analyze(AnalyzeRequest(scene_id, 1), progress=said)
        finally:
            reviewer.close()
        role = roles_studio.roles["reviewer"]
        assert refused.value.sentence == (
            f"Only creators and admins can analyze seams, and {role} signs in as a reviewer. Ask a creator or admin "
            "to do it"
        )
        assert steps == []  # refused before any measuring

    asyncio.run(main())
