"""A discrete-event simulator of a fleet of unequal ComfyUI servers (pure; simulated time units).

A job has an amount of *work* (time it takes on a server of speed 1.0); on a server of speed s it
takes `work / s`. Times here are simulated units for comparing policies, not media time.

Policies:
- `Policy.WORK_STEALING` (what our dispatchers do): jobs stay in the shared queue in order; whenever a
  server is free it takes the next job. When several are free at once, the faster takes first
  (`placement.choose_server` prefers speed).
- `Policy.FINISH_AWARE`: work stealing where a free server takes the first queued job that it would
  finish earliest, given when the other servers free up (`pick_job`; needs a work estimate per job).
  A slow server then leaves the last big jobs to a fast one that frees up soon, which is where plain
  work stealing loses time on a very unequal fleet; while the queue is long it behaves exactly like
  plain work stealing.
- `Policy.FINISH_AWARE_FIFO` (`finish.next_start` with `per_owner_fifo=True`, every job submitted on
  its own): like FINISH_AWARE, but a server may only start an owner's first remaining job (or wait),
  so every user's jobs start in their queue order. `owners` gives each job's owner (default: one
  owner, i.e. "start the head of the queue, or wait for a faster server").
- `Policy.FINISH_AWARE_LPT`: finish-aware over the look-ahead sorted by work, largest first (an
  online LPT) and without per-owner order. The dispatcher does this inside one submission (a batch,
  see `fairshare`); benchmarks/bench_fleet.py measures the real claim path, not this simulator.
- `Policy.EVEN_SPLIT` (SwarmUI #247, "queues equally at start, instead of sequentially"): job i is
  pre-assigned to server i mod m when the batch is queued, and each server works through its own
  list, however slow it is.

The yardstick, `optimal_list_schedule`, is **LPT with earliest completion** for uniform machines
(Gonzalez, Ibarra & Sahni 1977, "Bounds for LPT schedules on uniform processors"): it knows every
job's size in advance, sorts the jobs by work, largest first, and gives each to the server on which it
would *finish* earliest (ties: faster, then lower index). This is the standard offline list schedule
(within 2 - 2/(m+1) of the true optimum, usually within a few percent); no online dispatcher can beat
its information. `makespan_lower_bound` is the preemptive optimum for uniform machines
(Horvath, Lam & Sethi 1977): max over k of (k largest jobs) / (k fastest speeds), and total work /
total speed; no schedule at all, preemptive or not, finishes earlier.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from x121_desktop.core.orchestration.finish import QueuedWork, next_start


class Policy(StrEnum):
    WORK_STEALING = "work stealing"
    FINISH_AWARE = "work stealing, finish-time aware"
    FINISH_AWARE_FIFO = "finish-time aware, per-user FIFO kept"
    FINISH_AWARE_LPT = "finish-time aware, largest queued first"
    EVEN_SPLIT = "even split"


DEFAULT_LOOKAHEAD = 64


@dataclass(frozen=True)
class Assignment:
    job: int  # index into the job list
    server: int  # index into the speed list
    start: float
    end: float


@dataclass(frozen=True)
class Schedule:
    policy: str
    assignments: tuple[Assignment, ...]
    makespan: float

    def jobs_on(self, server: int) -> tuple[int, ...]:
        return tuple(a.job for a in sorted(self.assignments, key=lambda a: a.start) if a.server == server)

    def busy_time(self, server: int) -> float:
        return sum(a.end - a.start for a in self.assignments if a.server == server)


def simulate(
    jobs: Sequence[float],
    speeds: Sequence[float],
    policy: Policy,
    estimates: Sequence[float] | None = None,
    owners: Sequence[int] | None = None,
) -> Schedule:
    """Run the jobs (work amounts, in queue order) on servers with `speeds` under `policy`.

    `estimates` (FINISH_AWARE only) are the work amounts the dispatcher believes, one per job, when
    they differ from the true ones; decisions use them, the clock uses the truth.
    """
    _check(jobs, speeds)
    if estimates is not None and len(estimates) != len(jobs):
        raise ValueError("one work estimate per job is needed")
    if policy is Policy.WORK_STEALING:
        return _work_stealing(jobs, speeds)
    if policy is Policy.FINISH_AWARE:
        return _finish_aware(jobs, speeds, jobs if estimates is None else estimates)
    if policy in (Policy.FINISH_AWARE_FIFO, Policy.FINISH_AWARE_LPT):
        if owners is not None and len(owners) != len(jobs):
            raise ValueError("one owner per job is needed")
        believed = jobs if estimates is None else estimates
        return _next_start(jobs, speeds, believed, owners or [0] * len(jobs), policy)
    return _even_split(jobs, speeds)


def pick_job(
    server: int,
    now: float,
    queue: Sequence[float],
    free_at: Sequence[float],
    speeds: Sequence[float],
    lookahead: int = DEFAULT_LOOKAHEAD,
) -> int | None:
    """Which queued job (index into `queue`, work estimates in claim order) free `server` should take now.

    The queue is walked in order; each job is given, on paper, to the server that would finish it
    earliest (free time `max(free_at, now)` + work / speed; ties: faster, then lower index). The
    first job that lands on `server` is its pick. None means every job in the queue is better left to
    a faster server that frees up soon: stay idle until the next server frees up. If the first
    `lookahead` jobs all go elsewhere and more are queued, the head is taken (a long queue has work
    for everyone).
    """
    clock = [max(f, now) for f in free_at]
    clock[server] = now
    for index, work in enumerate(queue[:lookahead]):
        best = min(range(len(speeds)), key=lambda s: (clock[s] + work / speeds[s], -speeds[s], s))
        if best == server:
            return index
        clock[best] += work / speeds[best]
    return 0 if len(queue) > lookahead else None


def _finish_aware(jobs: Sequence[float], speeds: Sequence[float], estimates: Sequence[float]) -> Schedule:
    queue = list(range(len(jobs)))
    free_at = [0.0] * len(speeds)  # the truth: when each server really frees up
    expected = [0.0] * len(speeds)  # what the dispatcher believes (start + estimate / speed)
    out: list[Assignment] = []
    now = 0.0
    while queue:
        for server in sorted(range(len(speeds)), key=lambda s: (-speeds[s], s)):
            if free_at[server] > now or not queue:
                continue
            believed = [max(e, now) if free_at[s] > now else now for s, e in enumerate(expected)]
            pick = pick_job(server, now, [estimates[j] for j in queue], believed, speeds)
            if pick is None:
                continue
            job = queue.pop(pick)
            free_at[server] = now + jobs[job] / speeds[server]
            expected[server] = now + estimates[job] / speeds[server]
            out.append(Assignment(job, server, now, free_at[server]))
        later = [f for f in free_at if f > now]
        if queue and not later:
            raise AssertionError("finish-aware dispatch left every server idle with jobs queued")
        now = min(later, default=now)
    return _schedule(Policy.FINISH_AWARE.value, out)


def _next_start(
    jobs: Sequence[float], speeds: Sequence[float], estimates: Sequence[float], owners: Sequence[int], policy: Policy
) -> Schedule:
    lpt = policy is Policy.FINISH_AWARE_LPT
    queue = list(range(len(jobs)))
    rate = dict(enumerate(speeds))
    free_at = [0.0] * len(speeds)  # the truth
    expected = [0.0] * len(speeds)  # what the dispatcher believes
    out: list[Assignment] = []
    now = 0.0
    while queue:
        while queue:
            open_now = {s for s in rate if free_at[s] <= now}
            if not open_now:
                break
            order = sorted(queue, key=lambda j: -estimates[j]) if lpt else queue
            items = [QueuedWork(estimates[j], owners[j]) for j in order]
            busy = {s: max(expected[s], now) if s not in open_now else now for s in rate}
            pick = next_start(items, busy, rate, open_now, now=now, per_owner_fifo=not lpt)
            if pick is None:
                break
            job = order[pick[0]]
            server = pick[1]
            queue.remove(job)
            free_at[server] = now + jobs[job] / speeds[server]
            expected[server] = now + estimates[job] / speeds[server]
            out.append(Assignment(job, server, now, free_at[server]))
        later = [f for f in free_at if f > now]
        if queue and not later:
            raise AssertionError("finish-aware dispatch left every server idle with jobs queued")
        now = min(later, default=now)
    return _schedule(policy.value, out)


def _work_stealing(jobs: Sequence[float], speeds: Sequence[float]) -> Schedule:
    # Event queue of (time the server is free, -speed, index): the earliest free server takes the next
    # job; among servers free at the same moment the fastest goes first.
    free = [(0.0, -speed, index) for index, speed in enumerate(speeds)]
    heapq.heapify(free)
    out: list[Assignment] = []
    for job, work in enumerate(jobs):
        time, neg_speed, server = heapq.heappop(free)
        end = time + work / -neg_speed
        out.append(Assignment(job, server, time, end))
        heapq.heappush(free, (end, neg_speed, server))
    return _schedule(Policy.WORK_STEALING.value, out)


def _even_split(jobs: Sequence[float], speeds: Sequence[float]) -> Schedule:
    clock = [0.0] * len(speeds)
    out: list[Assignment] = []
    for job, work in enumerate(jobs):
        server = job % len(speeds)
        end = clock[server] + work / speeds[server]
        out.append(Assignment(job, server, clock[server], end))
        clock[server] = end
    return _schedule(Policy.EVEN_SPLIT.value, out)


def optimal_list_schedule(jobs: Sequence[float], speeds: Sequence[float]) -> Schedule:
    """LPT with earliest completion on uniform machines (see the module docstring)."""
    _check(jobs, speeds)
    clock = [0.0] * len(speeds)
    out: list[Assignment] = []
    for job in sorted(range(len(jobs)), key=lambda j: (-jobs[j], j)):
        work = jobs[job]
        server = min(range(len(speeds)), key=lambda s: (clock[s] + work / speeds[s], -speeds[s], s))
        end = clock[server] + work / speeds[server]
        out.append(Assignment(job, server, clock[server], end))
        clock[server] = end
    return _schedule("LPT list schedule", out)


def makespan_lower_bound(jobs: Sequence[float], speeds: Sequence[float]) -> float:
    """No schedule of these jobs on these servers finishes before this (preemptive optimum)."""
    _check(jobs, speeds)
    works = sorted(jobs, reverse=True)
    fast = sorted(speeds, reverse=True)
    bound = sum(works) / sum(fast)
    work_sum = speed_sum = 0.0
    for k in range(min(len(works), len(fast))):
        work_sum += works[k]
        speed_sum += fast[k]
        bound = max(bound, work_sum / speed_sum)
    return bound


def _schedule(policy: str, assignments: list[Assignment]) -> Schedule:
    makespan = max((a.end for a in assignments), default=0.0)
    return Schedule(policy, tuple(sorted(assignments, key=lambda a: a.job)), makespan)


def _check(jobs: Sequence[float], speeds: Sequence[float]) -> None:
    if not speeds:
        raise ValueError("a fleet needs at least one server")
    if any(s <= 0 for s in speeds):
        raise ValueError("server speeds must be positive")
    if any(w < 0 for w in jobs):
        raise ValueError("job work amounts cannot be negative")
