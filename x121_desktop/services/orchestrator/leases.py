"""A dispatcher's leases over its life: renewed while it runs, others' lapsed ones taken back, its own handed
back when it stops.

Every `lease_s / 3` the heartbeat renews the leases of the jobs this dispatcher runs (a job whose lease
another dispatcher took meanwhile is let go), passes on cancel requests it missed by NOTIFY, re-reads
the servers' measured speeds and takes back the jobs of dispatchers that stopped renewing
(`job_leases.reclaim_expired_jobs`: queued again for adoption, docs/QUEUE.md "A dispatcher that stops"; a
job whose owner asked to cancel it ends cancelled, and its prompt is stopped on its server).

At a stop, claims not yet submitted are released to the queue at once (their upload thread will not
POST them); submitted ones are followed for `grace_s`, after which their leases are left to lapse, so
that another dispatcher adopts their prompts by prompt_id instead of running them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from x121_desktop.core.enums import JobStatus
from x121_desktop.core.errors import ComfyError, X121Error
from x121_desktop.core.ids import ServerId
from x121_desktop.db.repositories import job_leases, job_runs
from x121_desktop.services.orchestrator.fleet import measured_speeds

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from x121_desktop.core.ids import JobId
    from x121_desktop.db.repositories.job_records import ReclaimedJob
    from x121_desktop.services.orchestrator.dispatcher import Dispatcher

log = logging.getLogger(__name__)


async def keep(d: Dispatcher) -> None:
    """The heartbeat, until cancelled."""
    while True:
        await asyncio.sleep(d.lease_s / 3.0)
        mine = list(d.runners)

        def beat(conn: Connection, mine: list[JobId] = mine) -> tuple[set[JobId], set[JobId], list[ReclaimedJob]]:
            held, cancel = job_runs.renew(conn, d.holder, mine, timedelta(seconds=d.lease_s))
            d.use_speeds(*measured_speeds(conn, [h.row for h in d.fleet.handles.values()]))
            return held, cancel, job_leases.reclaim_expired_jobs(conn)

        try:
            held, cancel, reclaimed = await d.runtime.run(d.db_pool, d.tx, beat)
        except Exception:
            log.exception("lease heartbeat failed; retrying")
            continue
        if reclaimed:
            log.info("reclaimed jobs %s from dispatchers that stopped renewing", [r.job_id for r in reclaimed])
            d.wake()
            for job in reclaimed:
                if job.status is JobStatus.CANCELLED:
                    _stop_orphan(d, job)
        for job_id in cancel:
            d.request_cancel(job_id)
        for job_id in set(mine) - held:
            entry = d.runners.get(job_id)
            if entry is not None:
                entry[1].cancel()


async def hand_back(d: Dispatcher) -> None:
    """At a stop: release claims not yet submitted; follow submitted ones for `grace_s`, then let them go."""
    for job_id, (runner, task) in list(d.runners.items()):
        if runner.abandon():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

            def give_back(conn: Connection, jid: JobId = job_id) -> object:
                try:
                    return job_leases.release(conn, jid, d.holder, "dispatcher stopping")
                except X121Error:
                    return None  # no longer ours

            await d.runtime.run(d.db_pool, d.tx, give_back)
    tasks = [t for _, t in d.runners.values()]
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=d.grace_s)
        for task in pending:
            task.cancel()  # leases lapse; another dispatcher adopts these prompts


def _stop_orphan(d: Dispatcher, job: ReclaimedJob) -> None:
    """A cancelled job taken back from a stopped dispatcher: its prompt may still be queued or running on its
    server, spending GPU time on a result nobody will collect; stop it there (when this fleet follows that
    server; best effort, on the io pool: the job has ended whatever the server says)."""
    handle = d.fleet.handles.get(ServerId(job.server_id)) if job.server_id is not None else None
    if handle is None or not job.prompt_id:
        return

    def stop() -> None:
        try:
            handle.client.delete_from_queue([job.prompt_id])
            handle.client.interrupt(job.prompt_id)
        except ComfyError as exc:
            log.warning("job %s: could not stop its prompt on %s: %s", job.job_id, handle.row.name, exc.sentence)

    d.runtime.io.submit(stop)
