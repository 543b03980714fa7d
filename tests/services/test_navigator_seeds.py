"""Seeds in the navigator (revision 0016): a character's seed counts and the seed kinds a job is generating, as a
reviewer's login reads them; a seed added or a hero changed is heard on `x121_scenes`, other seed edits are not.
And revision 0016 downgrades and upgrades again."""

from __future__ import annotations

import asyncio
import queue
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from tests.services.test_navigator import _heard
from x121_desktop.core.enums import ActivityKind, JobKind, JobStatus, SeedKind, SeedOrigin
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.db.repositories import scenes as scene_repo
from x121_desktop.services.navigator import NavigatorService, NavigatorTree, TreeChanged
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.seed_generation import PURPOSE

__all__ = ["secure_studio"]


def _ada(tree: NavigatorTree) -> tuple[int, int, tuple[SeedKind, ...]]:
    [project] = tree.projects
    [character] = project.characters
    return character.seeds_a, character.seeds_b, character.generating


def test_seed_counts_generation_and_seed_notices_as_a_reviewer_sees_them(secure_studio: SecureStudio) -> None:
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("reviewer")), pool_size=1)
    service = NavigatorService(session_factory(engine), runtime)
    notices: queue.Queue[TreeChanged] = queue.Queue()
    listener = service.listen(notices.put)
    su = secure_studio.connect(SUPERUSER, autocommit=True)
    ids, creator = secure_studio.ids, secure_studio.user_ids["creator"]
    character = ids["character"]
    owner = create_engine(secure_studio.url(SUPERUSER), pool_size=1)
    try:
        assert listener.wait_listening(5)
        assert _ada(asyncio.run(service.tree())) == (1, 1, ())
        new_b = su.execute(
            "INSERT INTO seed_images (character_id, seed_kind_id, file_id, seed_origin_id, created_by) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (character, SeedKind.B, ids["file_free"], SeedOrigin.GIVEN, creator),
        ).fetchone()[0]  # type: ignore[index]
        assert _heard(notices) == [TreeChanged("seed_images", character)]
        with su.transaction():  # the hero moves: two rows, one transaction, one notice
            su.execute("UPDATE seed_images SET is_hero = false WHERE id = %s", (ids["seed_b"],))
            su.execute("UPDATE seed_images SET is_hero = true WHERE id = %s", (new_b,))
        assert _heard(notices) == [TreeChanged("seed_images", character)]
        su.execute("UPDATE seed_images SET note = 'warmer' WHERE id = %s", (new_b,))
        assert _heard(notices) == []  # nothing the navigator shows
        assert _ada(asyncio.run(service.tree())) == (1, 2, ())

        # a Seed A being generated for Ada: the request kept beside its job, as JobSeedGenerator keeps it
        job = su.execute(
            "INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id, project_id) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (uuid.uuid4(), creator, JobKind.SEED_GENERATE, JobStatus.QUEUED, ids["project"]),
        ).fetchone()[0]  # type: ignore[index]
        data = {"purpose": PURPOSE, "character_id": character, "kind": "a", "source_seed_id": new_b, "workflow": "w"}
        with owner.begin() as conn:
            scene_repo.add_activity(conn, ActivityKind.JOB_QUEUED, ids["project"], data, job_id=job)
        assert _ada(asyncio.run(service.tree())) == (1, 2, (SeedKind.A,))
        su.execute("UPDATE jobs SET job_status_id = %s WHERE id = %s", (JobStatus.CANCELLED, job))
        assert _ada(asyncio.run(service.tree())) == (1, 2, ())  # a cancelled generation makes nothing
    finally:
        listener.stop()
        su.close()
        owner.dispose()
        runtime.shutdown()
        engine.dispose()


def test_revision_0016_downgrades_and_upgrades_again(new_database: Callable[[], str]) -> None:
    from alembic import command

    from x121_desktop.db.migrate import alembic_config, upgrade

    trigger = "SELECT count(*) FROM pg_trigger WHERE tgname = 'x121_notify_seeds'"
    column = (
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'projects' AND column_name = 'settings'"
    )
    engine = create_engine(new_database())
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert (conn.execute(text(trigger)).scalar_one(), conn.execute(text(column)).scalar_one()) == (1, 1)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0015")
        with engine.connect() as conn:
            assert (conn.execute(text(trigger)).scalar_one(), conn.execute(text(column)).scalar_one()) == (0, 0)
        assert upgrade(engine).up_to_date
        with engine.connect() as conn:
            assert (conn.execute(text(trigger)).scalar_one(), conn.execute(text(column)).scalar_one()) == (1, 1)
    finally:
        engine.dispose()
