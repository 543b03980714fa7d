"""The final wave: when the whole queue is about to run out, longest first across owners (makespan), within bounds."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from x121_desktop.core.orchestration.fairshare import QueuedJob, order_queue
from x121_desktop.core.orchestration.finish import FINAL_WAVE, QueuedWork, final_wave, next_start
from x121_desktop.core.orchestration.simulate import optimal_list_schedule

ONE, TWO = 1, 2
EQUAL = {ONE: 1.0, TWO: 1.0}


def test_the_final_wave_starts_the_largest_job_whoever_owns_it() -> None:
    # fair-share order after owner 1's 30 started on ONE: owner 2's 10, owner 1's 28, owner 2's 9
    queue = [
        QueuedWork(10.0, owner=2, batch="b"),
        QueuedWork(28.0, owner=1, batch="a"),
        QueuedWork(9.0, owner=2, batch="b"),
    ]
    assert final_wave(queue, {ONE: 30.0, TWO: 0.0}, EQUAL, 0.0)
    assert next_start(queue, {ONE: 30.0}, EQUAL, {TWO}) == (1, TWO)
    # the same head of a longer queue is no final wave: fair share's order stands
    assert next_start(queue, {ONE: 30.0}, EQUAL, {TWO}, more_queued=True) == (0, TWO)
    assert next_start(queue, {ONE: 30.0}, EQUAL, {TWO}, final_wave_factor=0.0) == (0, TWO)


def test_a_queue_far_from_its_end_keeps_fair_share_order() -> None:
    queue = [QueuedWork(10.0, owner=2, batch="b")] + [QueuedWork(28.0, owner=1, batch="a")] * 12
    assert not final_wave(queue, {ONE: 30.0, TWO: 0.0}, EQUAL, 0.0)
    assert next_start(queue, {ONE: 30.0}, EQUAL, {TWO}) == (0, TWO)


def test_priority_bands_stay_strict_in_the_final_wave() -> None:
    queue = [QueuedWork(5.0, owner=2, priority=1), QueuedWork(30.0, owner=1)]
    assert final_wave(queue, {}, EQUAL, 0.0)
    assert next_start(queue, {}, EQUAL, {ONE}) == (0, ONE)


def test_a_later_batch_still_never_starts_before_an_earlier_one_of_its_owner() -> None:
    queue = [QueuedWork(10.0, owner=1, batch="t1"), QueuedWork(40.0, owner=1, batch="t2"), QueuedWork(20.0, owner=2)]
    assert final_wave(queue, {}, EQUAL, 0.0)
    # longest first would be owner 1's 40, but it is a later submission than their 10: on paper it
    # takes ONE, and owner 2's 20 starts on TWO
    assert next_start(queue, {}, EQUAL, {ONE, TWO}) == (2, TWO)


@dataclass(frozen=True)
class Run:
    start: list[float]
    end: list[float]

    @property
    def makespan(self) -> float:
        return max(self.end)


def run_fleet(works: Sequence[float], owners: Sequence[int], speeds: Sequence[float], factor: float) -> Run:
    """Every free slot takes `next_start` over the fair-share order (one batch per owner), in virtual time."""
    speed = dict(enumerate(speeds))
    queued = {i: QueuedJob(i + 1, owners[i], work=works[i]) for i in range(len(works))}
    running: dict[int, tuple[int, float]] = {}
    start, end = [0.0] * len(works), [0.0] * len(works)
    now = 0.0
    while queued or running:
        while queued and (free := [s for s in speed if s not in {srv for srv, _ in running.values()}]):
            held: dict[int, int] = {}
            for job in running:
                held[owners[job]] = held.get(owners[job], 0) + 1
            order = order_queue(list(queued.values()), held)
            window = [QueuedWork(j.work or 0.0, j.owner_id, batch=j.owner_id) for j in order]
            busy = dict(running.values())
            pick = next_start(window, busy, speed, free, now=now, final_wave_factor=factor)
            if pick is None:
                break
            job = order[pick[0]].job_id - 1
            del queued[job]
            start[job], end[job] = now, now + works[job] / speed[pick[1]]
            running[job] = (pick[1], end[job])
        now = min(until for _, until in running.values())
        running = {j: r for j, r in running.items() if r[1] > now}
    return Run(start, end)


FLEETS = ([1.0, 1.0, 1.0, 1.0], [3.0, 1.0, 1.0, 1.0], [2.0, 2.0, 1.0, 1.0, 0.5, 0.5], [4.0, 2.0, 1.0, 0.5, 0.25],
          [1.0, 0.8, 0.6, 0.4, 0.2], [2.5, 2.5, 1.6, 1.6, 1.0, 1.0, 0.7, 0.4])  # fmt: skip
"""The fleet benchmark's fleets (benchmarks/bench_fleet.py)."""


def segment_batch(rnd: random.Random, count: int) -> list[float]:
    """The fleet benchmark's jobs: 49-121 frames, every fifth a 7-20 frame heal."""
    return [float(rnd.randint(7, 20) if i % 5 == 4 else rnd.randint(49, 121)) for i in range(count)]


def test_four_owners_small_batches_end_within_five_percent_of_the_lpt_list_schedule() -> None:
    owners = [i % 4 for i in range(40)]
    worst: dict[float, float] = {}
    for factor in (0.0, FINAL_WAVE):
        worst[factor] = max(
            run_fleet(works, owners, speeds, factor).makespan / optimal_list_schedule(works, speeds).makespan
            for speeds in FLEETS
            for works in (segment_batch(random.Random(seed), 40) for seed in range(5))
        )
    assert worst[FINAL_WAVE] <= 1.05
    assert worst[FINAL_WAVE] < worst[0.0]  # fair share alone is what missed it


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1.0, 100.0), min_size=1, max_size=30),
    st.lists(st.integers(0, 3), min_size=30, max_size=30),
    st.sampled_from(FLEETS),
)
def test_the_final_wave_delays_no_job_by_more_than_its_bound(
    works: list[float], owners: list[int], speeds: list[float]
) -> None:
    owners = owners[: len(works)]
    fair = run_fleet(works, owners, speeds, 0.0)
    waved = run_fleet(works, owners, speeds, FINAL_WAVE)
    bound = FINAL_WAVE * max(works) / max(speeds)
    for job in range(len(works)):
        assert waved.start[job] <= fair.start[job] + bound + 1e-9
