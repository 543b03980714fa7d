"""Which (job, server) pairs a claim tries, best first: queue rows and plans in, `core.orchestration.finish` decides.

Part of the claim in `job_dispatch.claim_placed`, kept apart so that module stays about SQL. No
database access here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from x121_desktop.core.orchestration.finish import QueuedWork, next_start
from x121_desktop.core.orchestration.placement import (
    DISPATCHABLE,
    JobNeeds,
    Placement,
    ServerSnapshot,
    capability_reasons,
)
from x121_desktop.db.repositories.job_records import JobRow


@dataclass(frozen=True, slots=True)
class JobPlan:
    """What the caller worked out about a candidate."""

    needs: JobNeeds
    work: float = 1.0
    """Estimated work on a speed-1.0 server, in a unit shared by all jobs (e.g. pixel-frames)."""


@dataclass(frozen=True, slots=True)
class Held:
    """A job holding a slot on a server."""

    job_id: int
    work: float | None
    """Its stored work estimate (None: unknown)."""
    running_s: float
    """Seconds since it started running (RUNNING: updated_at is when it moved there); 0 while it waits."""


def tries_in_order(
    queue: list[tuple[JobRow, JobPlan, Placement]],
    snaps: Sequence[ServerSnapshot],
    holding: Mapping[int, list[Held]],
    work_of: Callable[[int], float | None] | None,
    more: bool,
    per_second: bool,
) -> list[tuple[JobRow, JobPlan, int]]:
    """(job, server) pairs to try, best first: the finish-aware pick, then the rest in claim order.

    Empty when the finish-aware rule says every queued job is better left to a busy, faster server
    (it claims when it frees up, woken by the NOTIFY of its job's end).
    """
    usable = [s for s in snaps if s.enabled and s.status in DISPATCHABLE]
    speeds = {s.server_id: max(s.speed, 1e-9) for s in usable}
    if not queue or not speeds:
        return []
    works = sorted(p.work for _, p, _ in queue)
    typical = works[len(works) // 2]  # a held job whose estimate nobody knows

    def left(held: Held, speed: float) -> float:
        """Time until it ends: its work over the speed, less the time it has run (speeds per second)."""
        known = held.work if held.work is not None else (work_of(held.job_id) if work_of is not None else None)
        total = (typical if known is None else known) / speed
        return max(0.0, total - held.running_s) if per_second else total

    busy = {s: sum(left(h, speeds[s]) for h in holding.get(s, [])) for s in speeds}
    open_now = {s.server_id for s in usable if s.free_slots > 0}
    items = [
        QueuedWork(
            p.work, int(j.owner_id), frozenset(s.server_id for s in usable if capable(p, s)), j.created_at, j.priority
        )
        for j, p, _ in queue
    ]
    pick = next_start(items, busy, speeds, open_now, lookahead=len(items), more_queued=more)
    if pick is None:
        return []
    tries = [(queue[pick[0]][0], queue[pick[0]][1], pick[1])]
    for job, planned, placement in queue:
        if placement.placed and job.id != tries[0][0].id:
            tries.append((job, planned, int(placement.server_id or 0)))
    return tries


def capable(plan: JobPlan, server: ServerSnapshot) -> bool:
    """Whether the server has every node type and model the job needs."""
    return not capability_reasons(plan.needs, server)
