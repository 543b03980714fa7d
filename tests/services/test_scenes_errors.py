"""Bad input around scenes: clear sentences, and a scene never left half-updated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_pipeline_e2e import CREATE, RUN, WORKFLOWS, Cli, database, rows, server, setup_studio
from x121_desktop.core.enums import ActivityKind, SceneStatus, SegmentStatus, TakeStatus

__all__ = ["database", "server"]  # fixtures shared with the end-to-end test


def test_a_manifest_without_the_start_image_parameter_is_refused_before_anything_is_written(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    manifest = json.loads((WORKFLOWS / "x121-i2v-modelfree.manifest.json").read_text())
    del manifest["parameters"]["seed_image_a"]
    broken = tmp_path / "no-seed.manifest.json"
    broken.write_text(json.dumps(manifest))
    cli = Cli(url, tmp_path / "home", capsys)
    setup_studio(cli, server, tmp_path, manifest=broken)
    err = cli(*CREATE, code=2)
    assert "has no image parameter 'seed_image_a' in its manifest" in err
    assert "import the workflow again" in err
    assert rows(engine, "SELECT id FROM scenes") == []
    assert rows(engine, "SELECT id FROM segments") == []


def test_a_failed_generation_is_reported_and_leaves_a_consistent_chain(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_studio(cli, server, tmp_path)
    cli(*CREATE, "--param", "variation=7.5")  # the node refuses a strength above 1
    err = cli("scene", "generate", "Ada/intro", *RUN, code=1)
    assert "Segment 1: generation failed" in err
    scene = rows(engine, "SELECT scene_status_id FROM scenes")[0]
    assert SceneStatus(scene.scene_status_id) is SceneStatus.IN_PROGRESS
    segments = rows(engine, "SELECT position, segment_status_id, current_take_id FROM segments ORDER BY position")
    assert [SegmentStatus(s.segment_status_id) for s in segments] == [
        SegmentStatus.FAILED,
        SegmentStatus.QUEUED,
        SegmentStatus.QUEUED,
    ]
    assert all(s.current_take_id is None for s in segments)  # nothing half-made became current
    takes = rows(engine, "SELECT take_status_id, job_id FROM takes")
    assert [TakeStatus(t.take_status_id) for t in takes] == [TakeStatus.FAILED]
    assert takes[0].job_id is not None
    assert rows(engine, "SELECT id FROM seams") == []
    feed = [ActivityKind(r.activity_kind_id) for r in rows(engine, "SELECT activity_kind_id FROM activity_events")]
    assert ActivityKind.JOB_FAILED in feed
    status = cli.json("scene", "status", "Ada/intro")
    assert status["takes"][0]["error"]


def test_waiting_past_the_timeout_is_one_sentence_and_cancels_nothing(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_studio(cli, server, tmp_path)
    cli(*CREATE)
    # No dispatcher runs here, so the first job stays queued past the timeout.
    err = cli("scene", "generate", "Ada/intro", "--wait", "--timeout", "0.5", code=1)
    assert "The scene was still generating after --timeout 0.5 s" in err
    assert "Traceback" not in err
    assert len(rows(engine, "SELECT id FROM jobs WHERE job_status_id = 1")) == 1, "the queued job is left alone"
