"""Assembly: the current takes of a scene, cut as the chain decided, into one master + sidecar.

Each current take keeps frames `head … end` (core.pipeline.chain.kept_ranges: frame 0 of every
later segment repeats the previous cut frame and is dropped; advanced cuts add their trims, read
from the measured seam between the two current takes). `core.media.assemble` concatenates them
(packet copy when it can, else one re-encode) atomically into
`<media root>/final/<character>/<scene>.mp4`, with a JSON sidecar beside it (character, scene,
workflow and its content hash, each segment's take, parent, reason, seed, video hash and kept
frames, every seam's grade, score, metrics and remedy). `-o OUT` gets a copy of both.

A final assembly needs every segment's current take to have FINAL approval (given by a creator
through `x121_approve_final`), and then moves the scene to DELIVERED. A draft assembly
(`draft=True`) writes only to OUT and changes nothing in the database.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from x121_desktop.core.enums import SceneStatus
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.media import AssemblyReport, SegmentCut, assemble
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.chain import KeptRange, fit_to_total, kept_ranges
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.scenes import SceneView, scene_view
from x121_desktop.services.transactions import in_transaction
from x121_desktop.settings.atomic import write_text_atomic

FINAL_DIR = "final"


@dataclass(frozen=True, slots=True)
class AssemblyResult:
    master: Path
    sidecar: Path
    copies: tuple[Path, ...]
    frame_count: int
    planned_frames: int
    method: str
    draft: bool


@dataclass(frozen=True, slots=True)
class _Plan:
    view: SceneView
    ranges: tuple[KeptRange, ...]
    paths: tuple[str, ...]
    hashes: Mapping[int, str]
    workflow_hash: str


def _plan(conn: Connection, scene_id: int, draft: bool) -> _Plan:
    view = scene_view(conn, scene_id)
    ref = view.scene.ref
    problems = [
        f"segment {s.position + 1} is {s.status.label.lower()}"
        for s in view.segments
        if s.current_take_id is None or s.status not in transitions.SETTLED_SEGMENT or s.status.code == "generated"
    ]
    if problems:
        raise InvalidInput(
            f"Scene {ref} is not ready to assemble: {', '.join(problems)}",
            f"Finish it with `x121 scene generate {ref} --wait` (or regenerate those segments)",
        )
    takes = [view.current(s.position) for s in view.segments]
    current = [t for t in takes if t is not None]
    missing = [
        s.position + 1 for s, t in zip(view.segments, takes, strict=True) if t is None or t.id not in view.approvals
    ]
    if missing and not draft:
        raise InvalidInput(
            f"Scene {ref}: segment(s) {', '.join(map(str, missing))} have no final approval",
            "A creator approves each current take with `x121 take approve TAKE --final` (or assemble with --draft)",
        )
    by_pair = {(s.left_take_id, s.right_take_id): s for s in view.seams}
    trims = []
    for left, right in itertools.pairwise(current):
        seam = by_pair.get((left.id, right.id))
        if seam is None:
            raise InvalidInput(f"Scene {ref}: the seam before take {right.id} is not measured", "Run scene generate")
        trims.append((seam.tail_trim, seam.head_trim))
    # The last take may run longer than the plan (advanced mode lengthens it to make up for cuts).
    ranges = fit_to_total(kept_ranges([t.cut_frame or 0 for t in current], trims), view.planned_frames)
    paths = tuple(take_repo.file_path(conn, t.file_id or 0) for t in current)
    hashes = take_repo.file_hashes(conn, [t.file_id or 0 for t in current])
    content_hash, _ = repo.version_details(conn, view.scene.workflow_version_id or 0)
    return _Plan(view, ranges, paths, hashes, content_hash)


def sidecar(plan: _Plan, report: AssemblyReport) -> dict[str, Any]:
    scene = plan.view.scene
    takes = [plan.view.current(s.position) for s in plan.view.segments]
    segments = []
    for k, (take, kept) in enumerate(zip(takes, plan.ranges, strict=True)):
        assert take is not None
        segments.append({
            "position": k + 1, "take_id": take.id, "parent_take_id": take.parent_take_id,
            "reason": take.reason.code, "seed": take.seed, "job_id": take.job_id,
            "video_sha256": plan.hashes.get(take.file_id or 0), "frame_count": take.frame_count,
            "cut_frame": take.cut_frame, "kept": [kept.head, kept.end], "master_start": report.segments[k].master_start,
            "approved_by": plan.view.approvals.get(take.id),
        })  # fmt: skip
    ids = {t.id: n for n, t in enumerate(takes, start=1) if t is not None}
    seams = [
        {"boundary": ids[s.left_take_id], "left_take_id": s.left_take_id, "right_take_id": s.right_take_id,
         "grade": s.grade.code, "score": s.score, "metrics": dict(s.metrics), "remedy": s.remedy}
        for s in plan.view.seams if s.left_take_id in ids and s.right_take_id in ids
    ]  # fmt: skip
    return {
        "format": "x121.scene-sidecar", "version": 1,
        "character": scene.character, "scene": scene.name, "scene_id": scene.id,
        "workflow": {"name": scene.workflow, "version": scene.workflow_version, "content_hash": plan.workflow_hash},
        "rate": f"{scene.rate.numerator}/{scene.rate.denominator}",
        "frame_count": report.frame_count, "planned_frames": plan.view.planned_frames,
        "stitch_mode": scene.stitch_mode.code, "seed_policy": scene.seed_policy.code, "base_seed": scene.base_seed,
        "likeness_weight": scene.likeness_weight, "prompt": scene.prompt,
        "segments": segments, "seams": seams,
        "assembly": {"method": report.method, "reason": report.reason},
        "assembled_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip


def _copy_atomic(source: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


class AssemblyService:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._root = studio.paths.media_root

    async def assemble(self, scene_id: int, out: Path | None = None, *, draft: bool = False) -> AssemblyResult:
        runtime = self._studio.runtime
        plan = await runtime.run(runtime.db_read, in_transaction, self._studio, lambda c: _plan(c, scene_id, draft))
        if draft and out is None:
            raise InvalidInput("A draft assembly needs an output file", "Give -o OUT.mp4")
        scene = plan.view.scene
        master = out if draft and out is not None else self._root / FINAL_DIR / scene.character / f"{scene.name}.mp4"
        cuts = [
            SegmentCut(self._root / path, kept.head, kept.length)
            for path, kept in zip(plan.paths, plan.ranges, strict=True)
        ]
        meta = {"title": f"{scene.character} / {scene.name}", "comment": f"x121 scene {scene.id}"}
        master.parent.mkdir(parents=True, exist_ok=True)
        report = await runtime.run(runtime.cpu, lambda: assemble(cuts, master, metadata=meta))
        text = json.dumps(sidecar(plan, report), indent=2, default=str) + "\n"
        side = master.with_suffix(".json")
        await runtime.run(runtime.io, write_text_atomic, side, text)
        copies: tuple[Path, ...] = ()
        if out is not None and not draft:
            await runtime.run(runtime.io, _copy_atomic, master, out)
            await runtime.run(runtime.io, write_text_atomic, out.with_suffix(".json"), text)
            copies = (out, out.with_suffix(".json"))
        if not draft:
            await runtime.run(runtime.db_writer, in_transaction, self._studio, lambda c: _delivered(c, scene_id))
        return AssemblyResult(master, side, copies, report.frame_count, plan.view.planned_frames, report.method, draft)


def _delivered(conn: Connection, scene_id: int) -> None:
    scene = repo.lock_scene(conn, scene_id)
    if transitions.can(scene.status, SceneStatus.DELIVERED):
        repo.set_scene_status(conn, scene_id, SceneStatus.DELIVERED)
