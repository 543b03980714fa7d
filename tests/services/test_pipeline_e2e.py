"""Acceptance: portrait → character → scene of 3 chained segments → seams → regenerate → heal-only → approve → assemble.

Everything real: an embedded PostgreSQL built by the migrations, the ComfyUI stand-in running
the model-free reference workflow (the dispatcher really runs each job on it, in this process
through `--dispatch`, the same code path as a real ComfyUI), scikit-image's astronaut as Seed A,
and every step through the `x121` command line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from skimage import data
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_dispatch_acceptance import start_servers
from tests.services.test_runner import fresh_database
from x121_desktop.cli.main import main
from x121_desktop.core.enums import ActivityKind, JobEventKind, JobStatus, SeamGrade, TakeReason, TakeStatus
from x121_desktop.core.media import FrameReader, probe

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


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


class Cli:
    def __init__(self, url: str, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.base = ["--database-url", url, "--home", str(home)]
        self.capsys = capsys

    def __call__(self, *args: str, code: int = 0) -> str:
        self.capsys.readouterr()
        got = main([*self.base, *args])
        out, err = self.capsys.readouterr()
        assert got == code, f"x121 {' '.join(args)} exited {got}: {err}"
        return out if code == 0 else err

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json"))


def setup_studio(cli: Cli, server: ComfyTestServer, tmp_path: Path, manifest: Path | None = None) -> None:
    portrait = tmp_path / "astronaut.png"
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    portrait.write_bytes(buffer.getvalue())
    report = cli.json("seed", "validate", str(portrait))
    assert report["ok"] is True
    cli("character", "add", "Ada", "--seed-a", str(portrait))
    cli("server", "add", "--name", "gpu1", server.url)
    cli("workflow", "import", "--name", "i2v", str(WORKFLOWS / "x121-i2v-modelfree.api.json"),
        "--manifest", str(manifest or WORKFLOWS / "x121-i2v-modelfree.manifest.json"))  # fmt: skip


CREATE = ("scene", "create", "Ada", "intro", "--workflow", "i2v", "--duration", "41-45f", "--fps", "8",
          "--segment-frames", "9-17", "--frame-rule", "4n+1", "--param", "width=256", "--param", "height=144",
          "--seed", "7", "--prompt", "the astronaut turns to the camera")  # fmt: skip
RUN = ("--wait", "--dispatch", "--timeout", "120")


def rows(engine: Engine, sql: str, **params: object) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def test_portrait_to_assembled_scene_with_full_history(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_studio(cli, server, tmp_path)

    created = cli.json(*CREATE)
    assert [s["planned_frames"] for s in created["segments"]] == [17, 13, 13]
    assert created["planned_frames"] == 41
    assert created["status"] == "planned"

    generated = cli.json("scene", "generate", "Ada/intro", *RUN)
    assert generated["run"]["complete"] is True, generated
    assert generated["status"] == "in_review"
    assert [s["status"] for s in generated["segments"]] == ["in_review"] * 3
    assert len(generated["seams"]) == 2  # every seam scored when its right segment arrived
    first = {s["position"]: s["current_take_id"] for s in generated["segments"]}

    regen = cli.json("segment", "regenerate", "Ada/intro", "2", "--heal-only", *RUN)
    assert regen["run"]["complete"] is True, regen
    after = {s["position"]: s["current_take_id"] for s in regen["segments"]}
    assert after[1] == first[1]
    assert after[3] == first[3]
    assert after[2] != first[2]
    new_middle = next(t for t in regen["takes"] if t["id"] == after[2])
    assert (new_middle["reason"], new_middle["parent_take_id"]) == ("regenerate", first[2])
    old_middle = next(t for t in regen["takes"] if t["id"] == first[2])
    assert old_middle["status"] == "superseded"
    assert new_middle["seed"] != old_middle["seed"]
    pairs = {(s["left_take_id"], s["right_take_id"]) for s in regen["seams"]}
    assert {(first[1], after[2]), (after[2], first[3])} <= pairs  # both boundaries of the new take re-stitched

    for position in (1, 2, 3):
        cli("take", "approve", str(after[position]), "--final", "--note", "good")
    assert cli.json("scene", "status", "Ada/intro")["status"] == "approved"

    out = tmp_path / "out" / "intro.mp4"
    assembled = cli.json("scene", "assemble", "Ada/intro", "-o", str(out))
    assert assembled["frame_count"] == 41 == assembled["planned_frames"]
    master = Path(assembled["master"])
    assert master.parent.parent.name == "final"
    assert master.is_file()
    assert out.is_file()
    for video in (master, out):
        info = probe(video)
        assert info.frame_count == 41
        assert (info.width, info.height) == (256, 144)
        with FrameReader(video) as reader:
            assert sum(1 for _ in reader.frames(0, info.frame_count)) == 41  # it plays to the end
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["character"] == "Ada"
    assert sidecar["scene"] == "intro"
    assert [s["take_id"] for s in sidecar["segments"]] == [after[1], after[2], after[3]]
    assert [s["kept"] for s in sidecar["segments"]] == [[0, 16], [1, 12], [1, 12]]
    assert len(sidecar["workflow"]["content_hash"]) >= 32
    assert len(sidecar["seams"]) == 2
    assert all(s["seed"] is not None and s["video_sha256"] for s in sidecar["segments"])
    assert cli.json("scene", "status", "Ada/intro")["status"] == "delivered"

    # the database holds the whole history
    takes = rows(engine, "SELECT id, parent_take_id, take_reason_id, take_status_id, job_id FROM takes ORDER BY id")
    assert len(takes) == 4
    assert all(t.job_id is not None for t in takes)
    assert [TakeReason(t.take_reason_id) for t in takes].count(TakeReason.REGENERATE) == 1
    assert {TakeStatus(t.take_status_id) for t in takes} == {TakeStatus.APPROVED, TakeStatus.SUPERSEDED}
    seams = rows(engine, "SELECT seam_grade_id, score, metrics FROM seams")
    assert len(seams) == 4
    assert all(SeamGrade(s.seam_grade_id) is not SeamGrade.RED and "ssim_across" in s.metrics for s in seams)
    for t in takes:
        kinds = [JobEventKind(r.job_event_kind_id) for r in rows(
            engine, "SELECT job_event_kind_id FROM job_events WHERE job_id = :j ORDER BY id", j=t.job_id)]  # fmt: skip
        assert kinds[0] is JobEventKind.CREATED
        assert kinds[-1] is JobEventKind.SUCCEEDED
    jobs = rows(engine, "SELECT job_status_id, take_id FROM jobs")
    assert len(jobs) == 4
    assert all(JobStatus(j.job_status_id) is JobStatus.SUCCEEDED for j in jobs)
    assert len(rows(engine, "SELECT 1 FROM approvals")) == 3
    assert len(rows(engine, "SELECT 1 FROM verdicts")) == 3
    feed = [ActivityKind(r.activity_kind_id) for r in rows(engine, "SELECT activity_kind_id FROM activity_events")]
    for kind in (ActivityKind.SCENE_CREATED, ActivityKind.TAKE_CREATED, ActivityKind.SEAM_GRADED,
                 ActivityKind.SEGMENT_PLANNED, ActivityKind.VERDICT_GIVEN, ActivityKind.TAKE_APPROVED):  # fmt: skip
        assert kind in feed, kind
    assert feed.count(ActivityKind.TAKE_CREATED) == 4
    assert feed.count(ActivityKind.SEAM_GRADED) == 4
