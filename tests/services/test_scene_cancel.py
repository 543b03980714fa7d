"""Cancelling a scene's generation (services/scene_cancel.py) with real login roles, the ComfyUI stand-in
and the graded model-free workflow (2-segment scenes 'locks' and 'other' of Ada):

* a running job is interrupted on the server, the queued rest of the chain is stopped, the director
  following the scene returns at once with its locks given back, nothing further is chained, the
  scene and its segments are PLANNED again (nothing was generated), and Generate then completes it;
* another user's jobs are never touched (an admin cancelling the scene leaves the creator's job, and
  the scene stays in progress while it is under way; the creator cancelling leaves the admin's job
  of another scene), and a job that had already finished keeps its take, which the next director
  round records without chaining further, bringing the scene to rest (IN_REVIEW);
* a cancel landing while the director queues a job (the take exists, its job not yet): the job is
  cancelled as soon as it is queued.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.services.test_pipeline_e2e import server
from tests.services.test_pipeline_locks import _dispatch, _locks, _one, role_studios
from tests.services.test_pipeline_roles import roles_studio
from x121_desktop.core.enums import JobEventKind, JobStatus, SceneStatus, SegmentStatus, TakeStatus
from x121_desktop.core.pipeline.values import SceneRef
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest, SubmitResult
from x121_desktop.services.scene_cancel import JobNote, SceneCancelService
from x121_desktop.services.scene_director import SceneDirector
from x121_desktop.services.scenes import SceneService

__all__ = ["roles_studio", "server"]
P = ("--project", "Default")
HELD = {JobStatus.CLAIMED, JobStatus.UPLOADING, JobStatus.SUBMITTED, JobStatus.RUNNING, JobStatus.DOWNLOADING}


@pytest.fixture
def studios(
    roles_studio: SecureStudio, server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[dict[str, Studio]]:
    """Ada with 2-segment scenes 'locks' and 'other'; a studio each for creator and admin."""
    yield from role_studios(roles_studio, server, tmp_path, capsys, ("locks", "other"))


def _all(studio: Studio, sql: str, **params: object) -> list[Any]:
    from sqlalchemy import text

    with studio.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def _segments(studio: Studio, scene_id: int) -> list[SegmentStatus]:
    sql = "SELECT segment_status_id AS s FROM segments WHERE scene_id = :i ORDER BY position"
    return [SegmentStatus(r.s) for r in _all(studio, sql, i=scene_id)]


def _scene(studio: Studio, scene_id: int) -> SceneStatus:
    return SceneStatus(_all(studio, "SELECT scene_status_id AS s FROM scenes WHERE id = :i", i=scene_id)[0].s)


def _jobs(studio: Studio, scene_id: int) -> list[Any]:
    """The scene's jobs, oldest first: id, status, cancel_requested, take status."""
    return _all(
        studio,
        "SELECT j.id, j.job_status_id AS status, j.cancel_requested, t.take_status_id AS take FROM jobs j "
        "JOIN takes t ON t.id = j.take_id JOIN segments g ON g.id = t.segment_id WHERE g.scene_id = :s ORDER BY j.id",
        s=scene_id,
    )


def _cancel_events(studio: Studio, job_id: int) -> list[str]:
    kinds = (int(JobEventKind.CANCEL_REQUESTED), int(JobEventKind.CANCELLED))
    found = _all(studio, "SELECT job_event_kind_id AS k FROM job_events WHERE job_id = :j", j=job_id)
    return [JobEventKind(r.k).code for r in found if r.k in kinds]


async def queue_segment_one(creator: Studio) -> int:
    """Generate Ada/locks as `creator`: segment 1's job is queued (no dispatcher runs), segment 2 waits."""
    scene_id = await SceneService(creator).find(SceneRef("Ada", "locks"), "Default")
    await SceneService(creator).start(scene_id)
    assert len((await SceneDirector(creator).advance(scene_id)).submitted) == 1
    return scene_id


async def _until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.05)


def test_cancel_interrupts_the_running_job_stops_the_chain_and_the_director_then_generate_resumes(
    studios: dict[str, Studio], roles_studio: SecureStudio, server: ComfyTestServer
) -> None:
    creator = studios["creator"]
    role_c = roles_studio.roles["creator"]

    async def main() -> None:
        scene_id = await SceneService(creator).find(SceneRef("Ada", "locks"), "Default")
        await SceneService(creator).start(scene_id)
        server.faults.node_delay_s = 0.4  # a slow server: segment 1 is still running when the person cancels
        stop = asyncio.Event()
        dispatching = asyncio.create_task(Dispatcher(creator, servers=["gpu1"]).run(stop))
        director = SceneDirector(creator)
        settling = asyncio.create_task(director.settle(scene_id, timeout=120))
        try:
            await _until(lambda: [JobStatus(j.status) for j in _jobs(creator, scene_id)] == [JobStatus.RUNNING],
                         30, "segment 1's job running on the server")  # fmt: skip
            assert _locks(creator, scene_id) == {1: role_c}
            [job] = _jobs(creator, scene_id)

            report = await SceneCancelService(creator).cancel(scene_id)
            [note] = report.interrupted
            assert (note.job_id, note.segment, note.status in HELD) == (job.id, 1, True)
            assert (report.cancelled, report.finished, report.others, report.held) == ((), (), (), ())
            assert report.segments == (1, 2)  # segment 2 was queued behind it: it is not chained
            assert report.sentence() == (
                "Generation of Ada/locks cancelled: 1 running job interrupted (segment 1). "
                "Segments 1, 2 stopped; Generate queues them again. "
                "Ada/locks is planned again: no segment has a take to look at."
            )
            assert (report.scene_status, report.rested, report.under_way) == (SceneStatus.PLANNED, True, ())
            started = time.monotonic()
            settled = await asyncio.wait_for(settling, 10)
            took = time.monotonic() - started
            assert not settled.complete
            assert settled.waiting == ()  # nothing waits for a person: the segments are planned again
            assert took < 5.0, took  # woken by the cancel's job notice, not by a timeout
            assert _locks(creator, scene_id) == {}  # the director gave its lock back as it returned
            assert _segments(creator, scene_id) == [SegmentStatus.PLANNED] * 2
            assert _scene(creator, scene_id) is SceneStatus.PLANNED

            # the dispatcher interrupts the job on the server; no further segment was submitted
            await _until(lambda: JobStatus(_jobs(creator, scene_id)[0].status) is JobStatus.CANCELLED, 30,
                         "the dispatcher to interrupt the job")  # fmt: skip
            assert server.interrupt_flag()
            [ended] = _jobs(creator, scene_id)
            assert (ended.id, TakeStatus(ended.take)) == (job.id, TakeStatus.CANCELLED)
            assert _cancel_events(creator, job.id) == ["cancel_requested", "cancelled"]
            [activity] = _all(creator, "SELECT data FROM activity_events WHERE data->>'action' = 'cancel'")
            assert activity.data["interrupted_jobs"] == [job.id]
            assert activity.data["segments"] == [1, 2]
            assert activity.data["scene_status"] == "planned"

            # Generate again: both segments are queued anew and the chain completes
            server.faults.node_delay_s = 0.0
            await SceneService(creator).start(scene_id)
            done = await director.settle(scene_id, timeout=120)
            assert done.complete, done
            assert _segments(creator, scene_id) == [SegmentStatus.IN_REVIEW] * 2
            assert _scene(creator, scene_id) is SceneStatus.IN_REVIEW
            assert _locks(creator, scene_id) == {}
        finally:
            stop.set()
            await dispatching

    asyncio.run(main())


def test_other_users_jobs_are_never_touched_and_a_finished_job_keeps_its_take(
    studios: dict[str, Studio], roles_studio: SecureStudio
) -> None:
    creator, admin = studios["creator"], studios["admin"]
    role_c = roles_studio.roles["creator"]

    async def main() -> None:
        scene_id = await SceneService(creator).find(SceneRef("Ada", "locks"), "Default")
        other_id = await SceneService(admin).find(SceneRef("Ada", "other"), "Default")
        # the admin generates the other scene, the creator this one; no dispatcher yet: both jobs wait
        await SceneService(admin).start(other_id)
        assert len((await SceneDirector(admin).advance(other_id)).submitted) == 1
        [admins] = _jobs(admin, other_id)
        await SceneService(creator).start(scene_id)
        assert len((await SceneDirector(creator).advance(scene_id)).submitted) == 1
        [creators] = _jobs(creator, scene_id)

        # An admin may cancel anyone's one job, but cancelling a scene cancels only your own generation.
        by_admin = await SceneCancelService(admin).cancel(scene_id)
        assert by_admin.jobs == 0
        assert by_admin.others == (JobNote(creators.id, 1, JobStatus.QUEUED, role_c),)
        assert by_admin.segments == (2,)
        assert by_admin.sentence() == (
            "Generation of Ada/locks cancelled: no job of yours was queued or running. "
            f"Segment 2 stopped; Generate queues it again. Job {creators.id} (segment 1) belongs to {role_c} "
            "and was left running. Ada/locks stays in progress while segment 1 is still under way."
        )
        # the creator's job is still under way: the scene is not idle, and a director must go on driving it
        assert (by_admin.scene_status, by_admin.rested, by_admin.under_way) == (SceneStatus.IN_PROGRESS, False, (1,))
        assert _scene(admin, scene_id) is SceneStatus.IN_PROGRESS
        assert _segments(admin, scene_id) == [SegmentStatus.QUEUED, SegmentStatus.PLANNED]
        [still] = _jobs(creator, scene_id)
        assert (JobStatus(still.status), still.cancel_requested, TakeStatus(still.take)) == (
            JobStatus.QUEUED, False, TakeStatus.GENERATING,
        )  # fmt: skip
        assert _cancel_events(admin, creators.id) == []

        mine = await SceneCancelService(creator).cancel(scene_id)
        assert mine.cancelled == (JobNote(creators.id, 1, JobStatus.QUEUED),)
        assert mine.segments == (1,)
        assert (mine.scene_status, mine.rested) == (SceneStatus.PLANNED, True)  # now nothing is under way
        [gone] = _jobs(creator, scene_id)
        assert (JobStatus(gone.status), TakeStatus(gone.take)) == (JobStatus.CANCELLED, TakeStatus.CANCELLED)
        [untouched] = _jobs(admin, other_id)  # the admin's job of the other scene is as it was
        assert (untouched.id, JobStatus(untouched.status), untouched.cancel_requested) == (
            admins.id, JobStatus.QUEUED, False,
        )  # fmt: skip
        assert _cancel_events(admin, admins.id) == []

        # Generate again; the job runs before the person cancels: it had already finished
        await SceneService(creator).start(scene_id)
        again = await SceneDirector(creator).advance(scene_id)
        await _dispatch(creator)
        late = await SceneCancelService(creator).cancel(scene_id)
        [job] = [j for j in _jobs(creator, scene_id) if j.id != creators.id]
        assert late.finished == (JobNote(job.id, 1, JobStatus.SUCCEEDED),)
        assert (late.jobs, late.segments) == (0, (2,))
        assert late.sentence() == (
            "Generation of Ada/locks cancelled: no job of yours was queued or running. "
            "Segment 2 stopped; Generate queues it again. "
            "Segment 1's job had already finished (succeeded); its take is kept. "
            "Ada/locks stays in progress while segment 1 is still under way."
        )
        assert _scene(creator, scene_id) is SceneStatus.IN_PROGRESS  # its take is still to be recorded
        recorded = await SceneDirector(creator).advance(scene_id)  # records it and chains no further
        assert recorded.finished == again.submitted
        assert recorded.submitted == []
        assert _segments(creator, scene_id) == [SegmentStatus.IN_REVIEW, SegmentStatus.PLANNED]
        assert _scene(creator, scene_id) is SceneStatus.IN_REVIEW  # the director brought it to rest
        assert len(_jobs(creator, scene_id)) == 2
        assert _locks(creator, scene_id) == {}

    asyncio.run(main())


class _CancelWhileQueueing(JobQueueService):
    """The real queue; the person's cancel lands after the director made the take, before its job exists."""

    def __init__(self, studio: Studio, scene_id: int) -> None:
        super().__init__(studio)
        self.scene_id = scene_id
        self.reports: list[Any] = []
        self.studio = studio

    async def submit(self, request: SubmitRequest) -> SubmitResult:
        self.reports.append(await SceneCancelService(self.studio).cancel(self.scene_id))
        return await super().submit(request)


def test_a_cancel_while_the_director_queues_the_job_cancels_that_job(studios: dict[str, Studio]) -> None:
    creator = studios["creator"]

    async def main() -> None:
        scene_id = await SceneService(creator).find(SceneRef("Ada", "locks"), "Default")
        await SceneService(creator).start(scene_id)
        queue = _CancelWhileQueueing(creator, scene_id)
        report = await SceneDirector(creator, queue).advance(scene_id)
        [cancel] = queue.reports
        assert (cancel.jobs, cancel.segments) == (0, (1, 2))  # the take had no job yet
        assert report.submitted == []
        [job] = _jobs(creator, scene_id)
        assert (JobStatus(job.status), TakeStatus(job.take)) == (JobStatus.CANCELLED, TakeStatus.CANCELLED)
        assert _cancel_events(creator, job.id) == ["cancelled"]
        assert _segments(creator, scene_id) == [SegmentStatus.PLANNED] * 2
        assert _scene(creator, scene_id) is SceneStatus.PLANNED
        assert _locks(creator, scene_id) == {}
        count = _one(creator, "SELECT count(*) FROM jobs WHERE job_status_id = :q", q=int(JobStatus.QUEUED))[0]
        assert count == 0

    asyncio.run(main())


def test_a_segment_awaiting_the_directors_own_retry_is_stopped_too(
    studios: dict[str, Studio], roles_studio: SecureStudio
) -> None:
    creator = studios["creator"]

    async def main() -> None:
        scene_id = await SceneService(creator).find(SceneRef("Ada", "other"), "Default")
        await SceneService(creator).start(scene_id)
        assert len((await SceneDirector(creator).advance(scene_id)).submitted) == 1
        await _dispatch(creator)
        await SceneDirector(creator).advance(scene_id)  # records segment 1's take, queues segment 2
        await _dispatch(creator)
        await SceneDirector(creator).advance(scene_id)
        # as after a red seam the ladder could not heal: segment 2 needs regenerating, and its current
        # take is the first one, so the director would queue it again by itself
        with roles_studio.connect(SUPERUSER) as conn:
            conn.execute(
                "UPDATE segments SET segment_status_id = %s WHERE scene_id = %s AND position = 1",
                (int(SegmentStatus.NEEDS_REGEN), scene_id),
            )
        report = await SceneCancelService(creator).cancel(scene_id)
        assert report.segments == (2,)
        assert _segments(creator, scene_id) == [SegmentStatus.IN_REVIEW, SegmentStatus.CANCELLED]
        assert (report.kept, report.scene_status) == ((), SceneStatus.IN_REVIEW)  # segment 1 has a take to review
        after = await SceneDirector(creator).advance(scene_id)
        assert after.submitted == []  # not queued again behind the person's back
        assert after.waiting == (2,)  # it waits for a person
        assert len(_jobs(creator, scene_id)) == 2

    asyncio.run(main())


def test_x121_scene_cancel_says_what_it_did(
    studios: dict[str, Studio], roles_studio: SecureStudio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from x121_desktop.cli.main import main

    creator = studios["creator"]
    scene_id = asyncio.run(queue_segment_one(creator))
    [job] = _jobs(creator, scene_id)
    capsys.readouterr()
    base = ["--database-url", roles_studio.url("creator"), "--home", str(tmp_path / "home")]
    assert main([*base, "scene", "cancel", "Ada/locks", "--project", "Default", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [n["job_id"] for n in out["cancelled"]] == [job.id]
    assert out["segments"] == [1, 2]
    assert (out["scene_status"], out["rested"]) == (SceneStatus.PLANNED, True)
    assert out["sentence"] == (
        "Generation of Ada/locks cancelled: 1 job cancelled (segment 1). "
        "Segments 1, 2 stopped; Generate queues them again. "
        "Ada/locks is planned again: no segment has a take to look at."
    )
    assert main([*base, "scene", "cancel", "Ada/locks", "--project", "Default"]) == 0
    assert capsys.readouterr().out == "Ada/locks had no queued or running job of yours to cancel.\n"
