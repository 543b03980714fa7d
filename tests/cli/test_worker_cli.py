"""`x121 worker`: headless dispatching against a real database and a stand-in ComfyUI server."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_dispatch_acceptance import start_servers, start_worker, wait_until
from tests.services.test_runner import fresh_database, insert_job, job_state, quick_prompt, register_server, tiny_png
from x121_desktop.cli.main import main
from x121_desktop.core.enums import JobStatus


@pytest.fixture
def database(new_database: Callable[[], str]) -> Iterator[tuple[str, Engine]]:
    url = fresh_database(new_database)
    engine = create_engine(url, pool_size=1)
    try:
        yield url, engine
    finally:
        engine.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ComfyTestServer]:
    [srv] = start_servers(tmp_path, [0.0])
    try:
        yield srv
    finally:
        srv.stop()


def test_once_runs_what_is_queued_and_prints_a_json_summary(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    register_server(engine, "gpu1", server.url)
    jobs = [insert_job(engine, quick_prompt(f"cli{n}")) for n in range(3)]
    code = main(
        ["--database-url", url, "--home", str(tmp_path / "home"), "worker", "--servers", "gpu1", "--once", "--json"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["claimed"] == 3
    assert summary["finished"] == {"succeeded": 3}
    assert all(job_state(engine, job)[0] is JobStatus.SUCCEEDED for job in jobs)


def test_unknown_server_name_is_one_sentence(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    register_server(engine, "gpu1", server.url)
    code = main(["--database-url", url, "--home", str(tmp_path / "home"), "worker", "--servers", "gpu9", "--once"])
    assert code != 0
    err = capsys.readouterr().err
    assert "No enabled ComfyUI server is registered as gpu9" in err
    assert "x121 server" in err


def test_sigterm_finishes_the_running_job_and_leaves_the_rest_queued(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path
) -> None:
    url, engine = database
    register_server(engine, "gpu1", server.url, queued=0)  # one job at a time
    server.faults.node_delay_s = 0.5
    first = insert_job(engine, quick_prompt("term1"), priority=5)
    second = insert_job(engine, quick_prompt("term2"))
    worker = start_worker(url, tmp_path / "home", tmp_path / "worker.log")
    try:
        wait_until(lambda: job_state(engine, first)[0] is JobStatus.RUNNING, 30, "the first job to run")
        worker.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert worker.wait(timeout=20) == 0
        assert time.monotonic() - started < 15
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert job_state(engine, first)[0] is JobStatus.SUCCEEDED  # followed to its end, not abandoned
    with engine.connect() as conn:
        row = conn.execute(text("SELECT job_status_id, lease_holder FROM jobs WHERE id = :j"), {"j": second}).one()
    assert (JobStatus(row.job_status_id), row.lease_holder) == (JobStatus.QUEUED, None)
    assert "claimed 1; 1 succeeded" in (tmp_path / "worker.log").read_text()


def test_headless_chain_server_add_workflow_import_job_submit_worker(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    base = ["--database-url", url, "--home", str(tmp_path / "home")]
    workflows = Path(__file__).resolve().parents[2] / "workflows"
    seed = tmp_path / "seed.png"
    seed.write_bytes(tiny_png(7, size=48))
    assert main([*base, "server", "add", "--name", "gpu1", server.url]) == 0
    assert (
        main(
            [
                *base,
                "workflow",
                "import",
                "--name",
                "i2v",
                str(workflows / "x121-i2v-modelfree.api.json"),
                "--manifest",
                str(workflows / "x121-i2v-modelfree.manifest.json"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                *base,
                "job",
                "submit",
                "i2v",
                "--input",
                f"seed_image_a={seed}",
                "--input",
                "frame_count=2",
                "--input",
                "width=64",
                "--input",
                "height=64",
                "--json",
            ]
        )
        == 0
    )
    job_id = int(json.loads(capsys.readouterr().out)["job"]["id"])
    assert main([*base, "worker", "--once", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["finished"] == {"succeeded": 1}
    assert job_state(engine, job_id)[0] is JobStatus.SUCCEEDED
    with engine.connect() as conn:
        names = [
            r.rel_path
            for r in conn.execute(
                text("SELECT f.rel_path FROM job_outputs o JOIN files f ON f.id = o.file_id WHERE o.job_id = :j"),
                {"j": job_id},
            )
        ]
    assert sorted(Path(n).suffix for n in names) == [".mp4", ".png", ".webp"]  # video, last frame, preview
