"""Advanced stitching through `x121` on the stand-in: each segment but the last is cut at the most
stable of its last frames, every seam is measured by the overlap-window search (its trims, if any,
recorded), later segments are lengthened by what earlier cuts dropped (elastic duration), and the
assembled master keeps exactly the reported ranges and the planned frame count."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.pipeline_studio import RUN, SMALL, rows, setup_graded_studio
from tests.services.test_pipeline_e2e import Cli, database, server
from x121_desktop.core.enums import ActivityKind
from x121_desktop.core.media import FrameReader, probe
from x121_desktop.core.pipeline.chain import ChainLimits, elastic_length

__all__ = ["database", "server"]


def test_advanced_cuts_are_made_up_and_assembled_to_the_plan(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_graded_studio(cli, server, tmp_path)
    created = cli.json("scene", "create", "Ada", "adv", "--workflow", "graded", "--duration", "41-45f", *SMALL,
                       "--mode", "advanced")  # fmt: skip
    assert created["mode"] == "advanced"
    plan = [s["planned_frames"] for s in created["segments"]]
    assert plan == [17, 13, 13]
    done = cli.json("scene", "generate", "Ada/adv", *RUN)
    assert done["run"]["complete"] is True, done
    takes = [next(t for t in done["takes"] if t["id"] == s["current_take_id"]) for s in done["segments"]]
    cuts = [t["cut_frame"] for t in takes]
    counts = [t["frame_count"] for t in takes]
    assert cuts[-1] == counts[-1] - 1  # the last segment keeps its tail: nothing follows it
    assert any(c < n - 1 for c, n in zip(cuts[:-1], counts[:-1], strict=True))  # a stable frame before the end

    seams = [next(s for s in done["seams"] if (s["left_take_id"], s["right_take_id"]) == (a["id"], b["id"]))
             for a, b in itertools.pairwise(takes)]  # fmt: skip
    metrics = [r.metrics for r in rows(engine, "SELECT metrics FROM seams ORDER BY id")]
    assert [m["mode"] for m in metrics] == ["advanced", "advanced"]
    trims = [((s["remedy"] or {}).get("tail_trim", 0), (s["remedy"] or {}).get("head_trim", 0)) for s in seams]

    # each later segment was rendered with the frames the earlier cuts dropped made up
    limits = ChainLimits(9, 17, 4, 1)
    for k in (1, 2):
        assert counts[k] == elastic_length(plan, cuts[:k], trims[: k - 1], limits)
    assert counts[1] > plan[1] or cuts[0] == plan[0] - 1
    feed = [r.data for r in rows(engine, "SELECT activity_kind_id, data FROM activity_events ORDER BY id")
            if ActivityKind(r.activity_kind_id) is ActivityKind.TAKE_CREATED]  # fmt: skip
    assert [d["cut_frame"] for d in feed] == cuts
    assert all(d["cut"] for d in feed)  # why each cut frame was chosen

    for take in takes:
        cli("take", "approve", str(take["id"]), "--final")
    out = tmp_path / "adv.mp4"
    assembled = cli.json("scene", "assemble", "Ada/adv", "-o", str(out))
    assert assembled["frame_count"] == 41 == assembled["planned_frames"]
    sidecar = json.loads(out.with_suffix(".json").read_text())
    kept = [s["kept"] for s in sidecar["segments"]]
    assert kept[0] == [0, cuts[0] - trims[0][0]]
    assert kept[1] == [1 + trims[0][1], cuts[1] - trims[1][0]]
    assert kept[2][0] == 1 + trims[1][1]
    assert sum(end - head + 1 for head, end in kept) == 41
    assert [s["master_start"] for s in sidecar["segments"]] == [
        0,
        kept[0][1] + 1,
        kept[0][1] + 1 + kept[1][1] - kept[1][0] + 1,
    ]
    assert probe(out).frame_count == 41
    with FrameReader(out) as reader:
        assert sum(1 for _ in reader.frames(0, 41)) == 41
