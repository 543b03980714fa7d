"""The Jobs and Servers panels' services on a real database with real logins (tests/db/security_studio.py).

Each action is one transaction as the signed-in studio user: an explicit retry is a new job linked
both ways, move-to-front reorders only the owner's own jobs, cancelling another user's job is
refused with its sentence and changes nothing, and server drain/remove follow the database's grants.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import JobEventKind, JobStatus, ServerStatus
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.job_board import BoardFilter, JobBoardService, Progress
from x121_desktop.services.job_board_text import describe_event
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest
from x121_desktop.services.server_board import ServerBoardService

__all__ = ["secure_studio"]


@pytest.fixture
def studio_as(secure_studio: SecureStudio, tmp_path: Path) -> Iterator[Callable[[str], Studio]]:
    opened: list[Studio] = []

    def make(who: str) -> Studio:
        studio = open_studio(LaunchOptions(database_url=secure_studio.url(who), home=str(tmp_path / "home")))
        opened.append(studio)
        return studio

    yield make
    for studio in opened:
        studio.close()


def _submit(studio: Studio, seed: int, priority: int = 0) -> int:
    request = SubmitRequest("wan-i2v", {"seed": seed}, priority=priority, use_cache=False)
    return int(asyncio.run(JobQueueService(studio).submit(request)).job.id)


def _priorities(s: SecureStudio, ids: list[int]) -> list[int]:
    with s.connect(SUPERUSER) as conn:
        return [int(conn.execute("SELECT priority FROM jobs WHERE id = %s", (i,)).fetchone()[0]) for i in ids]  # type: ignore[index]


def test_retry_makes_a_new_linked_job_with_the_same_version_inputs_and_seed(
    studio_as: Callable[[str], Studio], secure_studio: SecureStudio
) -> None:
    creator = studio_as("creator")
    board = JobBoardService(creator)
    old = _submit(creator, seed=42)
    with pytest.raises(InvalidInput, match=f"Job {old} is queued; only a failed or cancelled job can be retried"):
        asyncio.run(board.retry(old))
    assert asyncio.run(board.cancel(old)) == f"Job {old} was cancelled."
    new = int(asyncio.run(board.retry(old)))
    assert new != old
    queue = JobQueueService(creator)
    before, after = asyncio.run(queue.status(old)), asyncio.run(queue.status(new))
    assert after.status is JobStatus.QUEUED
    assert before.status is JobStatus.CANCELLED
    assert after.workflow_version_id == before.workflow_version_id == secure_studio.ids["workflow_version"]
    assert after.inputs == before.inputs
    assert after.inputs["params"]["seed"] == 42
    assert after.cache_key == before.cache_key
    assert after.prompt_id != before.prompt_id
    [row] = [r for r in asyncio.run(board.rows(BoardFilter(mine=True))) if r.id == new]
    assert row.retry_of == old
    assert row.workflow == "wan-i2v v1"
    details = asyncio.run(board.details(old))
    assert details.retried_as == (new,)
    assert details.events[-1].kind is JobEventKind.LOG
    assert details.events[-1].text == f"Retried as job {new}"
    assert [e.text for e in asyncio.run(board.details(new)).events] == ["Created", f"Retry of job {old}"]


def test_move_to_front_reorders_only_the_owners_own_jobs(
    studio_as: Callable[[str], Studio], secure_studio: SecureStudio
) -> None:
    creator, admin = studio_as("creator"), studio_as("admin")
    other_first = _submit(admin, seed=1)
    mine = [_submit(creator, seed=s) for s in (2, 3, 4)]
    other_high = _submit(admin, seed=5, priority=5)
    board = JobBoardService(creator)
    assert asyncio.run(board.move_to_front(mine[2])) == 0
    assert _priorities(secure_studio, [*mine, other_first, other_high]) == [-1, -1, 0, 0, 5]
    assert asyncio.run(board.move_to_front(mine[2])) == 0  # already first of its owner's: nothing changes
    assert _priorities(secure_studio, mine) == [-1, -1, 0]
    with pytest.raises(PermissionDenied, match=f"Job {other_first} belongs to another user"):
        asyncio.run(board.move_to_front(other_first))
    # an admin moves a job to the front of the whole queue
    assert asyncio.run(JobBoardService(admin).move_to_front(mine[0])) == 6
    texts = [e.text for e in asyncio.run(board.details(mine[0])).events]
    assert texts[-2:] == [f"Stepped down behind job {mine[2]}", "Moved to the front of the whole queue"]


def test_a_creator_cannot_cancel_another_users_job_and_nothing_changes(
    studio_as: Callable[[str], Studio], secure_studio: SecureStudio
) -> None:
    creator, admin = studio_as("creator"), studio_as("admin")
    theirs, mine = _submit(admin, seed=1), _submit(creator, seed=2)
    board = JobBoardService(creator)
    with pytest.raises(PermissionDenied) as refused:
        asyncio.run(board.cancel(theirs))
    assert refused.value.sentence == (
        f"Job {theirs} belongs to another user. Ask its owner or a studio admin to cancel it"
    )
    everyone = {r.id: r for r in asyncio.run(board.rows(BoardFilter()))}
    assert everyone[theirs].status is JobStatus.QUEUED
    assert everyone[mine].status is JobStatus.QUEUED
    assert asyncio.run(board.cancel(mine)) == f"Job {mine} was cancelled."
    assert asyncio.run(JobBoardService(admin).cancel(theirs)) == f"Job {theirs} was cancelled."
    here = {theirs, mine}
    assert {r.id for r in asyncio.run(board.rows(BoardFilter(mine=True)))} & here == {mine}
    cancelled = asyncio.run(board.rows(BoardFilter(statuses=(JobStatus.CANCELLED,), text="wan-i2v")))
    assert {r.id for r in cancelled} & here == here
    assert not {r.id for r in asyncio.run(board.rows(BoardFilter(statuses=(JobStatus.QUEUED,))))} & here
    assert [r.id for r in asyncio.run(board.rows(BoardFilter(text=f"#{mine}")))] == [mine]


def test_servers_drain_resume_and_remove_follow_the_database_grants(
    studio_as: Callable[[str], Studio], secure_studio: SecureStudio
) -> None:
    creator, admin = ServerBoardService(studio_as("creator")), ServerBoardService(studio_as("admin"))
    with pytest.raises(PermissionDenied):
        asyncio.run(creator.drain("gpu-1"))
    drained = asyncio.run(admin.drain("gpu-1"))
    assert (drained.status, drained.enabled) == (ServerStatus.DRAINING, False)
    check = asyncio.run(admin.resume("gpu-1"))  # nobody answers at http://gpu-1:8188
    assert check.server.enabled
    assert check.server.status is ServerStatus.OFFLINE
    assert check.problem is not None
    assert "cannot be reached" in check.problem
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute("UPDATE jobs SET server_id = %s", (secure_studio.ids["server"],))
    with pytest.raises(InvalidInput, match="has run jobs, so its records keep it registered"):
        asyncio.run(admin.remove("gpu-1"))
    asyncio.run(admin.add("spare", "http://127.0.0.1:9"))
    with pytest.raises(PermissionDenied):
        asyncio.run(creator.remove("spare"))
    assert asyncio.run(admin.remove("spare")) == "ComfyUI server 'spare' was removed."
    rows = asyncio.run(creator.rows())
    assert [r.server.name for r in rows] == ["gpu-1"]
    assert rows[0].current_jobs == ()
    assert rows[0].seconds_per_job is None


def test_a_running_jobs_row_carries_its_latest_node_progress(
    studio_as: Callable[[str], Studio], secure_studio: SecureStudio
) -> None:
    creator = studio_as("creator")
    job = _submit(creator, seed=9)
    with secure_studio.connect(SUPERUSER) as conn:  # what the runner records while ComfyUI reports steps
        conn.execute(
            "UPDATE jobs SET job_status_id = %s, lease_holder = 'w:1', lease_expires_at = now() + interval '1 min', "
            "started_at = now(), server_id = %s WHERE id = %s",
            (int(JobStatus.RUNNING), secure_studio.ids["server"], job),
        )
        for value in (3, 7):
            conn.execute(
                "INSERT INTO job_events (job_id, job_event_kind_id, attempt_no, data) VALUES (%s, %s, 1, %s::jsonb)",
                (job, int(JobEventKind.PROGRESS), f'{{"node": "5", "value": {value}, "max": 20}}'),
            )
    [row] = [r for r in asyncio.run(JobBoardService(creator).rows(BoardFilter(mine=True))) if r.id == job]
    assert (row.status, row.server, row.progress) == (JobStatus.RUNNING, "gpu-1", Progress("5", 7, 20))


def test_event_sentences_name_the_node_exception_server_and_redispatch() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    failed = describe_event(
        1,
        JobEventKind.FAILED,
        at,
        1,
        {
            "node_id": "4",
            "node_type": "LoadImage",
            "exception_type": "OSError",
            "exception_message": "truncated",
            "error": "Node 4 (LoadImage) failed on a: OSError: truncated",
        },
    )
    assert (failed.text, failed.failure) == ("Failed at node 4 (LoadImage): OSError: truncated", True)
    lost = describe_event(
        2, JobEventKind.LOST, at, 1, {"reason": "socket gone", "server": "a", "will_redispatch": True}
    )
    assert lost.text == "Lost on a: socket gone; it will be re-dispatched"
    again = describe_event(3, JobEventKind.REQUEUED, at, 1, {"redispatched": True, "from_server": "a"})
    assert again.text == "Queued again for another server (was on a, same prompt id)"
    expired = describe_event(4, JobEventKind.LOST, at, 2, {"holder": "box:12", "was": "running"})
    assert expired.text == "Lost: box:12"
    refused = describe_event(5, JobEventKind.FAILED, at, None, {"error": "No server has VHS_VideoCombine", "x": 1})
    assert refused.text == "Failed: No server has VHS_VideoCombine (x=1)"
