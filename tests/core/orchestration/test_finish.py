"""The finish-time-aware choice of (job, server) for free slots, with and without per-owner FIFO."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from x121_desktop.core.orchestration.finish import QueuedWork, next_start
from x121_desktop.core.orchestration.simulate import Policy, optimal_list_schedule, simulate

FAST, SLOW = 1, 2
SPEEDS = {FAST: 4.0, SLOW: 1.0}


def test_a_slow_server_leaves_the_last_big_job_to_a_fast_one_that_frees_up_soon() -> None:
    queue = [QueuedWork(100.0)]
    # the fast server is busy for 10 more units: 10 + 100/4 = 35 there, 100 on the slow one
    assert next_start(queue, {FAST: 10.0}, SPEEDS, {SLOW}) is None
    assert next_start(queue, {FAST: 10.0}, SPEEDS, {SLOW, FAST}) == (0, FAST)


def test_an_idle_fleet_always_starts_the_head_on_the_fastest_server() -> None:
    queue = [QueuedWork(50.0), QueuedWork(5.0)]
    assert next_start(queue, {}, SPEEDS, {FAST, SLOW}) == (0, FAST)
    assert next_start(queue, {}, SPEEDS, {SLOW}) == (0, SLOW)  # nobody else is busy: waiting gains nothing


def test_per_owner_fifo_never_starts_an_owners_later_job_first() -> None:
    queue = [QueuedWork(100.0, owner=7), QueuedWork(4.0, owner=7), QueuedWork(4.0, owner=8)]
    # without FIFO the slow server takes a small job further down; with it only an owner's first job
    assert next_start(queue, {FAST: 10.0}, SPEEDS, {SLOW}, per_owner_fifo=False) == (1, SLOW)
    pick = next_start(queue, {FAST: 10.0}, SPEEDS, {SLOW})
    assert pick in (None, (2, SLOW))


def test_inside_a_batch_a_slow_server_takes_a_smaller_job_the_busy_fast_one_would_not_finish_sooner() -> None:
    # one submission, largest first: the fast server (busy for 10 more) would end the 100 at 35 and the 4 at 36;
    # on paper the 100 goes there and the 4 lands on the free slow server (ends at 4): it starts now
    batch = [QueuedWork(100.0, owner=7, batch="t1"), QueuedWork(4.0, owner=7, batch="t1")]
    assert next_start(batch, {FAST: 10.0}, SPEEDS, {SLOW}) == (1, SLOW)
    # the same two jobs submitted one after the other: the later may not start before the earlier
    assert next_start([QueuedWork(100.0, owner=7), QueuedWork(4.0, owner=7)], {FAST: 10.0}, SPEEDS, {SLOW}) is None


def test_a_later_batch_never_starts_before_an_earlier_batch_of_the_same_owner() -> None:
    queue = [QueuedWork(100.0, owner=7, batch="t1"), QueuedWork(4.0, owner=7, batch="t2")]
    assert next_start(queue, {FAST: 10.0}, SPEEDS, {SLOW}) is None
    # another owner's batch is free to go
    other = [*queue, QueuedWork(4.0, owner=8, batch="t2")]
    assert next_start(other, {FAST: 10.0}, SPEEDS, {SLOW}) == (2, SLOW)


def test_capabilities_limit_where_a_job_may_go() -> None:
    queue = [QueuedWork(10.0, servers=frozenset({SLOW}))]
    assert next_start(queue, {}, SPEEDS, {FAST, SLOW}) == (0, SLOW)
    assert next_start(queue, {}, SPEEDS, {FAST}) is None


def test_a_long_queue_keeps_every_server_busy() -> None:
    queue = [QueuedWork(10.0) for _ in range(30)]
    assert next_start(queue, {FAST: 5.0}, SPEEDS, {SLOW}, lookahead=8) == (0, SLOW)
    assert next_start(queue[:8], {FAST: 5.0}, SPEEDS, {SLOW}, lookahead=8, more_queued=True) == (0, SLOW)


@settings(max_examples=40, deadline=None)
@given(
    jobs=st.lists(st.floats(1.0, 200.0), min_size=1, max_size=60),
    speeds=st.lists(st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]), min_size=1, max_size=6),
    owners=st.integers(1, 4),
)
def test_fifo_policy_runs_every_job_once_and_keeps_each_owners_order(
    jobs: list[float], speeds: list[float], owners: int
) -> None:
    who = [i % owners for i in range(len(jobs))]
    schedule = simulate(jobs, speeds, Policy.FINISH_AWARE_FIFO, owners=who)
    assert sorted(a.job for a in schedule.assignments) == list(range(len(jobs)))
    for owner in range(owners):
        starts = [a.start for a in schedule.assignments if who[a.job] == owner]  # assignments are by job index
        assert starts == sorted(starts)


def test_fifo_policy_stays_near_lpt_on_long_batches_of_an_unequal_fleet() -> None:
    rnd = random.Random(3)
    jobs = [rnd.randint(49, 121) * 1.5 for _ in range(200)]
    speeds = [4.0, 2.0, 1.0, 0.5, 0.25]
    ratio = simulate(jobs, speeds, Policy.FINISH_AWARE_FIFO).makespan / optimal_list_schedule(jobs, speeds).makespan
    plain = simulate(jobs, speeds, Policy.WORK_STEALING).makespan / optimal_list_schedule(jobs, speeds).makespan
    assert ratio <= 1.05 < plain
