"""Red seams inside the chain, through `x121` on the ComfyUI stand-in (graded model-free workflow).

* A colour/exposure shift rendered into segment 2 only (`--segment-param 2:grade=0.35`: every
  frame blended toward orange by ImageBlend over an EmptyImage) makes boundary 1 red; the
  director heals it with the ladder (a HEAL take, child of the measured take, remedy recorded,
  re-scored green), segment 3 chains from the healed take, and assembly plays the healed frames.
* Seed B swapped in for segment 2 (`subject_swap=1.0`: another subject) cannot be healed: the
  segment becomes NEEDS_REGEN with a visible feed event, is regenerated once by the director on
  its own, and then waits for a person (no endless retries; segment 3 is never generated).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.pipeline_studio import RUN, SMALL, rows, setup_graded_studio
from tests.services.test_pipeline_e2e import Cli, database, server
from x121_desktop.cli.main import main
from x121_desktop.core.enums import ActivityKind, SeamGrade, TakeReason
from x121_desktop.core.media import FrameReader

__all__ = ["database", "server"]
CREATE = ("scene", "create", "Ada", "graded", "--workflow", "graded", "--duration", "41-45f", *SMALL)


def _mean_colour(video: Path, first: int, stop: int) -> np.ndarray:
    with FrameReader(video) as reader:
        frames = list(reader.frames(first, stop))
    return np.mean([f.reshape(-1, 3).mean(axis=0) for f in frames], axis=0)


def test_colour_shift_in_the_middle_is_healed_and_assembled(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_graded_studio(cli, server, tmp_path)
    cli(*CREATE, "--segment-param", "2:grade=0.35")
    done = cli.json("scene", "generate", "Ada/graded", *RUN)
    assert done["run"]["complete"] is True, done
    assert [s["status"] for s in done["segments"]] == ["in_review"] * 3
    takes = {t["id"]: t for t in done["takes"]}
    current = [s["current_take_id"] for s in done["segments"]]
    healed = takes[current[1]]
    measured = takes[healed["parent_take_id"]]
    assert (healed["reason"], healed["status"]) == ("heal", "ready")
    assert (measured["reason"], measured["status"]) == ("initial", "superseded")
    assert healed["job_id"] == measured["job_id"]  # healed media, not a new render
    assert len(takes) == 4

    seams = {(s["left_take_id"], s["right_take_id"]): s for s in done["seams"]}
    red = seams[(current[0], measured["id"])]
    assert red["grade"] == "red"
    assert red["remedy"]["verdict"] == "healed"
    assert red["remedy"]["remedy"].startswith("colour_match")
    assert red["remedy"]["healed_take_id"] == healed["id"]
    assert red["remedy"]["attempts"][-1]["passed"] is True
    rescored = seams[(current[0], healed["id"])]
    assert rescored["grade"] == "green"
    assert rescored["remedy"]["grade_before"] == "red"
    assert seams[(healed["id"], current[2])]["grade"] != "red"  # segment 3 chained from the healed take

    feed = rows(engine, "SELECT activity_kind_id, data FROM activity_events ORDER BY id")
    heal_events = [r.data for r in feed if ActivityKind(r.activity_kind_id) is ActivityKind.TAKE_CREATED
                   and r.data.get("reason") == "heal"]  # fmt: skip
    assert len(heal_events) == 1
    assert heal_events[0]["remedy"].startswith("colour_match")
    db_metrics = rows(engine, "SELECT metrics FROM seams WHERE right_take_id = :t", t=measured["id"])[0].metrics
    assert db_metrics["grades"]["colour"] == "red"

    for take_id in current:
        cli("take", "approve", str(take_id), "--final")
    out = tmp_path / "graded.mp4"
    assembled = cli.json("scene", "assemble", "Ada/graded", "-o", str(out))
    assert assembled["frame_count"] == 41 == assembled["planned_frames"]
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert [s["take_id"] for s in sidecar["segments"]] == current
    assert sidecar["segments"][1]["reason"] == "heal"
    # the master plays the healed colours: segment 2's frames sit near segment 1's, not orange
    first, middle = _mean_colour(out, 10, 17), _mean_colour(out, 17, 25)
    graded = _mean_colour(Path(tmp_path / "home" / "media") / _rel(engine, measured["id"]), 1, 9)
    assert np.abs(middle - first).max() < 12
    assert np.abs(graded - first).max() > 30


def _rel(engine: Engine, take_id: int) -> str:
    [row] = rows(engine, "SELECT f.rel_path FROM takes t JOIN files f ON f.id = t.file_id WHERE t.id = :t", t=take_id)
    return str(row.rel_path)


def test_subject_swap_needs_regeneration_retried_once_then_waits(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_graded_studio(cli, server, tmp_path)
    cli(*CREATE, "--segment-param", "2:subject_swap=1.0")
    capsys.readouterr()
    assert main([*cli.base, "scene", "generate", "Ada/graded", *RUN, "--json"]) == 0
    captured = capsys.readouterr()
    done = json.loads(captured.out)
    assert done["run"]["complete"] is False
    assert done["run"]["waiting"] == [2]
    assert "segment(s) 2 wait for a person" in captured.err
    assert [s["status"] for s in done["segments"]] == ["in_review", "needs_regen", "queued"]

    second = [t for t in done["takes"] if t["segment"] == 2]
    assert [(t["reason"], t["status"]) for t in second] == [("initial", "superseded"), ("regenerate", "ready")]
    assert second[1]["parent_take_id"] == second[0]["id"]
    assert second[0]["seed"] != second[1]["seed"]
    assert all(t["job_id"] is not None for t in second)
    assert not [t for t in done["takes"] if t["segment"] == 3]  # never chained from a broken boundary
    for seam in done["seams"]:
        assert seam["grade"] == "red"
        assert seam["remedy"]["verdict"] == "needs_regeneration"
        assert seam["remedy"]["healed_take_id"] is None
        assert "ssim" in seam["remedy"]["reason"] or "face" in seam["remedy"]["reason"]
    assert len(done["seams"]) == 2

    feed = [(ActivityKind(r.activity_kind_id), r.data) for r in
            rows(engine, "SELECT activity_kind_id, data FROM activity_events ORDER BY id")]  # fmt: skip
    queued = [d for k, d in feed if k is ActivityKind.SEAM_GRADED and d.get("queued_for_regeneration")]
    assert len(queued) == 2
    assert all(d["boundary"] == 1 and d["grade"] == "red" for d in queued)
    automatic = [d for k, d in feed if k is ActivityKind.SEGMENT_PLANNED and d.get("automatic")]
    assert automatic == [{"scene_id": done["id"], "action": "regenerate", "segments": [2], "automatic": True}]
    reasons = [TakeReason(r.take_reason_id) for r in rows(engine, "SELECT take_reason_id FROM takes ORDER BY id")]
    assert reasons == [TakeReason.INITIAL, TakeReason.INITIAL, TakeReason.REGENERATE]
    grades = {SeamGrade(r.seam_grade_id) for r in rows(engine, "SELECT seam_grade_id FROM seams")}
    assert grades == {SeamGrade.RED}
    assert len(rows(engine, "SELECT 1 FROM jobs")) == 3

    again = cli.json("scene", "generate", "Ada/graded", *RUN)  # nothing new happens by itself
    assert len(again["takes"]) == 3
    assert len(rows(engine, "SELECT 1 FROM jobs")) == 3
