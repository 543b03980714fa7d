"""`x121 job submit|status|cancel|list` against a real database (text and --json, exit codes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
from skimage import data
from sqlalchemy import create_engine, text

from x121_desktop.cli.main import main
from x121_desktop.db.migrate import upgrade

MANIFEST = {
    "format": "x121.workflow-manifest",
    "version": 1,
    "parameters": {
        "seed_image_a": {"type": "image", "required": True, "targets": [{"node": "1", "input": "image"}]},
        "seed": {"type": "int", "default": 1, "targets": [{"node": "4", "input": "seed"}]},
    },
}


@pytest.fixture(scope="module")
def db(new_database: Callable[[], str]) -> list[str]:
    url = new_database()
    engine = create_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            wid = conn.execute(text("INSERT INTO workflows (name) VALUES ('walk') RETURNING id")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, manifest) "
                    "VALUES (:w, 1, repeat('d', 64), '{}'::jsonb, CAST(:m AS jsonb))"
                ),
                {"w": wid, "m": json.dumps(MANIFEST)},
            )
    finally:
        engine.dispose()
    return ["--database-url", url]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "coffee.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(data.coffee()[::10, ::10], cv2.COLOR_RGB2BGR))
    return path


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_submit_status_list_cancel(db: list[str], photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*db, "job", "submit", "walk", "--input", f"seed_image_a={photo}", "--input", "seed=5", "--json"]) == 0
    submitted = _json(capsys)
    assert isinstance(submitted, dict)
    job_id = submitted["job"]["id"]
    assert submitted["cache_hit"] is False
    assert submitted["job"]["inputs"]["params"] == {"seed": 5}

    assert main([*db, "job", "status", str(job_id)]) == 0
    assert capsys.readouterr().out.startswith(f"job {job_id} queued (priority 0, attempts 0)")
    assert main([*db, "job", "status", str(job_id), "--json"]) == 0
    status = _json(capsys)
    assert isinstance(status, dict)
    assert [e["kind"] for e in status["events"]] == [1]  # created

    assert main([*db, "job", "list", "--mine", "--status", "queued", "--json"]) == 0
    listed = _json(capsys)
    assert isinstance(listed, list)
    assert job_id in [j["id"] for j in listed]
    assert main([*db, "job", "list"]) == 0
    assert str(job_id) in capsys.readouterr().out

    assert main([*db, "job", "cancel", str(job_id)]) == 0
    assert capsys.readouterr().out.strip() == f"Cancelled job {job_id}."
    assert main([*db, "job", "cancel", str(job_id)]) == 0
    assert "had already ended" in capsys.readouterr().out


def test_errors_are_sentences_with_exit_codes(db: list[str], photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*db, "job", "status", "999999"]) == 5
    assert "There is no job 999999" in capsys.readouterr().err
    assert main([*db, "job", "submit", "missing-workflow"]) == 5
    assert "no workflow 'missing-workflow'" in capsys.readouterr().err
    assert main([*db, "job", "submit", "walk", "--input", "seed"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err
    assert main([*db, "job", "submit", "walk", "--input", f"seed_image_a={photo}", "--input", "seed=x"]) == 2
    assert "is not a whole number" in capsys.readouterr().err
