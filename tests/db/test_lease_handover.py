"""Revision 0015 for real login roles: a job that comes back to a paused queue waits there, and the revision
goes down and up again.

(A lapsed lease taken back whatever the policy: tests/db/test_job_rights.py and tests/db/test_job_queue.py; the
adoption by the next dispatcher, with the stand-in ComfyUI: tests/services/test_lease_handover.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import create_engine

from tests.db.job_rights_studio import MakeJob, Rights, made_jobs, no_pause_left, rights
from tests.db.security_studio import SUPERUSER, secure_studio
from x121_desktop.core.enums import JobStatus
from x121_desktop.db.repositories import job_dispatch, job_pauses
from x121_desktop.db.repositories import jobs as repo

__all__ = ["made_jobs", "no_pause_left", "rights", "secure_studio"]

LEASE = timedelta(seconds=30)
HOLDER = "ws-gone:1:abc"


pytestmark = pytest.mark.usefixtures("no_pause_left")


def _offered(x: Rights, who: str = "carl") -> set[int]:
    with x.engine(who).begin() as conn:
        _, found = job_dispatch.look(conn, 24, {x.studio.ids["server"]: 50})
    return {int(c.job.id) for c in found}


def test_a_job_back_in_a_paused_queue_waits_unclaimed_until_its_owner_resumes(
    rights: Rights, made_jobs: MakeJob
) -> None:
    job = made_jobs("creator")
    server = rights.studio.ids["server"]
    with rights.engine("carl").begin() as conn:  # Carl's workstation runs the creator's job, then goes silent
        assert job_dispatch.assign(conn, job, HOLDER, LEASE, server, {}) is not None
    with rights.engine("creator").begin() as conn:
        job_pauses.pause_queue(conn)
    with rights.connect(SUPERUSER) as conn:
        conn.execute("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = %s", (job,))
        conn.commit()
    with rights.engine("admin").begin() as conn:
        assert job in repo.reclaim_expired(conn)
    assert rights.one("SELECT job_status_id FROM jobs WHERE id = %s", job) == int(JobStatus.QUEUED)
    for who in ("carl", "admin"):  # no look offers it, and the database turns a direct take into a no-op
        assert job not in _offered(rights, who), who
        with rights.engine(who).begin() as conn:
            assert job_dispatch.assign(conn, job, HOLDER, LEASE, server, {}) is None, who
    with rights.engine("creator").begin() as conn:
        job_pauses.resume_queue(conn)
    assert job in _offered(rights)
    with rights.engine("carl").begin() as conn:
        claimed = job_dispatch.assign(conn, job, HOLDER, LEASE, server, {})
    assert claimed is not None
    assert (claimed.status, claimed.attempts) == (JobStatus.CLAIMED, 2)


def test_downgrade_restores_the_earlier_rules_and_upgrade_brings_these_back(new_database: Callable[[], str]) -> None:
    from alembic import command

    from x121_desktop.db.migrate import alembic_config, upgrade

    engine = create_engine(new_database())

    def bodies() -> tuple[str, str]:
        with engine.connect() as conn:
            found = dict(
                conn.exec_driver_sql(
                    "SELECT proname, prosrc FROM pg_proc "
                    "WHERE proname IN ('x121_guard_job_update', 'x121_guard_job_hold')"
                ).all()
            )
        return found["x121_guard_job_update"], found["x121_guard_job_hold"]

    try:
        upgrade(engine)
        update, hold = bodies()
        assert "was <> 10" in update
        assert "p.user_id = OLD.owner_id" in hold
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0014")
        update, hold = bodies()
        assert "was <> 10" not in update
        assert "WHEN OLD.redispatch_allowed AND OLD.attempts < OLD.max_attempts THEN 1 ELSE 8 END;" in update
        assert "p.user_id = OLD.owner_id" not in hold
        assert upgrade(engine).up_to_date
        assert "was <> 10" in bodies()[0]
    finally:
        engine.dispose()
