"""Which queued job a free server slot takes: finish-time-aware work stealing (pure).

The queue is walked in claim order (`fairshare.order_queue`). On paper each job goes to the capable
server that would *finish* it earliest: the time that server's current work ends (`busy_until`, the
work estimates of the jobs it holds over its speed) plus the job's work over its speed; ties go to
a server with a free slot (it starts now), then the faster server, then the lower id. Without the
FIFO limit below, the first job that lands on a server with a free slot is the one to take, on that
server; when every job in the look-ahead lands on a busy server, nothing is taken now: those
servers will finish the jobs sooner.

`per_owner_fifo=True` (what the dispatcher uses) keeps each owner's *batches* starting in their
queue order: only jobs of an owner's first remaining batch may start (a batch is the jobs one
submission created together, `QueuedWork.batch`; a job without one is a batch of its own, so for
single submissions this is plain per-owner FIFO). First the paper walk above: the first of those
jobs that lands on a server with a free slot starts there (inside a batch the queue is largest
first, `fairshare`, so this is the LPT list schedule, online). If none lands on a free slot, each
of those jobs in queue order may still start on the open server where it would finish earliest, if
- it would end there before the fleet could finish all the work it knows of even if spread
  perfectly over every server (busy servers' remaining work + the look-ahead, over the total
  speed), while more jobs are queued than the look-ahead sees; or
- starting it ends the look-ahead's paper plan no later than leaving the server idle until the next
  busy server frees up.
In the *final wave* (the look-ahead holds the whole queue and it would all be done within
`FINAL_WAVE` times its largest job's time on the fastest server: `final_wave`) the walk goes
largest first inside each priority band rather than in fair-share order, keeping the batch rule;
that is the LPT list schedule across owners, and it delays no job's start by more than the wave.
So a slow server never takes a job it would still be running when everything else is done, but it
may take a smaller job of the same batch that a faster server would not finish sooner. A later
batch's job never starts before an earlier batch's of the same owner. `per_owner_fifo=False` is
the plain walk over the whole queue (a user's later submission may then start before their earlier
one).

Work is in any unit shared by all jobs (e.g. pixel-frames); speeds are relative throughputs.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass

DEFAULT_LOOKAHEAD = 24
FINAL_WAVE = 3.0
"""The final wave: everything queued and running would end, spread perfectly over the fleet, within
this many times the time the largest queued job takes on the fastest server."""


@dataclass(frozen=True, slots=True)
class QueuedWork:
    """One queued job as the choice sees it."""

    work: float
    owner: int = 0
    servers: frozenset[int] | None = None
    """Servers able to run it (None: all of them)."""
    batch: Hashable | None = None
    """Jobs of one owner with the same batch were submitted together (None: a batch of its own)."""
    priority: int = 0
    """Its priority band (higher first); the final wave reorders only inside a band."""


def next_start(
    queue: Sequence[QueuedWork],
    busy_until: Mapping[int, float],
    speeds: Mapping[int, float],
    open_servers: Collection[int],
    *,
    now: float = 0.0,
    per_owner_fifo: bool = True,
    lookahead: int = DEFAULT_LOOKAHEAD,
    more_queued: bool = False,
    final_wave_factor: float = FINAL_WAVE,
) -> tuple[int, int] | None:
    """(index into `queue`, server id) to start now, or None to leave the queue for busy, faster servers.

    `speeds` names every server that can take jobs (busy or not); `busy_until` is when each one's
    current work ends (absent or before `now`: idle); `open_servers` are those with a free slot (a
    job placed on one starts when its current work ends). `more_queued`: jobs wait beyond `queue`
    (the caller saw only the head of the queue), as when `queue` is longer than `lookahead`.
    `final_wave_factor`: see `final_wave` (0: never reorder the final wave).
    """
    clock = {s: max(now, busy_until.get(s, now)) for s in speeds}
    window = queue[:lookahead]
    long_queue = more_queued or len(queue) > lookahead
    if not per_owner_fifo:
        return _first_landing(window, clock, speeds, open_servers, long_queue)
    first = _first_batches(window)
    order = list(range(len(window)))
    if not long_queue and final_wave(window, clock, speeds, now, final_wave_factor):
        order.sort(key=lambda i: (-window[i].priority, -window[i].work, i))
    view = [window[i] for i in order]
    eligible = {k for k, i in enumerate(order) if i in first}
    landed = _first_landing(view, dict(clock), speeds, open_servers, False, eligible)
    if landed is not None:
        return order[landed[0]], landed[1]
    for index, item in enumerate(view):
        if index not in eligible:
            continue
        for server in sorted(open_servers, key=lambda s: (clock[s] + item.work / speeds[s], -speeds[s], s)):
            if server in speeds and (item.servers is None or server in item.servers):
                if (long_queue and _within_fluid_end(view, item, server, clock, speeds, now)) or _worth_starting(
                    view, index, server, clock, speeds, now
                ):
                    return order[index], server
                break
    return None


def final_wave(
    window: Sequence[QueuedWork],
    clock: Mapping[int, float],
    speeds: Mapping[int, float],
    now: float,
    factor: float = FINAL_WAVE,
) -> bool:
    """Whether `window` (the whole queue) is the final wave: spread perfectly over every server, the
    work queued and still running would end within `factor` times the largest queued job's time
    on the fastest server. Every job in it starts before that, whatever the order, so ordering it
    longest first (what decides the makespan) delays no job's start by more than that wave."""
    if not window or not speeds:
        return False
    total = sum(max(t - now, 0.0) * speeds[s] for s, t in clock.items()) + sum(q.work for q in window)
    longest = max(q.work for q in window) / max(speeds.values())
    return total / sum(speeds.values()) <= factor * longest


def _first_batches(window: Sequence[QueuedWork]) -> set[int]:
    """Indexes of the jobs in each owner's first remaining batch (the only ones that may start)."""
    first: dict[int, Hashable] = {}
    out: set[int] = set()
    for index, item in enumerate(window):
        batch = ("job", index) if item.batch is None else ("batch", item.batch)
        if first.setdefault(item.owner, batch) == batch:
            out.add(index)
    return out


def _first_landing(
    window: Sequence[QueuedWork],
    clock: dict[int, float],
    speeds: Mapping[int, float],
    open_servers: Collection[int],
    more: bool,
    eligible: Collection[int] | None = None,
) -> tuple[int, int] | None:
    """The first job (of `eligible`, if given) that the paper plan puts on an open server."""
    for index, item in enumerate(window):
        able = [s for s in clock if item.servers is None or s in item.servers]
        if not able:
            continue
        best = min(able, key=lambda s: (clock[s] + item.work / speeds[s], s not in open_servers, -speeds[s], s))
        if best in open_servers and (eligible is None or index in eligible):
            return index, best
        clock[best] += item.work / speeds[best]
    if more:
        for index, item in enumerate(window):
            able = [s for s in open_servers if s in speeds and (item.servers is None or s in item.servers)]
            if able and (eligible is None or index in eligible):
                return index, min(able, key=lambda s: (-speeds[s], s))
    return None


def _within_fluid_end(
    window: Sequence[QueuedWork],
    item: QueuedWork,
    server: int,
    clock: dict[int, float],
    speeds: Mapping[int, float],
    now: float,
) -> bool:
    """Whether the job would end on `server` before the fleet could even finish the visible work,
    spread perfectly over every server (so taking it cannot be what makes the batch late)."""
    total = sum(max(t - now, 0.0) * speeds[s] for s, t in clock.items()) + sum(q.work for q in window)
    return max(clock[server], now) + item.work / speeds[server] <= now + total / sum(speeds.values())


def _worth_starting(
    window: Sequence[QueuedWork],
    index: int,
    server: int,
    clock: dict[int, float],
    speeds: Mapping[int, float],
    now: float,
) -> bool:
    """Whether starting window[index] on `server` now ends the look-ahead no later than leaving it idle.

    Both plans place the rest of the look-ahead in queue order, each job where it finishes earliest.
    In the idle plan `server` joins only when the next busy server frees up (if none is busy,
    waiting gains nothing and the job starts).
    """
    others = [t for s, t in clock.items() if s != server and t > now]
    if not others:
        return True
    rest = [q for i, q in enumerate(window) if i != index]
    take = dict(clock)
    take[server] = max(take[server], now) + window[index].work / speeds[server]
    wait = dict(clock)
    wait[server] = max(wait[server], min(others))
    return _plan_end(rest, take, speeds) <= _plan_end(list(window), wait, speeds)


def _plan_end(items: Sequence[QueuedWork], clock: dict[int, float], speeds: Mapping[int, float]) -> float:
    clock = dict(clock)
    for item in items:
        able = [s for s in clock if item.servers is None or s in item.servers]
        if able:
            best = min(able, key=lambda s: (clock[s] + item.work / speeds[s], -speeds[s], s))
            clock[best] += item.work / speeds[best]
    return max(clock.values(), default=0.0)
