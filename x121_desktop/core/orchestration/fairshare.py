"""Per-user fair share with priority: the order in which queued jobs are claimed (reference implementation).

The rule (SwarmUI #1192 asks for round-robin per user; this is that, plus priority bands):

1. **Priority bands, strictly.** A job with a higher `priority` is claimed before every job with a
   lower one, whoever owns it. (Who may raise priority is a permission question for the database.)
2. **Round-robin by owner within a band, fewest running first.** Each owner's queued jobs in a band
   are numbered k = 0, 1, 2, ... in FIFO order; the job's *turn* is `running(owner) + k`, where
   `running(owner)` counts the owner's jobs holding a server slot (`states.ACTIVE`, any priority).
   Lower turn first. So a user with nothing running goes before one with three jobs on the GPUs, and
   a user who queued 500 jobs gets one per round like everybody else.
3. **Batches FIFO, largest first inside a batch.** An owner's jobs of one band are numbered in batch
   order: batches (the jobs one submission created together, which share `created_at`) oldest first;
   inside a batch, the largest estimated work first (unknown estimates last), then the lower id. A
   batch has no order its owner could see (it was submitted at once), and starting its longest jobs
   first is what the LPT list schedule does, which keeps a small batch's makespan near the optimum on
   unequal servers (benchmarks/bench_fleet.py). A job submitted later never overtakes an earlier one.
4. **FIFO** breaks ties: at equal priority and turn, the lower job id (older submission) goes first.
   Job ids come from a sequence, so they grow with submission time; a re-queued job keeps its id,
   batch and estimate, and so its place.

This is the order of preference. When the whole queue is the final wave (it would all be done
within about three of its largest jobs), `core.orchestration.finish.next_start` walks it largest
first across owners instead: see `finish.final_wave` and docs/QUEUE.md rule 5.

No starvation: inside its band, an owner's first job has turn `r_u = running(u)`, and only jobs with
a smaller turn, or the same turn and a smaller id, go before it. Every other owner v contributes at
most `max(0, r_u - r_v) + 1` of those, however many jobs v has queued. So its position is bounded
by `sum_v (max(0, r_u - r_v) + 1)`, independent of the queue's length (see the property tests).

The same ordering in SQL, for the claim query (a window function cannot sit beside `FOR UPDATE`,
so rank in a CTE and lock the joined rows)::

    WITH running AS (
        SELECT owner_id, count(*) AS n FROM job
        WHERE status_id IN (<ACTIVE ids>) GROUP BY owner_id
    ), ranked AS (
        SELECT j.id, j.priority,
               coalesce(r.n, 0)
                 + row_number() OVER (PARTITION BY j.owner_id, j.priority ORDER BY j.id) - 1 AS turn
        FROM job j LEFT JOIN running r USING (owner_id)
        WHERE j.status_id = <QUEUED id>
    )
    SELECT j.* FROM job j JOIN ranked k ON k.id = j.id
    ORDER BY k.priority DESC, k.turn, k.id
    LIMIT 1
    FOR UPDATE OF j SKIP LOCKED;

(with the per-owner numbering in batch order, `ORDER BY j.id` → `ORDER BY created_at, work_estimate
DESC NULLS LAST, id`: `db.repositories.job_dispatch.fair_share_sql`). `order_queue` below returns
exactly `ORDER BY priority DESC, turn, id` with that numbering.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class QueuedJob:
    """A queued job as the claim order sees it."""

    job_id: int  # from a sequence: FIFO order
    owner_id: int
    priority: int = 0  # higher first
    batch: float = 0.0
    """When its batch was submitted (`created_at`; jobs submitted together share it): earlier batches first."""
    work: float | None = None
    """Estimated work: inside a batch the largest goes first, unknown last."""


def batch_key(job: QueuedJob) -> tuple[float, bool, float, int]:
    """Order of one owner's jobs in a band: batch, largest work first (unknown last), then id."""
    return (job.batch, job.work is None, -(job.work or 0.0), job.job_id)


def turns(jobs: Iterable[QueuedJob], running_by_owner: Mapping[int, int]) -> dict[int, int]:
    """job_id → its turn: the owner's running count + the job's rank among the owner's jobs in its band."""
    seen: dict[tuple[int, int], int] = defaultdict(int)
    result: dict[int, int] = {}
    for job in sorted(jobs, key=batch_key):
        band = (job.owner_id, job.priority)
        result[job.job_id] = max(0, running_by_owner.get(job.owner_id, 0)) + seen[band]
        seen[band] += 1
    return result


def order_queue(jobs: Sequence[QueuedJob], running_by_owner: Mapping[int, int]) -> list[QueuedJob]:
    """Queued jobs in claim order: priority DESC, turn ASC, job id ASC (see the module docstring).

    `running_by_owner` maps owner id → jobs holding a server slot; owners not in it have none.
    Job ids must be unique.
    """
    turn = turns(jobs, running_by_owner)
    if len(turn) != len(jobs):
        raise ValueError("order_queue needs unique job ids")
    return sorted(jobs, key=lambda j: (-j.priority, turn[j.job_id], j.job_id))


def next_job(jobs: Sequence[QueuedJob], running_by_owner: Mapping[int, int]) -> QueuedJob | None:
    """The job a free slot should take next, or None when the queue is empty."""
    if not jobs:
        return None
    turn = turns(jobs, running_by_owner)
    return min(jobs, key=lambda j: (-j.priority, turn[j.job_id], j.job_id))
