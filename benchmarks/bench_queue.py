"""Claim throughput of the X121 job queue beside procrastinate and pgqueuer, in one run.

One fresh embedded PostgreSQL; each queue gets its own database on it (ours built by the
migrations, theirs by their own schema installers). For each queue and each worker count, N
no-op jobs are enqueued (not timed), then W concurrent workers drain them: every job is claimed
and completed, and the drain is timed from the first claim until the queue is empty. Afterwards
the database is asked how many jobs were completed, and how many claims were made, so a
duplicate or lost job shows up. All three dequeue one job per claim and commit its completion
before the next claim (pgqueuer: batch_size=1, its status log buffer flushed per job).

- x121: `claim(limit=1)` (fair share + FOR UPDATE SKIP LOCKED + lease + CLAIMED event + NOTIFY, one
  statement) then `transition(→SUCCEEDED)` (state machine checked, attempt row, event + NOTIFY, one
  statement): two transactions per job (autocommit: each statement is its own, committed before the
  next) on one connection per worker thread, jobs spread over 4 owners. Both are prepared statements.
- procrastinate: `App.run_worker_async(concurrency=W, wait=False)` over `PsycopgConnector`.
- pgqueuer: W `QueueManager`s, each on its own psycopg connection, `mode=drain`, batch_size=1; and
  again with its default batch_size=10 (10 jobs per dequeue, completions logged in batches), for
  reference: that row does less work per job than the others.

The "GOAL" lines compare ours with the faster of procrastinate and pgqueuer at one job per claim. The
queues run in interleaved rounds (`X121_BENCH_QUEUE_ROUNDS`, 3) and each cell is the median round,
so a change in machine load (printed) hits every queue alike.

    .venv/bin/python -m benchmarks queue          # X121_BENCH_QUEUE_JOBS=2000 by default
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text

from x121_desktop.core.enums import JobEventKind, JobKind, JobStatus
from x121_desktop.db.embedded import EmbeddedServer, start_embedded
from x121_desktop.db.migrate import upgrade
from x121_desktop.db.repositories import jobs as repo

WORKER_COUNTS = (1, 4)
LEASE = timedelta(seconds=60)
Result = tuple[float, int, int] | str
"""(seconds, completed, claims) or why it could not run."""


def _database(server: EmbeddedServer, name: str) -> str:
    with psycopg.connect(**server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


# ------------------------------------------------------------------------------ x121
def _ours(server: EmbeddedServer, jobs: int) -> dict[int, Result]:
    url = server.url(_database(server, "bench_x121"))
    engine = create_engine(url, pool_size=max(WORKER_COUNTS) + 1)
    upgrade(engine)
    with engine.begin() as conn:
        owners = [
            int(
                conn.execute(
                    text("INSERT INTO users (role_name, display_name, user_role_id) VALUES (:n, :n, 2) RETURNING id"),
                    {"n": f"bench_owner_{i}"},
                ).scalar_one()
            )
            for i in range(4)
        ]
    results: dict[int, Result] = {}
    try:
        for workers in WORKER_COUNTS:
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM jobs"))
                for i in range(jobs):
                    repo.enqueue(conn, repo.NewJob(kind=JobKind.GENERATE, inputs={}, owner_id=owners[i % 4]))

            def drain(n: int) -> None:
                holder = f"bench:{n}"
                # each call is one statement, so each is its own transaction (as procrastinate's procedure calls)
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    while True:
                        got = repo.claim(conn, holder, LEASE)
                        if not got:
                            return
                        repo.transition(conn, got[0].id, holder, JobStatus.SUCCEEDED, JobEventKind.SUCCEEDED)

            seconds = _threads(drain, workers)
            with engine.begin() as conn:
                done = int(
                    conn.execute(
                        text("SELECT count(*) FROM jobs WHERE job_status_id = :s"), {"s": int(JobStatus.SUCCEEDED)}
                    ).scalar_one()
                )
                claims = int(
                    conn.execute(
                        text("SELECT count(*) FROM job_events WHERE job_event_kind_id = :k"),
                        {"k": int(JobEventKind.CLAIMED)},
                    ).scalar_one()
                )
            results[workers] = (seconds, done, claims)
    finally:
        engine.dispose()
    return results


def _threads(work: Callable[[int], None], workers: int) -> float:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(workers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


# ------------------------------------------------------------------------------ procrastinate
def _procrastinate(server: EmbeddedServer, jobs: int) -> dict[int, Result]:
    try:
        import procrastinate
    except ImportError as exc:
        return dict.fromkeys(WORKER_COUNTS, f"not installed ({exc}); pip install procrastinate")
    info = server.conninfo(_database(server, "bench_procrastinate"))

    async def one(workers: int, first: bool) -> Result:
        connector = procrastinate.PsycopgConnector(kwargs=info, min_size=1, max_size=workers + 3)
        app = procrastinate.App(connector=connector)

        @app.task(name="noop", queue="bench")
        async def noop() -> None:
            return None

        async with app.open_async():
            if first:
                await app.schema_manager.apply_schema_async()
            async with connector.pool.connection() as conn:
                await conn.execute("DELETE FROM procrastinate_jobs")
            await noop.batch_defer_async(*[{} for _ in range(jobs)])
            started = time.perf_counter()
            await app.run_worker_async(
                concurrency=workers,
                wait=False,
                install_signal_handlers=False,
                listen_notify=False,
                fetch_job_polling_interval=0.05,
            )
            seconds = time.perf_counter() - started
            async with connector.pool.connection() as conn:
                cur = await conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'")
                done = (await cur.fetchone() or (0,))[0]
                cur = await conn.execute("SELECT count(*) FROM procrastinate_events WHERE type = 'started'")
                claims = (await cur.fetchone() or (0,))[0]
        return (seconds, int(done), int(claims))

    results: dict[int, Result] = {}
    for n, workers in enumerate(WORKER_COUNTS):
        results[workers] = _guard(functools.partial(_arun, one, workers, n == 0))
    return results


# ------------------------------------------------------------------------------ pgqueuer
def _pgqueuer(server: EmbeddedServer, jobs: int, batch: int) -> dict[int, Result]:
    try:
        from pgqueuer import PsycopgDriver, Queries, QueueManager
        from pgqueuer.types import QueueExecutionMode
    except ImportError as exc:
        return dict.fromkeys(WORKER_COUNTS, f"not installed ({exc}); pip install pgqueuer")
    info = server.conninfo(_database(server, f"bench_pgqueuer_{batch}"))

    async def one(workers: int, first: bool) -> Result:
        admin = await psycopg.AsyncConnection.connect(**info, autocommit=True)
        try:
            queries = Queries(PsycopgDriver(admin))
            if first:
                await queries.install()
            await admin.execute("DELETE FROM pgqueuer")
            await admin.execute("DELETE FROM pgqueuer_log")
            await queries.enqueue(["noop"] * jobs, [None] * jobs, [0] * jobs)
            conns = [await psycopg.AsyncConnection.connect(**info, autocommit=True) for _ in range(workers)]
            managers = []
            for conn in conns:
                qm = QueueManager(Queries(PsycopgDriver(conn)))

                @qm.entrypoint("noop")
                async def noop(job: Any) -> None:
                    return None

                managers.append(qm)
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    qm.run(batch_size=batch, mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=0.05))
                    for qm in managers
                )
            )
            seconds = time.perf_counter() - started
            for conn in conns:
                await conn.close()
            cur = await admin.execute("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")
            done = (await cur.fetchone() or (0,))[0]
            cur = await admin.execute("SELECT count(*) FROM pgqueuer_log WHERE status = 'picked'")
            claims = (await cur.fetchone() or (0,))[0]
            return (seconds, int(done), int(claims))
        finally:
            await admin.close()

    results: dict[int, Result] = {}
    for n, workers in enumerate(WORKER_COUNTS):
        results[workers] = _guard(functools.partial(_arun, one, workers, n == 0))
    return results


def _arun(one: Callable[[int, bool], Coroutine[Any, Any, Result]], workers: int, first: bool) -> Result:
    return asyncio.run(one(workers, first))


def _guard(fn: Callable[[], Result]) -> Result:
    try:
        return fn()
    except Exception as exc:
        first = str(exc).strip().splitlines()[:1]
        return f"failed: {type(exc).__name__}: {first[0] if first else ''}"


# ------------------------------------------------------------------------------ report
def _cell(result: Result, jobs: int) -> str:
    if isinstance(result, str):
        return "n/a"
    seconds, done, claims = result
    mark = "" if done == jobs and claims == jobs else f" (done {done}, claims {claims}!)"
    return f"{jobs / seconds:8.0f}{mark}"


def _median(results: list[Result]) -> Result:
    """The round with the median time (a failure, if any round failed)."""
    failed = [r for r in results if isinstance(r, str)]
    if failed:
        return failed[0]
    timed = sorted((r for r in results if not isinstance(r, str)), key=lambda r: r[0])
    return timed[len(timed) // 2]


def run() -> None:
    jobs = int(os.environ.get("X121_BENCH_QUEUE_JOBS", "2000"))
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="x121-bench-queue-"))
    root.chmod(0o755)
    server = start_embedded(root / "pgdata")
    runners: dict[str, Callable[[], dict[int, Result]]] = {
        "x121 (ours)": lambda: _ours(server, jobs),
        "procrastinate": lambda: _procrastinate(server, jobs),
        "pgqueuer": lambda: _pgqueuer(server, jobs, 1),
        "pgqueuer (b=10)": lambda: _pgqueuer(server, jobs, 10),
    }
    rounds: dict[str, list[dict[int, Result]]] = {name: [] for name in runners}
    try:
        for _ in range(max(1, int(os.environ.get("X121_BENCH_QUEUE_ROUNDS", "3")))):
            for name, one in runners.items():  # interleaved, so a load change hits every queue alike
                rounds[name].append(one())
        table = {name: {w: _median([r[w] for r in done]) for w in WORKER_COUNTS} for name, done in rounds.items()}
    finally:
        server.release()
        shutil.rmtree(root, ignore_errors=True)
    count = len(next(iter(rounds.values())))
    print(f"claim + complete throughput, {jobs} no-op jobs, jobs/s (higher is better), median of {count} rounds")
    load = "/".join(f"{v:.2f}" for v in load_before)
    print(f"machine load average (1/5/15 min) before: {load}; after: {'/'.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'queue':<16}" + "".join(f"{f'{w} worker' + ('s' if w > 1 else ''):>14}" for w in WORKER_COUNTS))
    for name, results in table.items():
        print(f"{name:<16}" + "".join(f"{_cell(results[w], jobs):>14}" for w in WORKER_COUNTS))
    for name, results in table.items():
        for w, r in results.items():
            if isinstance(r, str):
                print(f"  {name}, {w} worker(s): {r}")
    for w in WORKER_COUNTS:
        ours = table["x121 (ours)"][w]
        others = [v[w] for k, v in table.items() if k in ("procrastinate", "pgqueuer") and not isinstance(v[w], str)]
        if isinstance(ours, str) or not others:
            continue
        best = min(r[0] for r in others if not isinstance(r, str))
        verdict = "MET" if ours[0] <= best else "NOT MET"
        print(
            f"GOAL claim throughput ≥ the faster of procrastinate/pgqueuer, {w} worker(s): {verdict} "
            f"(ours {jobs / ours[0]:.0f} jobs/s = {best / ours[0]:.2f}x theirs {jobs / best:.0f} jobs/s)"
        )


if __name__ == "__main__":
    run()
