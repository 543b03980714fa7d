"""Dispatch overhead: claim transaction start → POST /prompt accepted, p50/p95 over 200+ jobs.

One in-process dispatcher on the embedded database drives two stand-in ComfyUI servers (from
tests/comfyui_server), each in its own process as a real ComfyUI would be. Jobs are the quick-png workflow with a stored
input image each, so every job pays: the claim with placement (capabilities + advisory lock),
reading its prompt, the UPLOADING and SUBMITTED state changes (each an event + NOTIFY), the upload
and POST /prompt. Goal: p50 ≤ 15 ms. `X121_BENCH_DISPATCH_JOBS` changes the job count.
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
            results = {}
            for label, upload in (("one input uploaded per job", True), ("inputs already on the server", False)):
                for n in range(jobs):
                    files = {"1.image": store_file(studio.engine, media, tiny_png(n))} if upload else None
                    insert_job(studio.engine, quick_prompt(f"{int(upload)}b{n}"), files)
                dispatcher = Dispatcher(studio, lease_s=10.0, poll_s=1.0, claim_every_s=0.05, once=True)
                results[label] = asyncio.run(dispatcher.run())
        finally:
            studio.close()
    finally:
        for proc in servers:
            proc.communicate(timeout=30)
        pg.release()
        shutil.rmtree(root, ignore_errors=True)
    print(f"dispatch overhead, claim → POST /prompt accepted, {jobs} jobs per row on 2 stand-in servers")
    for label, stats in results.items():
        samples = sorted(stats.overhead_ms)
        if not samples:
            print(f"{label:30}  no job reached POST /prompt")
            continue
        p50 = statistics.median(samples)
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        verdict = "meets" if p50 <= GOAL_P50_MS else "misses"
        print(
            f"{label:30}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {samples[-1]:6.1f} ms  "
            f"({verdict} goal p50 ≤ {GOAL_P50_MS:g} ms; finished {stats.finished})"
        )
