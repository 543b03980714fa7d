"""Measured server speed (`job_runs.measured_throughput`) on a real PostgreSQL: work estimate per billed GPU second."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.db.job_queue_studio import holder, new_job, queue_db, su_engine, wipe_jobs
from tests.db.security_studio import SecureStudio, secure_studio
from tests.db.test_job_dispatch import LEASE
from x121_desktop.core.enums import ServerStatus
from x121_desktop.db.repositories import job_dispatch, job_runs
from x121_desktop.db.repositories import jobs as repo

__all__ = ["queue_db", "secure_studio", "su_engine"]


def test_throughput_is_estimated_work_over_gpu_seconds_of_the_last_jobs(
    queue_db: Engine, secure_studio: SecureStudio
) -> None:
    owner = secure_studio.user_ids["creator"]
    with queue_db.begin() as conn:
        fast, slow, idle = (
            int(
                conn.execute(
                    text(
                        "INSERT INTO comfy_servers (name, base_url, server_status_id, slots, queued_slots) "
                        "VALUES (:n, :u, :s, 1, 0) RETURNING id"
                    ),
                    {"n": f"speed-{n}", "u": f"http://speed-{n}:8188", "s": int(ServerStatus.ONLINE)},
                ).scalar_one()
            )
            for n in ("fast", "slow", "idle")
        )
        billed = [(fast, 800.0, 2.0), (fast, 400.0, 2.0), (slow, 100.0, 4.0), (slow, None, 50.0), (fast, 9e9, 3.0)]
        for server, work, seconds in billed:
            job = repo.enqueue(conn, new_job(owner, work_estimate=work)).id
            job_dispatch.assign(conn, job, holder("w"), LEASE, server, {})
            job_runs.record_cost(conn, job, server, seconds)
    try:
        with queue_db.begin() as conn:
            speeds = job_runs.measured_throughput(conn, last=2)
        # fast: its last two billed jobs (9e9 / 3 s is the latest, then 400 / 2 s); slow: only the job with an
        # estimate counts (100 / 4 s); idle: no history, so no figure
        assert speeds == {fast: (9e9 + 400.0) / 5.0, slow: 25.0}
        assert idle not in speeds
    finally:
        wipe_jobs(queue_db)
        with queue_db.begin() as conn:
            conn.execute(text("DELETE FROM comfy_servers WHERE name LIKE 'speed-%'"))
