"""Fair share: round-robin by owner with fewest running first, priority bands, FIFO; property-tested."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from x121_desktop.core.orchestration.fairshare import QueuedJob, next_job, order_queue, turns


def ids(jobs: list[QueuedJob]) -> list[int]:
    return [j.job_id for j in jobs]


def test_round_robin_between_owners() -> None:
    queue = [QueuedJob(1, 10), QueuedJob(2, 10), QueuedJob(3, 10), QueuedJob(4, 20), QueuedJob(5, 30)]
    assert ids(order_queue(queue, {})) == [1, 4, 5, 2, 3]


def test_fewer_running_first() -> None:
    queue = [QueuedJob(1, 10), QueuedJob(2, 20), QueuedJob(3, 20)]
    assert ids(order_queue(queue, {10: 2})) == [2, 3, 1]
    assert ids(order_queue(queue, {10: 1})) == [2, 1, 3]  # 2 has turn 0; 1 and 3 both turn 1 → FIFO


def test_priority_band_goes_first_whoever_owns_it() -> None:
    queue = [QueuedJob(1, 10), QueuedJob(2, 20), QueuedJob(3, 30, priority=5), QueuedJob(4, 30, priority=5)]
    assert ids(order_queue(queue, {30: 9})) == [3, 4, 1, 2]


def test_priority_within_one_owner() -> None:
    queue = [QueuedJob(1, 10), QueuedJob(2, 10, priority=1)]
    assert ids(order_queue(queue, {})) == [2, 1]


def test_turns_and_next_job() -> None:
    queue = [QueuedJob(3, 1), QueuedJob(1, 1), QueuedJob(2, 2)]
    assert turns(queue, {2: 4}) == {1: 0, 3: 1, 2: 4}
    assert next_job(queue, {2: 4}) == QueuedJob(1, 1)
    assert next_job([], {}) is None


jobs_strategy = st.lists(st.tuples(st.integers(1, 5), st.integers(-1, 2)), min_size=0, max_size=40).map(
    lambda rows: [QueuedJob(i + 1, owner, priority) for i, (owner, priority) in enumerate(rows)]
)
running_strategy = st.dictionaries(st.integers(1, 5), st.integers(0, 6), max_size=5)


@settings(max_examples=200, deadline=None)
@given(jobs_strategy, running_strategy, st.randoms(use_true_random=False))
def test_deterministic_and_a_permutation(jobs: list[QueuedJob], running: dict[int, int], rnd: random.Random) -> None:
    shuffled = list(jobs)
    rnd.shuffle(shuffled)
    ordered = order_queue(jobs, running)
    assert ordered == order_queue(shuffled, running)  # input order does not matter
    assert Counter(ordered) == Counter(jobs)
    if jobs:
        assert next_job(shuffled, running) == ordered[0]


@settings(max_examples=200, deadline=None)
@given(jobs_strategy, running_strategy)
def test_priority_respected(jobs: list[QueuedJob], running: dict[int, int]) -> None:
    priorities = [j.priority for j in order_queue(jobs, running)]
    assert priorities == sorted(priorities, reverse=True)


@settings(max_examples=200, deadline=None)
@given(jobs_strategy, running_strategy)
def test_fifo_within_owner_and_priority(jobs: list[QueuedJob], running: dict[int, int]) -> None:
    ordered = order_queue(jobs, running)
    for owner in {j.owner_id for j in jobs}:
        for priority in {j.priority for j in jobs}:
            mine = [j.job_id for j in ordered if j.owner_id == owner and j.priority == priority]
            assert mine == sorted(mine)


@settings(max_examples=200, deadline=None)
@given(jobs_strategy, running_strategy, st.integers(1, 5), st.integers(0, 300))
def test_no_starvation(jobs: list[QueuedJob], running: dict[int, int], victim: int, flood: int) -> None:
    """However many jobs other owners add to the victim's band, the victim's oldest job keeps a bounded position."""
    top = max((j.priority for j in jobs), default=0)
    mine = QueuedJob(10_000, victim, top)
    others = {j.owner_id for j in jobs if j.owner_id != victim} | {99}
    flooder = [QueuedJob(20_000 + i, 99, top) for i in range(flood)]  # someone queues a big batch, later
    queue = [*jobs, mine, *flooder]
    ordered = order_queue(queue, running)
    first_of_victim = next(i for i, j in enumerate(ordered) if j.owner_id == victim and j.priority == top)
    r_victim = running.get(victim, 0)
    bound = sum(max(0, r_victim - running.get(o, 0)) + 1 for o in others)
    assert first_of_victim <= bound


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 5), st.integers(1, 30))
def test_dispatch_loop_serves_everyone_in_rounds(owners: int, per_owner: int) -> None:
    """Claiming one job at a time (each claim counts as running) serves owners strictly in rounds."""
    queue = [QueuedJob(o * 1000 + k, o) for o in range(owners) for k in range(per_owner)]
    running: Counter[int] = Counter()
    served: list[int] = []
    while queue:
        job = next_job(queue, running)
        assert job is not None
        queue.remove(job)
        running[job.owner_id] += 1
        served.append(job.owner_id)
    for start in range(0, len(served), owners):
        assert sorted(served[start : start + owners]) == list(range(owners))


def test_a_batch_starts_largest_first_and_batches_stay_fifo() -> None:
    first = [QueuedJob(1, 10, batch=1.0, work=5.0), QueuedJob(2, 10, batch=1.0, work=50.0),
             QueuedJob(3, 10, batch=1.0), QueuedJob(4, 10, batch=1.0, work=20.0)]  # fmt: skip
    later = [QueuedJob(5, 10, batch=2.0, work=100.0)]  # larger, but submitted after: never overtakes
    other = [QueuedJob(6, 20, batch=1.5, work=1.0)]
    assert ids(order_queue([*later, *first], {})) == [2, 4, 1, 3, 5]
    assert ids(order_queue([*later, *first, *other], {})) == [2, 6, 4, 1, 3, 5]  # round-robin between owners


batched_strategy = st.lists(
    st.tuples(st.integers(1, 4), st.integers(0, 1), st.integers(0, 3), st.none() | st.floats(0, 1e6)),
    max_size=40,
).map(
    lambda rows: [
        QueuedJob(i + 1, owner, prio, float(batch), work) for i, (owner, prio, batch, work) in enumerate(rows)
    ]
)


@settings(max_examples=200, deadline=None)
@given(batched_strategy, running_strategy)
def test_within_owner_and_band_batches_in_order_and_each_batch_largest_first(
    jobs: list[QueuedJob], running: dict[int, int]
) -> None:
    ordered = order_queue(jobs, running)
    for owner in {j.owner_id for j in jobs}:
        for priority in {j.priority for j in jobs}:
            mine = [j for j in ordered if j.owner_id == owner and j.priority == priority]
            assert [j.batch for j in mine] == sorted(j.batch for j in mine)
            for batch in {j.batch for j in mine}:
                works = [j.work for j in mine if j.batch == batch]
                known = [w for w in works if w is not None]
                assert works == [*sorted(known, reverse=True), *[None] * (len(works) - len(known))]
