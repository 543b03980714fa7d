"""Fleet makespan: the dispatcher's own claims on a simulated fleet of unequal servers, against the LPT list schedule.

The servers are simulated (virtual time, no GPU), the dispatcher is not: every decision comes from
the real claim path on the embedded PostgreSQL. `Claimer.claim` (services/orchestrator/claims.py)
runs the claim transaction of `db.repositories.job_dispatch.claim_placed`: the fair-share SQL order
(batches FIFO, largest estimated work first inside a batch), placement and the finish-time-aware
rule (`core.orchestration.finish.next_start`: a slow free server declines a job a faster server
that frees up soon would finish sooner). Jobs are queued with `jobs.enqueue` in one transaction per
user's batch, their work estimates are `comfy.needs.work_estimate` of their prompts (832x480 x
frames), and the servers' speeds are the dispatcher's `measured_speeds` (estimated work per GPU
second of each server's recent jobs: five jobs per server are run and billed before the batch; all
registered speed factors are 1.0). When a job's simulated run ends it is marked succeeded and billed
(`job_runs.record_cost`), which frees its slot and updates the measured speeds. Each server holds
one job at a time (slots 1, no queued slot).

A batch: segment jobs of 49-121 frames (~1.5 s per frame on a speed-1.0 server) with every fifth a
short heal (7-20 frames). Printed per fleet, mean over 5 seeds, as a ratio to the LPT list schedule
(Gonzalez, Ibarra & Sahni; `core.orchestration.simulate.optimal_list_schedule`, which knows every
job's true size in advance):
- "ours": the dispatcher, one user's batch;
- "ours4": the dispatcher, the jobs spread over 4 users (4 batches, fair share between them, the
  final wave longest first across them: docs/QUEUE.md rule 5);
- "ours±25%": "ours" with every job's true time off its estimate by up to ±25 % (speeds measured
  from the same noisy jobs);
- "steal" (plain work stealing) and "even" (SwarmUI #247's even split) for comparison, and LPT's
  own distance from the preemptive lower bound.
The goal lines (≤ 1.05x, worst single run over fleets and seeds) are for "ours" and "ours4".
"""

from __future__ import annotations

import os
import queue
import random
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from x121_desktop.comfy.needs import work_estimate
from x121_desktop.core.enums import JobKind, JobStatus, ServerStatus, UserRole
from x121_desktop.core.ids import JobId, ServerId
from x121_desktop.core.orchestration.simulate import Policy, makespan_lower_bound, optimal_list_schedule, simulate
from x121_desktop.db.embedded import start_embedded
from x121_desktop.db.migrate import upgrade
from x121_desktop.db.repositories import job_dispatch, job_runs
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.services.orchestrator.claims import Claimer
from x121_desktop.services.orchestrator.fleet import Fleet, ServerRow, measured_speeds

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
SECONDS_PER_FRAME = 1.5
"""On a speed-1.0 server, one 832x480 frame."""
PIXELS = 832 * 480
HISTORY = 5
"""Jobs each server runs (and is billed for) before the batch: what its measured speed comes from."""
COLUMNS = ("ours", "ours4", "ours±25%", "steal", "even")


def batch_frames(rnd: random.Random, count: int) -> list[int]:
    """Segment lengths of 49-121 frames, every fifth job a short heal of 7-20 frames."""
    return [rnd.randint(7, 20) if i % 5 == 4 else rnd.randint(49, 121) for i in range(count)]


def prompt(frames: int) -> dict[str, Any]:
    return {"1": {"class_type": "WanImageToVideo", "inputs": {"width": 832, "height": 480, "length": frames}}}


@dataclass
class Sim:
    """One database with the fleet's servers and four users; runs batches through the real claim."""

    engine: Engine
    users: list[int]

    def servers(self, count: int) -> list[ServerRow]:
        with self.engine.begin() as conn:
            self._wipe(conn)
            conn.execute(text("DELETE FROM comfy_servers"))
            rows = []
            for index in range(count):
                server_id = conn.execute(
                    text(
                        "INSERT INTO comfy_servers (name, base_url, server_status_id, slots, queued_slots) "
                        "VALUES (:n, :u, :s, 1, 0) RETURNING id"
                    ),
                    {"n": f"sim{index}", "u": f"http://sim{index}.invalid:8188", "s": int(ServerStatus.ONLINE)},
                ).scalar_one()
                rows.append(ServerRow(ServerId(server_id), f"sim{index}", f"http://sim{index}.invalid:8188", 1, 0, 1.0))
        return rows

    def _wipe(self, conn: Any) -> None:
        for statement in ("DELETE FROM notifications", "DELETE FROM activity_events", "DELETE FROM cost_records",
                          "DELETE FROM jobs"):  # fmt: skip
            conn.execute(text(statement))

    def run(self, rows: list[ServerRow], speeds: list[float], frames: list[int], noise: list[float],
            owners: list[int], history: list[tuple[int, float]]) -> float:  # fmt: skip
        """Makespan of the batch (`frames`, true time = estimate x `noise`) on servers of true `speeds`."""
        with self.engine.begin() as conn:
            self._wipe(conn)
        fleet = Fleet(rows, "bench-fleet", queue.Queue())
        fleet.use_stored({int(r.id): (frozenset({"WanImageToVideo"}), frozenset()) for r in rows})
        claimer = Claimer(self.engine, fleet, "bench-fleet", lease_s=3600.0)
        true_speed = {r.id: s for r, s in zip(rows, speeds, strict=True)}
        try:
            self._history(rows, true_speed, history)
            jobs = self._queue(frames, owners)
            truth = {job: work_estimate(prompt(f)) * SECONDS_PER_FRAME / PIXELS * n
                     for job, f, n in zip(jobs, frames, noise, strict=True)}  # fmt: skip
            return self._loop(claimer, rows, true_speed, truth)
        finally:
            claimer.close()

    def _history(self, rows: list[ServerRow], speed: dict[ServerId, float], history: list[tuple[int, float]]) -> None:
        with self.engine.begin() as conn:
            for row in rows:
                for frames, n in history:
                    job = repo.enqueue(conn, self._new(frames, self.users[0]))
                    job_dispatch.assign(conn, job.id, "bench-history", timedelta(hours=1), row.id, {})
                    self._end(conn, job.id, row.id, frames * SECONDS_PER_FRAME * n / speed[row.id])

    def _new(self, frames: int, owner: int) -> repo.NewJob:
        body = prompt(frames)
        return repo.NewJob(JobKind.GENERATE, {"prompt": body}, owner_id=owner, work_estimate=work_estimate(body))

    def _queue(self, frames: list[int], owners: list[int]) -> list[JobId]:
        """One transaction (one batch) per owner, each owner's jobs in list order."""
        ids: dict[int, JobId] = {}
        for owner in dict.fromkeys(owners):
            with self.engine.begin() as conn:
                for index, (f, o) in enumerate(zip(frames, owners, strict=True)):
                    if o == owner:
                        ids[index] = repo.enqueue(conn, self._new(f, self.users[o])).id
        return [ids[i] for i in range(len(frames))]

    def _end(self, conn: Any, job_id: int, server_id: int, seconds: float) -> None:
        conn.execute(
            text("UPDATE jobs SET job_status_id = :s, lease_holder = NULL, lease_expires_at = NULL, "
                 "finished_at = now() WHERE id = :j"), {"s": int(JobStatus.SUCCEEDED), "j": job_id},
        )  # fmt: skip
        job_runs.record_cost(conn, job_id, server_id, seconds)

    def _loop(
        self, claimer: Claimer, rows: list[ServerRow], speed: dict[ServerId, float], truth: dict[JobId, float]
    ) -> float:
        now, left = 0.0, set(truth)
        running: dict[JobId, tuple[ServerId, float, float]] = {}
        with self.engine.connect() as conn:
            speeds, per_second = measured_speeds(conn, rows)
        while left or running:
            while (claim := claimer.claim(set(), speeds, True, per_second)) is not None:
                job, server = claim.job.id, claim.handle.id
                running[job] = (server, now, now + truth[job] / speed[server])
                left.discard(job)
            if not running:
                raise AssertionError(f"the claim left every server idle with {len(left)} jobs queued")
            now = min(end for _, _, end in running.values())
            with self.engine.begin() as conn:
                for job, (server, _, end) in list(running.items()):
                    if end <= now:
                        self._end(conn, job, server, truth[job] / speed[server])
                        del running[job]
                        claimer.work.pop(job, None)
                speeds, per_second = measured_speeds(conn, rows)
            self._started(running, now)
        return now

    def _started(self, running: dict[JobId, tuple[ServerId, float, float]], now: float) -> None:
        """The runner's RUNNING transition for each running job, at its virtual start on the database clock."""
        with self.engine.begin() as conn:
            for job, (_, start, _) in running.items():
                conn.execute(
                    text("UPDATE jobs SET job_status_id = :r, updated_at = now() - make_interval(secs => :ago) "
                         "WHERE id = :j"), {"r": int(JobStatus.RUNNING), "ago": now - start, "j": job},
                )  # fmt: skip


def _setup(root: Path) -> tuple[Any, Engine]:
    pg = start_embedded(root / "pgdata")
    with psycopg.connect(**pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "bench_fleet"')
        conn.execute('CREATE DATABASE "bench_fleet"')
    engine = create_engine(pg.url("bench_fleet"), pool_size=2)
    upgrade(engine)
    return pg, engine


def _users(engine: Engine) -> list[int]:
    with engine.begin() as conn:
        return [
            int(conn.execute(
                text("INSERT INTO users (role_name, display_name, user_role_id) VALUES (:r, :d, :k) RETURNING id"),
                {"r": f"fleet_{uuid.uuid4().hex[:8]}", "d": f"Artist {i}", "k": int(UserRole.CREATOR)},
            ).scalar_one())
            for i in range(4)
        ]  # fmt: skip


def _scenario(sim: Sim, speeds: list[float], count: int, seed: int) -> dict[str, float]:
    rnd = random.Random(seed)
    frames = batch_frames(rnd, count)
    noise = [rnd.uniform(0.75, 1.25) for _ in frames]
    history = [(rnd.randint(49, 121), 1.0) for _ in range(HISTORY)]
    noisy_history = [(f, rnd.uniform(0.75, 1.25)) for f, _ in history]
    exact = [1.0] * count
    rows = sim.servers(len(speeds))
    truth = [f * SECONDS_PER_FRAME for f in frames]
    truth_noisy = [t * n for t, n in zip(truth, noise, strict=True)]
    one, four = [0] * count, [i % 4 for i in range(count)]
    lpt = optimal_list_schedule(truth, speeds).makespan
    lpt_noisy = optimal_list_schedule(truth_noisy, speeds).makespan
    return {
        "ours": sim.run(rows, speeds, frames, exact, one, history) / lpt,
        "ours4": sim.run(rows, speeds, frames, exact, four, history) / lpt,
        "ours±25%": sim.run(rows, speeds, frames, noise, one, noisy_history) / lpt_noisy,
        "steal": simulate(truth, speeds, Policy.WORK_STEALING).makespan / lpt,
        "even": simulate(truth, speeds, Policy.EVEN_SPLIT).makespan / lpt,
        "lb": lpt / makespan_lower_bound(truth, speeds),
    }


def run() -> None:
    root = Path(tempfile.mkdtemp(prefix="x121-bench-fleet-"))
    root.chmod(0o755)
    load_before, began = os.getloadavg(), time.perf_counter()
    pg, engine = _setup(root)
    worst: dict[tuple[str, str], float] = {}
    try:
        sim = Sim(engine, _users(engine))
        print("makespan / LPT list schedule (mean of 5 seeds); the dispatcher's real claims on a simulated fleet")
        print(f"{'fleet':24} {'batch':9}" + "".join(f"{k:>10}" for k in COLUMNS) + f"{'LPT/LB':>8}")
        for fleet, speeds in FLEETS.items():
            for label, count in BATCHES:
                per_seed = [_scenario(sim, speeds, count, seed) for seed in SEEDS]
                for key in COLUMNS:
                    worst[key, label] = max(worst.get((key, label), 0.0), *(r[key] for r in per_seed))
                cells = "".join(f"{statistics.mean(r[k] for r in per_seed):10.3f}" for k in COLUMNS)
                print(f"{fleet:24} {label:9}{cells}{statistics.mean(r['lb'] for r in per_seed):8.3f}")
    finally:
        engine.dispose()
        pg.release()
        shutil.rmtree(root, ignore_errors=True)
    print("worst single run over all fleets and seeds:")
    for label, _ in BATCHES:
        print(f"  {label:9}" + "".join(f"{k} {worst[k, label]:.3f}  " for k in COLUMNS))
    print(f"({time.perf_counter() - began:.0f} s; load average before {'/'.join(f'{v:.2f}' for v in load_before)})")
    for label, _ in BATCHES:
        for key, what in (("ours", "one user's batch"), ("ours4", "4 users' batches")):
            value = worst[key, label]
            verdict = "MET" if value <= GOAL else "NOT MET"
            print(f"GOAL fleet makespan ≤ {GOAL}x LPT list schedule, {label}, {what}: {verdict} (worst {value:.3f})")
        print(f"  (with estimates off by up to ±25 %, not a goal: worst {worst['ours±25%', label]:.3f})")


if __name__ == "__main__":
    run()
