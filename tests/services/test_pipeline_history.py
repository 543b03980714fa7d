"""Regeneration history through `x121` on the stand-in: re-chain downstream, restore an earlier
take, heal-only re-stitch of the boundary it left stale; and a LOST job inside a chain."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.pipeline_studio import RUN, SMALL, rows, setup_graded_studio
from tests.services.test_pipeline_e2e import Cli, database, server
from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.main import build_parser
from x121_desktop.core.enums import ActivityKind, JobEventKind, JobStatus, SegmentStatus
from x121_desktop.db.repositories import job_leases
from x121_desktop.services import takes as media
from x121_desktop.services.scene_director import SceneDirector
from x121_desktop.services.scenes import SceneService

__all__ = ["database", "server"]
CREATE = ("scene", "create", "Ada", "hist", "--workflow", "graded", "--duration", "41-45f", *SMALL)


def _current(view: dict[str, object]) -> list[int]:
    return [s["current_take_id"] for s in view["segments"]]  # type: ignore[attr-defined,index]


def test_rechain_restore_and_restitch_keep_the_whole_tree(
    database: tuple[str, Engine], server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_graded_studio(cli, server, tmp_path)
    cli(*CREATE)
    first = _current(cli.json("scene", "generate", "Ada/hist", *RUN))

    # re-chain: segment 2 again, and segment 3 again from segment 2's new cut frame
    rechained = cli.json("segment", "regenerate", "Ada/hist", "2", "--rechain", *RUN)
    assert rechained["run"]["complete"] is True, rechained
    now = _current(rechained)
    assert now[0] == first[0]
    assert now[1] != first[1]
    assert now[2] != first[2]
    takes = {t["id"]: t for t in rechained["takes"]}
    assert (takes[now[1]]["reason"], takes[now[1]]["parent_take_id"]) == ("regenerate", first[1])
    assert (takes[now[2]]["reason"], takes[now[2]]["parent_take_id"]) == ("rechain", first[2])
    assert [s["status"] for s in rechained["segments"]] == ["in_review"] * 3  # no stale mark left
    starts = {r.id: r.start_file_id for r in rows(engine, "SELECT id, start_file_id FROM takes")}
    assert starts[now[2]] != starts[first[2]]  # a new start image: the new cut frame
    pairs = {(s["left_take_id"], s["right_take_id"]) for s in rechained["seams"]}
    assert {(now[0], now[1]), (now[1], now[2])} <= pairs
    queued = [r.data for r in rows(engine, "SELECT activity_kind_id, data FROM activity_events ORDER BY id")
              if ActivityKind(r.activity_kind_id) is ActivityKind.JOB_QUEUED]  # fmt: skip
    assert [q["position"] for q in queued] == [1, 2, 3, 2, 3]
    jobs_before = len(rows(engine, "SELECT 1 FROM jobs"))

    # restore the first middle take: a RESTORE take, the later boundary offered for re-stitch
    restored = cli.json("take", "restore", str(first[1]))
    back = _current(restored)
    rtake = next(t for t in restored["takes"] if t["id"] == back[1])
    assert (rtake["reason"], rtake["parent_take_id"], rtake["job_id"]) == ("restore", now[1], takes[first[1]]["job_id"])
    assert [s["status"] for s in restored["segments"]] == ["in_review", "generated", "stale"]
    assert restored["status"] == "in_progress"
    assert {t["id"] for t in rechained["takes"]} < {t["id"] for t in restored["takes"]}  # history kept
    err = cli("take", "restore", str(rtake["id"]), code=2)
    assert err.strip() == f"x121: error: Take {rtake['id']} is already current. Nothing to restore"

    # heal-only: re-measure the boundary 2|3 with the restored take, no new render
    restitched = cli.json("segment", "restitch", "Ada/hist", "3", *RUN)
    assert restitched["run"]["complete"] is True, restitched
    assert [s["status"] for s in restitched["segments"]] == ["in_review"] * 3
    assert _current(restitched) == [now[0], rtake["id"], now[2]]
    pairs = {(s["left_take_id"], s["right_take_id"]) for s in restitched["seams"]}
    assert {(now[0], rtake["id"]), (rtake["id"], now[2])} <= pairs
    assert len(rows(engine, "SELECT 1 FROM jobs")) == jobs_before  # restore and re-stitch render nothing
    assert restitched["status"] == "in_review"


def test_a_lost_job_puts_its_segment_back_in_the_queue_and_the_chain_completes_once(
    database: tuple[str, Engine],
    server: ComfyTestServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, engine = database
    cli = Cli(url, tmp_path / "home", capsys)
    setup_graded_studio(cli, server, tmp_path)
    cli(*CREATE)
    scene_id = cli.json("scene", "status", "Ada/hist")["id"]
    faces = []
    real_reference = media.identity_reference
    monkeypatch.setattr(media, "identity_reference", lambda p: faces.append(p) or real_reference(p))

    args = build_parser().parse_args([*cli.base, "scene", "status"])
    with studio_from_args(args) as studio:
        director = SceneDirector(studio)

        async def first_job_lost() -> None:
            await SceneService(studio).start(scene_id)
            await director.advance(scene_id)  # segment 1 submitted
            with engine.begin() as conn:  # a dispatcher claims it, submits it, and dies
                [claimed] = job_leases.claim(conn, "ghost:1", timedelta(milliseconds=50))
                job_id = claimed.job.id
                job_leases.transition(conn, job_id, "ghost:1", JobStatus.SUBMITTED, JobEventKind.SUBMITTED)
                job_leases.transition(conn, job_id, "ghost:1", JobStatus.RUNNING, JobEventKind.STARTED)
            await director.advance(scene_id)
            [seg] = rows(engine, "SELECT segment_status_id FROM segments WHERE position = 0")
            assert SegmentStatus(seg.segment_status_id) is SegmentStatus.GENERATING
            await asyncio.sleep(0.1)
            with engine.begin() as conn:
                assert job_leases.reclaim_expired(conn) == [job_id]
            await director.advance(scene_id)

        asyncio.run(first_job_lost())
        status = cli.json("scene", "status", "Ada/hist")
        assert status["segments"][0]["status"] == "queued"  # not stuck in generating
        feed = [r.data for r in rows(engine, "SELECT activity_kind_id, data FROM activity_events ORDER BY id")
                if ActivityKind(r.activity_kind_id) is ActivityKind.SEGMENT_PLANNED]  # fmt: skip
        assert feed[-1]["action"] == "requeued"
        assert feed[-1]["job_status"] in ("lost", "queued")

        done = cli.json("scene", "generate", "Ada/hist", *RUN)
        assert done["run"]["complete"] is True, done
        jobs = rows(engine, "SELECT id, take_id, job_status_id, attempts FROM jobs ORDER BY id")
        assert len(jobs) == 3  # the lost job ran again under its own id: no duplicate
        lost = rows(engine, "SELECT job_id FROM job_events WHERE job_event_kind_id = :k", k=int(JobEventKind.LOST))
        assert [r.job_id for r in lost] == [jobs[0].id]
        assert jobs[0].attempts == 2
        assert all(JobStatus(j.job_status_id) is JobStatus.SUCCEEDED for j in jobs)
        assert len({j.take_id for j in jobs}) == 3

    media_root = tmp_path / "home" / "media"
    assert not list(media_root.glob("x121-director-*"))  # no work folders left behind
    assert len(faces) <= 2  # Seed A's face once per director (this one, and --wait's own), not per seam
