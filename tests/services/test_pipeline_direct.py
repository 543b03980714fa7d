"""`x121 scene direct` as a long-running process beside an `x121 worker`: killed mid-chain and
started again, the chain still completes exactly once (one job per take, no duplicate takes), and
the killed director's segment lock is never renewed again (it lapses by itself) while the
restarted one leaves no lock behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.pipeline_studio import SMALL, rows, setup_graded_studio
from tests.services.test_pipeline_e2e import Cli, database, server
from x121_desktop.core.enums import SceneStatus
from x121_desktop.services.scene_locks import DIRECTOR_TTL_S

__all__ = ["database", "server"]
REPO = Path(__file__).resolve().parents[2]


def _spawn(base: list[str], *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "x121_desktop", *base, *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_director_killed_mid_chain_restarts_and_completes_once(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_graded_studio(cli, server, tmp_path)
    cli("scene", "create", "Ada", "direct", "--workflow", "graded", "--duration", "41-45f", *SMALL)
    cli("scene", "generate", "Ada/direct")  # queue the chain and submit segment 1; no waiting

    def jobs() -> int:
        return len(rows(engine, "SELECT 1 FROM jobs"))

    worker = _spawn(cli.base, "worker", "--lease", "5", "--grace", "5")
    director = _spawn(cli.base, "scene", "direct")
    try:
        _until("segment 2 submitted", lambda: jobs() >= 2)
        director.kill()  # mid-chain, no goodbye
        director.communicate(timeout=10)
        assert director.returncode == -signal.SIGKILL
        [killed_at] = rows(engine, "SELECT now() AS at")
        held = rows(engine, "SELECT segment_id, expires_at FROM segment_locks WHERE expires_at > now()")
        assert held, "the director held no segment lock while segment 2 generated"
        director = _spawn(cli.base, "scene", "direct")

        def done() -> bool:
            [scene] = rows(engine, "SELECT scene_status_id FROM scenes")
            return SceneStatus(scene.scene_status_id) is SceneStatus.IN_REVIEW

        _until("the chain to complete", done)
        time.sleep(2.5)  # another round of the restarted director: it must add nothing
    finally:
        direct_err = _stop(director)
        worker_err = _stop(worker)
    assert "Traceback" not in direct_err, direct_err
    assert "Traceback" not in worker_err, worker_err
    # The killed director's leases were never renewed and lapse by themselves (DIRECTOR_TTL_S after the
    # kill at the latest); the restarted one released every lock it took when the scene went to review.
    live = rows(engine, "SELECT segment_id, expires_at FROM segment_locks WHERE expires_at > now()")
    assert {tuple(r) for r in live} <= {tuple(r) for r in held}
    assert all(r.expires_at <= killed_at.at + timedelta(seconds=DIRECTOR_TTL_S) for r in held)

    takes = rows(engine, "SELECT id, segment_id, job_id FROM takes ORDER BY id")
    assert len(takes) == 3
    assert len({t.segment_id for t in takes}) == 3
    job_rows = rows(engine, "SELECT id, take_id FROM jobs ORDER BY id")
    assert len(job_rows) == 3
    assert sorted(j.take_id for j in job_rows) == [t.id for t in takes]
    assert {t.job_id for t in takes} == {j.id for j in job_rows}
    assert len(rows(engine, "SELECT 1 FROM seams")) == 2
    status = cli.json("scene", "status", "Ada/direct")
    assert [s["status"] for s in status["segments"]] == ["in_review"] * 3
