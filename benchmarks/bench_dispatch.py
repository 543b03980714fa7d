"""Dispatch overhead: claim transaction start → POST /prompt accepted, p50/p95 over 200+ jobs.

One in-process dispatcher on the embedded database drives two stand-in ComfyUI servers (from
tests/comfyui_server), each in its own process as a real ComfyUI would be. Jobs are the quick-png workflow with a stored
input image each, so every job pays: the claim with placement (fair share, capabilities, the
finish-aware rule, the server's advisory lock), reading its prompt, the upload and POST /prompt
(the UPLOADING and SUBMITTED state changes are written right after the POST, off this path).
Goal: p50 ≤ 15 ms, as the median over `X121_BENCH_DISPATCH_RUNS` (3) runs of
`X121_BENCH_DISPATCH_JOBS` (200) jobs; the machine's load average is printed beside it, and where
the time goes (claim transaction, handoff to the upload/POST thread, upload, POST /prompt).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy import create_engine

from x121_desktop.db.embedded import start_embedded
from x121_desktop.db.migrate import upgrade
from x121_desktop.services.bootstrap import LaunchOptions, open_studio
from x121_desktop.services.orchestrator.dispatcher import DispatchStats

GOAL_P50_MS = 15.0
REPO = Path(__file__).resolve().parents[1]
STAND_IN = """
import sys
from pathlib import Path
from tests.comfy.conftest import astronaut_png
from tests.comfyui_server import ComfyTestServer
server = ComfyTestServer(Path(sys.argv[1]))
(server.root / "input" / "astronaut.png").write_bytes(astronaut_png())
server.start()
print(server.url, flush=True)
sys.stdin.read()
server.stop()
"""


def _stand_in(root: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", STAND_IN, str(root)]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def run() -> None:
    from tests.services.test_runner import insert_job, quick_prompt, register_server, store_file, tiny_png
    from x121_desktop.services.orchestrator.dispatcher import Dispatcher

    jobs = max(200, int(os.environ.get("X121_BENCH_DISPATCH_JOBS", "200")))
    runs = max(1, int(os.environ.get("X121_BENCH_DISPATCH_RUNS", "3")))
    results: dict[str, list[DispatchStats]] = {}
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="x121-bench-dispatch-"))
    root.chmod(0o755)
    pg = start_embedded(root / "pgdata")
    servers: list[subprocess.Popen[str]] = []
    try:
        with psycopg.connect(**pg.conninfo("postgres"), autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "bench_dispatch"')
            conn.execute('CREATE DATABASE "bench_dispatch"')
        url = pg.url("bench_dispatch")
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        studio = open_studio(LaunchOptions(database_url=url, home=str(root / "home")))
        try:
            for index in range(2):
                proc, server_url = _stand_in(root / f"comfy{index}")
                servers.append(proc)
                register_server(studio.engine, f"bench{index}", server_url)
            media = studio.paths.media_root
            for label, upload in (("one input uploaded per job", True), ("inputs already on the server", False)):
                for rnd in range(runs):
                    for n in range(jobs):
                        files = {"1.image": store_file(studio.engine, media, tiny_png(n))} if upload else None
                        insert_job(studio.engine, quick_prompt(f"{int(upload)}b{rnd}r{n}"), files)
                    dispatcher = Dispatcher(studio, lease_s=10.0, poll_s=1.0, claim_every_s=0.05, once=True)
                    results.setdefault(label, []).append(asyncio.run(dispatcher.run()))
        finally:
            studio.close()
    finally:
        for proc in servers:
            proc.communicate(timeout=30)
        pg.release()
        shutil.rmtree(root, ignore_errors=True)
    _report(results, jobs, runs, load_before, os.getloadavg())


def _report(
    results: dict[str, list[DispatchStats]],
    jobs: int,
    runs: int,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    print(f"dispatch overhead, claim → POST /prompt accepted, {jobs} jobs x {runs} runs per row on 2 stand-in servers")
    print(f"machine load average (1/5/15 min): before {_load(load_before)}, after {_load(load_after)}; "
          f"{os.cpu_count()} cores")  # fmt: skip
    medians: list[float] = []
    for label, runs_stats in results.items():
        p50s = [statistics.median(r.overhead_ms) for r in runs_stats if r.overhead_ms]
        if not p50s:
            print(f"{label:30}  no job reached POST /prompt")
            continue
        pooled = sorted(x for r in runs_stats for x in r.overhead_ms)
        p95 = pooled[min(len(pooled) - 1, round(0.95 * (len(pooled) - 1)))]
        median = statistics.median(p50s)
        medians.append(median)
        runs_text = ", ".join(f"{v:.1f}" for v in p50s)
        print(f"{label:30}  p50 {median:6.1f} ms (runs: {runs_text})  p95 {p95:6.1f} ms  max {pooled[-1]:6.1f} ms")
        parts = {"claim txn": [x for r in runs_stats for x in r.claim_ms]}
        for r in runs_stats:
            for phase, values in r.phases.items():
                parts.setdefault(phase, []).extend(values)
        print(
            "    where it goes (p50 ms): " + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in parts.items() if v)
        )
        print(f"    finished: {[r.finished for r in runs_stats]}")
    worst = max(medians, default=float("inf"))
    verdict = "MET" if worst <= GOAL_P50_MS else "NOT MET"
    print(f"GOAL dispatch overhead p50 ≤ {GOAL_P50_MS:g} ms: {verdict} (worst row {worst:.1f} ms)")


def _load(values: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)
