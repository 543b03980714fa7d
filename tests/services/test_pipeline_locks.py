"""Segment locks in the production pipeline, with real login roles (tests/db/security_studio.py), the
ComfyUI stand-in and the graded model-free workflow:

* the director generating a segment holds its lock for the acting user (renewed in the
  background) and releases it when the segment settles, when its job fails or is cancelled, and
  when the director is cancelled; someone else's regenerate is refused up front with one sentence;
* another user's dispatcher runs the holder's job, and another user's director records its take
  on the holder's behalf (revision 0009), but may not put the segment in review itself;
* when someone else takes the segment over, the first user's finished job waits (one sentence)
  and is recorded once the lock is released; the chain then completes with no lock left behind.
* a director cancelled while its acquire is still running in the database gives the lock back
  before it ends (it used to lapse only after the lease).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.services.pipeline_studio import SMALL, setup_graded_studio
from tests.services.test_pipeline_e2e import Cli, server
from tests.services.test_pipeline_roles import roles_studio
from x121_desktop.core.enums import JobStatus, SceneStatus, SegmentStatus, TakeStatus
from x121_desktop.core.pipeline.values import SceneRef
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.locks import LockHeld, LockService
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.orchestrator.queue import JobQueueService
from x121_desktop.services.scene_director import SceneDirector
from x121_desktop.services.scenes import Downstream, SceneService

__all__ = ["roles_studio", "server"]
P = ("--project", "Default")  # the populated studio has another Ada in project Privileges
WAIT = "Wait for it to be released, or ask an admin to break it"


def role_studios(
    roles: SecureStudio, server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    scenes: tuple[str, ...] = ("locks",),
) -> Iterator[dict[str, Studio]]:  # fmt: skip
    """Ada with a 2-segment scene of each name; a studio each for creator and admin (one shared media store)."""
    home = tmp_path / "home"
    owner = Cli(roles.url(SUPERUSER), home, capsys)
    setup_graded_studio(owner, server, tmp_path)
    with roles.connect(SUPERUSER) as conn:  # the populated studio's placeholder job has no prompt
        conn.execute("UPDATE jobs SET job_status_id = %s", (int(JobStatus.CANCELLED),))
    for name in scenes:
        owner("scene", "create", "Ada", name, "--workflow", "graded", "--duration", "21-25f", *SMALL, *P)
    opened = {who: open_studio(LaunchOptions(database_url=roles.url(who), home=str(home)))
              for who in ("creator", "admin")}  # fmt: skip
    try:
        yield opened
    finally:
        for studio in opened.values():
            studio.close()


@pytest.fixture
def studios(
    roles_studio: SecureStudio, server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[dict[str, Studio]]:
    """Ada with a 2-segment scene 'locks'; a studio each for creator and admin."""
    yield from role_studios(roles_studio, server, tmp_path, capsys)


def _locks(studio: Studio, scene_id: int) -> dict[int, str]:
    """Live locks on the scene's segments: segment number → holder's role."""
    with studio.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT g.position + 1, u.role_name FROM segment_locks l JOIN segments g ON g.id = l.segment_id "
                "JOIN users u ON u.id = l.holder_id WHERE g.scene_id = :s AND l.expires_at > now()"
            ),
            {"s": scene_id},
        )
        return {int(r[0]): str(r[1]) for r in rows}


def _one(studio: Studio, sql: str, **params: object) -> Any:
    with studio.engine.connect() as conn:
        return conn.execute(text(sql), params).one()


async def _dispatch(studio: Studio) -> None:
    """One `x121 worker --servers gpu1 --once` of this user: runs every queued job on the stand-in (the
    populated studio's other server is a name with nothing behind it)."""
    await Dispatcher(studio, servers=["gpu1"], once=True, grace_s=5.0).run()


def test_the_holder_keeps_its_segment_another_users_director_records_the_holders_job(
    studios: dict[str, Studio], roles_studio: SecureStudio
) -> None:
    creator, admin = studios["creator"], studios["admin"]
    role_c, role_a = roles_studio.roles["creator"], roles_studio.roles["admin"]

    async def main() -> None:
        scene_id = await SceneService(creator).find(SceneRef("Ada", "locks"), "Default")
        await SceneService(creator).start(scene_id)
        mine = SceneDirector(creator)
        first = await mine.advance(scene_id, keep_locks=True)
        assert len(first.submitted) == 1
        assert _locks(creator, scene_id) == {1: role_c}  # held while segment 1 generates

        with pytest.raises(LockHeld) as refused:  # someone else is refused before anything is written
            await SceneService(admin).regenerate(scene_id, 0, 1, Downstream.OFFER)
        assert re.fullmatch(
            rf"Segment 1 of Ada/locks is locked by {role_c} on \S+ \(\d+ s left\)\. {WAIT}", refused.value.sentence
        ), refused.value.sentence

        await _dispatch(admin)  # another user's dispatcher runs the holder's job
        theirs = SceneDirector(admin)
        recorded = await theirs.advance(scene_id)  # ... and another user's director records its take
        assert recorded.finished == first.submitted
        [take] = first.submitted
        status, actor = _one(
            admin,
            "SELECT t.take_status_id, u.role_name FROM takes t JOIN activity_events e ON e.take_id = t.id "
            "AND e.activity_kind_id = 10 JOIN users u ON u.id = e.actor_id WHERE t.id = :t",
            t=take,
        )
        assert (TakeStatus(status), actor) == (TakeStatus.READY, role_a)
        [sentence] = recorded.blocked  # putting segment 1 in review is the holder's
        assert sentence.startswith(f"Segment 1 of Ada/locks is locked by {role_c} on ")
        assert sentence.endswith(f", so putting it in review waits. {WAIT}")
        assert _locks(admin, scene_id) == {1: role_c}  # the admin's director took no lock

        second = await mine.advance(scene_id, keep_locks=True)  # the holder reviews 1, generates 2
        assert len(second.submitted) == 1
        assert _locks(creator, scene_id) == {2: role_c}  # segment 1 settled: released

        # The admin breaks the lock and takes segment 2 over: the creator's finished job must wait.
        admin_locks = LockService(admin.engine, admin.runtime)
        segment_2 = int(_one(admin, "SELECT id FROM segments WHERE scene_id = :s AND position = 1", s=scene_id)[0])
        assert await admin_locks.break_lock(segment_2, "taking segment 2 over")
        grant = await admin_locks.acquire(segment_2)
        await _dispatch(admin)
        waiting = await mine.advance(scene_id, keep_locks=True)
        assert waiting.finished == []
        [sentence] = waiting.blocked
        assert sentence.startswith(f"Segment 2 of Ada/locks is locked by {role_a} on ")
        assert "was submitted by someone else, so its take is recorded once the lock is released." in sentence
        await admin_locks.release(grant)

        done = await mine.settle(scene_id, timeout=60)
        assert done.complete, done
        assert done.failed == []
        assert _locks(creator, scene_id) == {}  # nothing left behind

    asyncio.run(main())
    status = _one(creator, "SELECT scene_status_id FROM scenes WHERE name = 'locks'")[0]
    assert SceneStatus(status) is SceneStatus.IN_REVIEW


def test_the_lock_is_released_when_the_job_is_cancelled_and_when_the_director_is(
    studios: dict[str, Studio], roles_studio: SecureStudio
) -> None:
    creator = studios["creator"]
    role_c = roles_studio.roles["creator"]

    async def main() -> None:
        scene_id = await SceneService(creator).find(SceneRef("Ada", "locks"), "Default")
        await SceneService(creator).start(scene_id)
        director = SceneDirector(creator)
        report = await director.advance(scene_id, keep_locks=True)
        assert _locks(creator, scene_id) == {1: role_c}
        job = int(_one(creator, "SELECT id FROM jobs WHERE take_id = :t", t=report.submitted[0])[0])
        await JobQueueService(creator).cancel(job)  # queued, so cancelled at once
        after = await director.advance(scene_id, keep_locks=True)
        assert after.failed == ["Segment 1: generation cancelled (no reason given)"]
        assert _locks(creator, scene_id) == {}  # the segment failed: its lock is released
        segment = _one(creator, "SELECT segment_status_id FROM segments WHERE scene_id = :s AND position = 0",
                       s=scene_id)  # fmt: skip
        assert SegmentStatus(segment[0]) is SegmentStatus.FAILED

        await SceneService(creator).start(scene_id)  # generate again, and cancel the director meanwhile
        settling = asyncio.create_task(director.settle(scene_id, timeout=60))
        for _ in range(200):
            if _locks(creator, scene_id):
                break
            await asyncio.sleep(0.05)
        assert _locks(creator, scene_id) == {1: role_c}
        settling.cancel()
        with pytest.raises(asyncio.CancelledError):
            await settling
        assert _locks(creator, scene_id) == {}

    asyncio.run(main())


def test_a_director_cancelled_while_taking_a_lock_gives_it_back_at_once(
    studios: dict[str, Studio], roles_studio: SecureStudio
) -> None:
    """The acquire runs in the db_writer executor, which cancelling the director cannot stop: it is held
    inside the database (another transaction holds segment 1's row, which the new lock's foreign key
    needs) while the director is cancelled, then let go. The grant it still makes is released before
    the cancelled director ends; it used to be left to lapse after DIRECTOR_TTL_S seconds."""
    creator = studios["creator"]

    async def main() -> None:
        scene_id = await SceneService(creator).find(SceneRef("Ada", "locks"), "Default")
        await SceneService(creator).start(scene_id)
        with roles_studio.connect(SUPERUSER) as blocker, roles_studio.connect(SUPERUSER, autocommit=True) as watch:
            blocker.execute("SELECT 1 FROM segments WHERE scene_id = %s AND position = 0 FOR UPDATE", (scene_id,))
            settling = asyncio.create_task(SceneDirector(creator).settle(scene_id, timeout=60))
            for _ in range(400):  # until the director's acquire waits for the row inside the database
                waiting = watch.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
                if (waiting is not None and waiting[0] > 0) or settling.done():
                    break
                await asyncio.sleep(0.025)
            assert not settling.done()
            assert _locks(creator, scene_id) == {}
            settling.cancel()
            await asyncio.sleep(0.05)  # the cancel is delivered while the acquire still waits
            blocker.rollback()  # ... and now it goes on, and grants the lock
            with pytest.raises(asyncio.CancelledError):
                await settling
        # Every write this client queued (the acquire included) has ended; the lock is not left behind.
        await creator.runtime.run(creator.runtime.db_writer, lambda: None)
        assert _locks(creator, scene_id) == {}

    asyncio.run(main())
