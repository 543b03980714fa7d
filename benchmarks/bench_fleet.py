"""Fleet makespan: our dispatch policies against the offline LPT list schedule and SwarmUI's even split.

Simulated (core.orchestration.simulate), so it needs no GPU and is deterministic. Each fleet runs a
batch of segment jobs whose work amounts vary (Wan 2.2 i2v segments of different lengths plus short
heal jobs); work is in seconds on a speed-1.0 server. For every fleet it prints the makespan of
- "stealing": plain work stealing (a free server takes the next queued job),
- "aware":    finish-time-aware work stealing with exact work estimates,
- "aware±25%": the same when the dispatcher's estimates are off by up to ±25 %,
- "even":     SwarmUI #247's even pre-assignment,
each as a ratio to the LPT list schedule (goal ≤ 1.05x), and LPT's own ratio to the lower bound
(preemptive optimum), which says how far LPT itself can be from the true optimum.
"""

from __future__ import annotations

import random

from x121_desktop.core.orchestration.simulate import Policy, makespan_lower_bound, optimal_list_schedule, simulate

GOAL = 1.05
FLEETS: dict[str, list[float]] = {
    "4 equal GPUs": [1.0, 1.0, 1.0, 1.0],
    "1 fast + 3 old": [3.0, 1.0, 1.0, 1.0],
    "2 fast, 2 mid, 2 slow": [2.0, 2.0, 1.0, 1.0, 0.5, 0.5],
    "16x spread (H100..T4)": [4.0, 2.0, 1.0, 0.5, 0.25],
    "graded 5": [1.0, 0.8, 0.6, 0.4, 0.2],
    "8 mixed": [2.5, 2.5, 1.6, 1.6, 1.0, 1.0, 0.7, 0.4],
}
BATCHES = (("200 jobs", 200), ("40 jobs", 40))
SEEDS = range(5)


def batch(rnd: random.Random, count: int) -> list[float]:
    """Segment jobs of 49-121 frames (~1.5 s of work per frame) with every fifth job a short heal."""
    return [rnd.uniform(10, 30) if i % 5 == 4 else rnd.randint(49, 121) * 1.5 for i in range(count)]


def run() -> None:
    header = f"{'fleet':24} {'batch':9} {'stealing':>9} {'aware':>7} {'aware±25%':>10} {'even':>6} {'LPT/LB':>7}"
    print("makespan / LPT list schedule (mean of 5 seeds); goal ≤ 1.05x")
    print(header)
    worst: dict[str, float] = {}
    for fleet, speeds in FLEETS.items():
        for label, count in BATCHES:
            ratios: dict[str, list[float]] = {"stealing": [], "aware": [], "noisy": [], "even": [], "lb": []}
            for seed in SEEDS:
                rnd = random.Random(seed)
                jobs = batch(rnd, count)
                estimates = [w * rnd.uniform(0.75, 1.25) for w in jobs]
                lpt = optimal_list_schedule(jobs, speeds).makespan
                ratios["stealing"].append(simulate(jobs, speeds, Policy.WORK_STEALING).makespan / lpt)
                ratios["aware"].append(simulate(jobs, speeds, Policy.FINISH_AWARE).makespan / lpt)
                ratios["noisy"].append(simulate(jobs, speeds, Policy.FINISH_AWARE, estimates).makespan / lpt)
                ratios["even"].append(simulate(jobs, speeds, Policy.EVEN_SPLIT).makespan / lpt)
                ratios["lb"].append(lpt / makespan_lower_bound(jobs, speeds))
            for key in ("stealing", "aware", "noisy"):
                worst[f"{key} {label}"] = max(worst.get(f"{key} {label}", 0.0), *ratios[key])
            cells = [_cell(ratios[k], w) for k, w in (("stealing", 9), ("aware", 7), ("noisy", 10), ("even", 6))]
            print(f"{fleet:24} {label:9} {' '.join(cells)} {_mean(ratios['lb']):7.3f}")
    print("worst single run over all fleets and seeds:")
    for name, value in worst.items():
        policy, _, label = name.partition(" ")
        policy = {"noisy": "aware±25%"}.get(policy, policy)
        verdict = "meets" if value <= GOAL else "MISSES"
        print(f"  {policy:10} {label:9} {value:.3f}  ({verdict} ≤ {GOAL}x)")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _cell(values: list[float], width: int) -> str:
    text = f"{_mean(values):.3f}"
    return f"{text:>{width}}"


if __name__ == "__main__":
    run()
