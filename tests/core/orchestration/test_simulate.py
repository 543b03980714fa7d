"""Fleet simulator: hand-checked schedules, bounds against brute-force optimum, policy comparisons."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from x121_desktop.core.orchestration.simulate import (
    Policy,
    makespan_lower_bound,
    optimal_list_schedule,
    pick_job,
    simulate,
)


def brute_force_optimum(jobs: list[float], speeds: list[float]) -> float:
    best = float("inf")
    for assignment in itertools.product(range(len(speeds)), repeat=len(jobs)):
        load = [0.0] * len(speeds)
        for job, server in zip(jobs, assignment, strict=True):
            load[server] += job
        best = min(best, max(w / s for w, s in zip(load, speeds, strict=True)))
    return best


def test_work_stealing_by_hand() -> None:
    schedule = simulate([4, 4, 4], [2.0, 1.0], Policy.WORK_STEALING)
    # t=0: fast takes job 0 (ends 2), slow takes job 1 (ends 4); t=2: fast takes job 2 (ends 4)
    assert [(a.server, a.start, a.end) for a in schedule.assignments] == [(0, 0, 2), (1, 0, 4), (0, 2, 4)]
    assert schedule.makespan == 4
    assert schedule.jobs_on(0) == (0, 2)
    assert schedule.busy_time(1) == 4


def test_even_split_by_hand_is_swarm_247() -> None:
    schedule = simulate([4, 4, 4, 4], [4.0, 1.0], Policy.EVEN_SPLIT)
    assert schedule.jobs_on(0) == (0, 2)
    assert schedule.jobs_on(1) == (1, 3)
    assert schedule.makespan == 8  # the slow server holds half the batch; work stealing finishes far sooner
    assert simulate([4, 4, 4, 4], [4.0, 1.0], Policy.WORK_STEALING).makespan == 4


def test_lpt_by_hand() -> None:
    schedule = optimal_list_schedule([3, 3, 2, 2, 2], [1.0, 1.0])
    assert schedule.makespan == 7  # LPT is not optimal here (optimum 6): it is a list schedule, documented as such
    assert brute_force_optimum([3, 3, 2, 2, 2], [1.0, 1.0]) == 6


def test_lower_bound_by_hand() -> None:
    assert makespan_lower_bound([10, 1], [2.0, 1.0]) == 5  # the biggest job on the fastest server
    assert makespan_lower_bound([3, 3, 3], [1.0, 1.0, 1.0]) == 3
    assert makespan_lower_bound([6, 6], [1.0, 1.0, 1.0]) == 6


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(1, 20), min_size=1, max_size=6),
    st.lists(st.sampled_from([0.5, 1.0, 1.5, 3.0]), min_size=1, max_size=3),
)
def test_bounds_bracket_the_true_optimum(jobs: list[int], speeds: list[float]) -> None:
    works = [float(j) for j in jobs]
    optimum = brute_force_optimum(works, speeds)
    lower = makespan_lower_bound(works, speeds)
    lpt = optimal_list_schedule(works, speeds).makespan
    assert lower <= optimum + 1e-9
    assert optimum <= lpt + 1e-9
    assert lpt <= (2 - 2 / (len(speeds) + 1)) * optimum + 1e-9  # Gonzalez, Ibarra & Sahni's bound


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(0.5, 50), min_size=0, max_size=40),
    st.lists(st.floats(0.2, 4), min_size=1, max_size=6),
    st.sampled_from(list(Policy)),
)
def test_every_policy_runs_every_job_once_without_overlap(
    jobs: list[float], speeds: list[float], policy: Policy
) -> None:
    schedule = simulate(jobs, speeds, policy)
    assert [a.job for a in schedule.assignments] == list(range(len(jobs)))
    for a in schedule.assignments:
        assert a.end - a.start == pytest.approx(jobs[a.job] / speeds[a.server])
    for server in range(len(speeds)):
        mine = sorted((a for a in schedule.assignments if a.server == server), key=lambda a: a.start)
        assert all(x.end <= y.start + 1e-9 for x, y in itertools.pairwise(mine))
    assert schedule.makespan >= makespan_lower_bound(jobs, speeds) - 1e-9 if jobs else schedule.makespan == 0


def test_work_stealing_beats_even_split_on_unequal_fleets() -> None:
    rnd = random.Random(7)
    jobs = [rnd.uniform(60, 120) for _ in range(200)]
    for speeds in ([3.0, 1.0, 1.0, 1.0], [4.0, 2.0, 1.0, 0.5, 0.25]):
        lpt = optimal_list_schedule(jobs, speeds).makespan
        stealing = simulate(jobs, speeds, Policy.WORK_STEALING).makespan
        aware = simulate(jobs, speeds, Policy.FINISH_AWARE).makespan
        even = simulate(jobs, speeds, Policy.EVEN_SPLIT).makespan
        assert stealing < even / 1.4
        assert aware <= 1.05 * lpt


def test_finish_aware_with_wrong_estimates_stays_close() -> None:
    rnd = random.Random(3)
    jobs = [rnd.uniform(60, 120) for _ in range(200)]
    estimates = [w * rnd.uniform(0.75, 1.25) for w in jobs]
    speeds = [4.0, 2.0, 1.0, 0.5, 0.25]
    aware = simulate(jobs, speeds, Policy.FINISH_AWARE, estimates).makespan
    assert aware <= 1.05 * optimal_list_schedule(jobs, speeds).makespan


def test_pick_job_leaves_the_last_big_job_to_a_fast_server() -> None:
    # The slow server is free now; the fast one frees up at t=1 and would finish the job at t=2, the
    # slow one only at t=10: the slow server waits.
    assert pick_job(1, 0.0, [10.0], [1.0, 0.0], [10.0, 1.0]) is None
    # With a second job queued, the fast server takes the first and the slow one the second.
    assert pick_job(1, 0.0, [10.0, 1.0], [1.0, 0.0], [10.0, 1.0]) == 1
    # A long queue has work for everyone: the head is taken.
    assert pick_job(1, 0.0, [10.0] * 5, [0.0, 0.0], [100.0, 1.0], lookahead=3) == 0


def test_bad_fleets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one server"):
        simulate([1.0], [], Policy.WORK_STEALING)
    with pytest.raises(ValueError, match="positive"):
        optimal_list_schedule([1.0], [0.0])
    with pytest.raises(ValueError, match="negative"):
        makespan_lower_bound([-1.0], [1.0])
    with pytest.raises(ValueError, match="estimate"):
        simulate([1.0], [1.0], Policy.FINISH_AWARE, [])
