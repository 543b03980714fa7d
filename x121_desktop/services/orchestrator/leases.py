"""A dispatcher's leases over its life: renewed while it runs, others' lapsed ones taken back, its own handed
back when it stops.

Every `lease_s / 3` the heartbeat renews the leases of the jobs this dispatcher runs (a job whose lease
another dispatcher took meanwhile is let go), passes on cancel requests it missed by NOTIFY, re-reads
the servers' measured speeds and takes back the jobs of dispatchers that stopped renewing
(`job_leases.reclaim_expired`: queued again for adoption, docs/QUEUE.md "A dispatcher that stops").

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

from x121_desktop.core.errors import X121Error
from x121_desktop.db.repositories import job_leases, job_runs
from x121_desktop.services.orchestrator.fleet import measured_speeds

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from x121_desktop.core.ids import JobId
    from x121_desktop.services.orchestrator.dispatcher import Dispatcher

log = logging.getLogger(__name__)


async def keep(d: Dispatcher) -> None:
    """The heartbeat, until cancelled."""
    while True:
        await asyncio.sleep(d.lease_s / 3.0)
        mine = list(d.runners)

        def beat(conn: Connection, mine: list[JobId] = mine) -> tuple[set[JobId], set[JobId], list[JobId]]:
            held, cancel = job_runs.renew(conn, d.holder, mine, timedelta(seconds=d.lease_s))
            d.use_speeds(*measured_speeds(conn, [h.row for h in d.fleet.handles.values()]))
            return held, cancel, job_leases.reclaim_expired(conn)

        try:
            held, cancel, reclaimed = await d.runtime.run(d.db_pool, d.tx, beat)
        except Exception:
            log.exception("lease heartbeat failed; retrying")
            continue
        if reclaimed:
            log.info("reclaimed jobs %s from dispatchers that stopped renewing", reclaimed)
            d.wake()
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
