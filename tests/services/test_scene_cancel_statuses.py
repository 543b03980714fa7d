"""Where a cancelled scene and its segments come to rest (core.pipeline.stopping via services/scene_rest.py),
with real login roles, the ComfyUI stand-in and the graded model-free workflow (2-segment scene 'locks' of Ada):

* another user's job still under way keeps the scene IN_PROGRESS (it is not idle); once that job has
  ended, the director's round brings the scene to rest (IN_REVIEW: segment 1 has a take), and a
  reviewer's navigator hears both changes (NOTIFY x121_scenes, revision 0014);
* a cancelled regeneration gives the segment back its current take's status (APPROVED stays approved),
  and a cancelled re-chain leaves the later segment GENERATED (its seam with the new take before it was
  never measured); the scene is IN_REVIEW, and the navigator hears the cancel's scene change.

tests/services/test_scene_cancel.py covers the rest: a cancel with nothing generated leaves the scene and
its segments PLANNED, a red-seam retry awaiting the director is CANCELLED (waits for a person).
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SecureStudio
from tests.services.test_navigator import _heard
from tests.services.test_pipeline_e2e import server
from tests.services.test_pipeline_locks import _dispatch, role_studios
from tests.services.test_pipeline_roles import roles_studio
from tests.services.test_scene_cancel import _jobs, _scene, _segments, queue_segment_one
from x121_desktop.core.enums import JobStatus, SceneStatus, SegmentStatus, TakeStatus, Verdict
from x121_desktop.core.ids import SceneId
from x121_desktop.core.pipeline.values import SceneRef
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.navigator import NavigatorListener, NavigatorService, TreeChanged
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.scene_cancel import SceneCancelService, SegmentNote
from x121_desktop.services.scene_director import SceneDirector
from x121_desktop.services.scenes import Downstream, SceneService
from x121_desktop.services.takes import TakeReviewService

__all__ = ["roles_studio", "server"]
Sg = SegmentStatus


@pytest.fixture
def studios(
    roles_studio: SecureStudio, server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[dict[str, Studio]]:
    yield from role_studios(roles_studio, server, tmp_path, capsys, ("locks",))


class Navigator:
    """A reviewer's navigator: what it hears (NOTIFY x121_scenes) and the tree it reads."""

    def __init__(self, roles: SecureStudio) -> None:
        self.runtime = Runtime()
        self.engine = make_engine(DatabaseTarget(roles.url("reviewer")), pool_size=1)
        self.service = NavigatorService(session_factory(self.engine), self.runtime)
        self.notices: queue.Queue[TreeChanged] = queue.Queue()
        self.listener: NavigatorListener = self.service.listen(self.notices.put)
        assert self.listener.wait_listening(5)

    def heard(self) -> list[TreeChanged]:
        return _heard(self.notices)

    def scene(self, scene_id: int) -> tuple[SceneStatus, tuple[tuple[SegmentStatus, int], ...]]:
        found = asyncio.run(self.service.tree()).find_scene(SceneId(scene_id))
        assert found is not None
        return found[2].status, found[2].attention

    def close(self) -> None:
        self.listener.stop()
        self.runtime.shutdown()
        self.engine.dispose()


@pytest.fixture
def navigator(roles_studio: SecureStudio) -> Iterator[Navigator]:
    nav = Navigator(roles_studio)
    try:
        yield nav
    finally:
        nav.close()


def test_another_users_job_keeps_the_scene_in_progress_until_it_ends_then_the_director_rests_it(
    studios: dict[str, Studio], roles_studio: SecureStudio, navigator: Navigator
) -> None:
    creator, admin = studios["creator"], studios["admin"]

    scene_id = asyncio.run(queue_segment_one(creator))
    [job] = _jobs(creator, scene_id)
    navigator.heard()

    # The admin cancels: no job of theirs; segment 2 (queued behind the creator's job) is planned again.
    report = asyncio.run(SceneCancelService(admin).cancel(scene_id))
    assert (report.jobs, report.segments, [n.job_id for n in report.others]) == (0, (2,), [job.id])
    assert (report.scene_status, report.rested, report.under_way) == (SceneStatus.IN_PROGRESS, False, (1,))
    assert _scene(creator, scene_id) is SceneStatus.IN_PROGRESS  # the creator's job is still under way
    assert _segments(creator, scene_id) == [Sg.QUEUED, Sg.PLANNED]
    [untouched] = _jobs(creator, scene_id)
    assert (JobStatus(untouched.status), untouched.cancel_requested, TakeStatus(untouched.take)) == (
        JobStatus.QUEUED, False, TakeStatus.GENERATING,
    )  # fmt: skip
    assert navigator.heard() == [TreeChanged("segments", scene_id)]  # the scene's status did not change
    assert navigator.scene(scene_id) == (SceneStatus.IN_PROGRESS, ())

    # The creator's job runs to its end; the director records it and, with nothing left to do, rests the scene.
    async def finish() -> None:
        await _dispatch(creator)
        done = await SceneDirector(creator).advance(scene_id)
        assert (done.complete, done.waiting, done.submitted) == (False, (), [])

    asyncio.run(finish())
    assert _segments(creator, scene_id) == [Sg.IN_REVIEW, Sg.PLANNED]
    assert _scene(creator, scene_id) is SceneStatus.IN_REVIEW
    assert TreeChanged("scenes", scene_id) in navigator.heard()
    assert navigator.scene(scene_id) == (SceneStatus.IN_REVIEW, ())
    again = asyncio.run(SceneDirector(creator).advance(scene_id))  # at rest: a later round changes nothing
    assert (again.complete, again.submitted, _scene(creator, scene_id)) == (False, [], SceneStatus.IN_REVIEW)


def test_a_cancelled_regeneration_keeps_the_current_take_and_its_status(
    studios: dict[str, Studio], navigator: Navigator
) -> None:
    creator = studios["creator"]

    async def main() -> int:
        scenes = SceneService(creator)
        scene_id = await scenes.find(SceneRef("Ada", "locks"), "Default")
        await scenes.start(scene_id)
        for _ in range(2):  # segment 1, then segment 2
            await SceneDirector(creator).advance(scene_id)
            await _dispatch(creator)
        assert (await SceneDirector(creator).advance(scene_id)).complete
        second = (await scenes.view(scene_id)).segments[1].current_take_id
        assert second is not None
        await TakeReviewService(creator).review(second, Verdict.APPROVE)
        assert _segments(creator, scene_id) == [Sg.IN_REVIEW, Sg.APPROVED]

        # Regenerate the approved segment 2, then cancel it: the approved take is still current.
        await scenes.regenerate(scene_id, 1, 1, Downstream.OFFER)
        assert len((await SceneDirector(creator).advance(scene_id)).submitted) == 1
        navigator.heard()
        report = await SceneCancelService(creator).cancel(scene_id)
        assert (len(report.cancelled), report.segments, report.kept) == (1, (2,), (SegmentNote(2, Sg.APPROVED),))
        assert (report.scene_status, report.rested) == (SceneStatus.IN_REVIEW, True)
        assert report.sentence() == (
            "Generation of Ada/locks cancelled: 1 job cancelled (segment 2). Segment 2 stopped and keeps its "
            "current take (approved). Ada/locks is in review: its segments with a take wait for a look."
        )
        assert _segments(creator, scene_id) == [Sg.IN_REVIEW, Sg.APPROVED]
        assert _scene(creator, scene_id) is SceneStatus.IN_REVIEW
        assert set(navigator.heard()) == {TreeChanged("scenes", scene_id), TreeChanged("segments", scene_id)}
        assert (await scenes.view(scene_id)).segments[1].current_take_id == second

        # Re-chain from segment 1 and cancel once segment 1 has its new take: segment 2's current take
        # started from the old one, and that seam was never measured.
        await scenes.regenerate(scene_id, 0, 0, Downstream.RECHAIN)
        await SceneDirector(creator).advance(scene_id)
        await _dispatch(creator)
        chained = await SceneDirector(creator).advance(scene_id)  # records segment 1, submits segment 2
        assert len(chained.finished) == len(chained.submitted) == 1
        rechain = await SceneCancelService(creator).cancel(scene_id)
        assert rechain.kept == (SegmentNote(2, Sg.GENERATED),)
        assert (rechain.scene_status, rechain.rested) == (SceneStatus.IN_REVIEW, True)
        assert _segments(creator, scene_id) == [Sg.IN_REVIEW, Sg.GENERATED]
        return scene_id

    scene_id = asyncio.run(main())
    assert navigator.scene(scene_id) == (SceneStatus.IN_REVIEW, ())
