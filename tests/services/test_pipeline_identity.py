"""A true two-person identity swap inside a chain, caught by seam scoring during the pipeline run.

Everything through `x121` on the ComfyUI stand-in with the graded model-free workflow: Seed A is
scikit-image's astronaut (Eileen Collins); Seed B is the same photograph, framed exactly as Seed
A's hero crop, with a *different real person's* face in her place (a Labeled Faces in the Wild
crop from skimage.data.lfw_subset(), tone-matched and feathered in: tests/seam_fixtures.py).
Segment 2 renders Seed B (`--segment-param 2:subject_swap=0.9`, with more per-frame noise so it
is not a frozen clip), so the picture barely changes at the boundary but the person does: every
seam metric but identity stays green. The director's seam measurement must grade that boundary red
for identity (face distance to Seed A above the same-person line), climb the healing ladder in
vain, queue segment 2 once by itself and then wait for a person; segment 3 is never chained from
it. The control pastes the astronaut's *own* face through the same 25 px round trip: same
artefacts, same person, and the chain completes with no red seam.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.seam_fixtures import LFW_FACES, lfw_face, own_face_25, photo, swap_face
from tests.services.pipeline_studio import GRADED, RUN, png, rows
from tests.services.test_pipeline_e2e import WORKFLOWS, Cli, database, server
from x121_desktop.cli.main import main
from x121_desktop.core.enums import SeamGrade

__all__ = ["database", "server"]
HERO_ROWS = 288  # Seed A's auto-crop of the 512x512 astronaut for 16:9 is its top 512x288
CREATE = ("scene", "create", "Ada", "swap", "--workflow", "graded", "--duration", "41-45f", "--fps", "8",
          "--segment-frames", "9-17", "--frame-rule", "4n+1", "--param", "width=512", "--param", "height=288",
          "--seed", "7", "--segment-param", "2:subject_swap=0.9", "--segment-param", "2:variation=0.6")  # fmt: skip
SAME_PERSON = 0.6


def _studio(cli: Cli, server: ComfyTestServer, tmp_path: Path, face25: NDArray[np.uint8]) -> None:
    seed_a = png(tmp_path / "astronaut.png", photo("astronaut"))
    seed_b = png(tmp_path / "seed-b.png", swap_face(face25)[:HERO_ROWS])
    cli("character", "add", "Ada", "--seed-a", str(seed_a), "--seed-b", str(seed_b))
    cli("server", "add", "--name", "gpu1", server.url)
    cli("workflow", "import", "--name", "graded", str(WORKFLOWS / f"{GRADED}.api.json"),
        "--manifest", str(WORKFLOWS / f"{GRADED}.manifest.json"))  # fmt: skip
    cli(*CREATE)


def _seams(engine: Engine) -> list[Any]:
    return rows(engine, "SELECT seam_grade_id AS grade, metrics, remedy FROM seams ORDER BY id")


def _generate(cli: Cli, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, object], str]:
    capsys.readouterr()
    assert main([*cli.base, "scene", "generate", "Ada/swap", *RUN, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_another_real_person_in_segment_2_is_caught_at_the_seam_and_waits_for_a_person(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    _studio(cli, server, tmp_path, lfw_face(LFW_FACES[0]))
    done, err = _generate(cli, capsys)
    run, segments, takes = done["run"], done["segments"], done["takes"]
    assert isinstance(run, dict)
    assert isinstance(segments, list)
    assert isinstance(takes, list)
    assert run["complete"] is False
    assert run["waiting"] == [2]
    assert "segment(s) 2 wait for a person" in err
    assert [s["status"] for s in segments] == ["in_review", "needs_regen", "queued"]
    assert not [t for t in takes if t["segment"] == 3]  # never chained from the other person
    measured = _seams(engine)
    assert len(measured) == 2  # the first take of segment 2, and its automatic regeneration
    for seam in measured:
        assert SeamGrade(seam.grade) is SeamGrade.RED
        red = [metric for metric, grade in seam.metrics["grades"].items() if grade == "red"]
        assert red == ["identity"]  # the picture passes every other check: only the person changed
        assert seam.metrics["identity_distance"] > SAME_PERSON
        [reason] = seam.metrics["reasons"]
        assert reason.startswith("identity: face distance 0.")
        assert reason.endswith("to Seed A (same person below 0.60)")
        assert seam.remedy["verdict"] == "needs_regeneration"
        assert seam.remedy["healed_take_id"] is None


def test_control_the_same_person_through_the_same_paste_passes_the_seam(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    _studio(cli, server, tmp_path, own_face_25())
    done, _ = _generate(cli, capsys)
    run, segments = done["run"], done["segments"]
    assert isinstance(run, dict)
    assert isinstance(segments, list)
    assert run["complete"] is True, done
    assert [s["status"] for s in segments] == ["in_review"] * len(segments)
    measured = _seams(engine)
    assert len(measured) == len(segments) - 1
    for seam in measured:
        assert SeamGrade(seam.grade) is not SeamGrade.RED
        assert seam.metrics["grades"]["identity"] != "red"
        assert seam.metrics["identity_distance"] < SAME_PERSON
