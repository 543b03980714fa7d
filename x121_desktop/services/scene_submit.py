"""Submitting a chain's segments: the start image, the take, the job (split from scene_director.py).

Segment 1 starts from the character's hero Seed A; every later segment from the chosen cut
frame of the previous segment's current take (normalized when the subject drifted). The take is
created under the scene lock (only if the segment is still QUEUED with no pending take), then
its job is queued with the manifest's parameters (seed per policy, likeness weight, the length
made up for earlier cuts in advanced mode) and linked to the take; a take whose generation was
cancelled while its job was being queued (scene_cancel.py) gets that job cancelled instead. The
director holds the segment's lock for the acting user before it calls these (scene_locks.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from x121_desktop.core.enums import ActivityKind, FileKind, SeedKind, SegmentStatus, StitchMode, TakeStatus
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import FileId, TakeId
from x121_desktop.core.pipeline.chain import ChainLimits, elastic_length, seed_for, take_reason
from x121_desktop.core.pipeline.values import SceneValue, SegmentValue, TakeValue
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services import takes as media
from x121_desktop.services.orchestrator.queue import SubmitRequest
from x121_desktop.services.scene_cancel import cancel_own_job
from x121_desktop.services.scene_seams import PENDING, AdvanceReport, DirectorBase, _Chain

Sg = SegmentStatus


class ChainSubmitter(DirectorBase):
    async def _submit(self, chain: _Chain, position: int, report: AdvanceReport) -> None:
        scene, segment = chain.scene, chain.segments[position]
        if position == 0:
            hero = await self._tx(False, lambda c: repo.hero_seed(c, scene.character_id, SeedKind.A))
            if hero is None:
                await self._hero_path(scene)  # raises the sentence
            start_file = FileId(hero[0] if hero else 0)
            note = "Seed A (hero)"
        else:
            left = chain.takes[TakeId(chain.segments[position - 1].current_take_id or 0)]
            rel = await self._tx(False, lambda c: take_repo.file_path(c, left.file_id or 0))
            anchor = await self._hero_path(scene)
            first = chain.takes.get(TakeId(chain.segments[0].current_take_id or 0))
            framed = None
            if first is not None and first.file_id is not None:
                framed = self.path(await self._tx(False, lambda c: take_repo.file_path(c, first.file_id or 0)))
            start = await self._cpu(media.start_image, self.path(rel), left.cut_frame or 0, anchor, framed)
            blob = await self._runtime.run(self._runtime.io, lambda: self._store.write_bytes(start.png, suffix=".png"))
            start_file = await self._tx(True, lambda c: self._store.record(c, blob, kind=FileKind.IMAGE).file_id)
            note = start.reason
        current = chain.takes.get(TakeId(segment.current_take_id or 0))
        generation = sum(1 for t in chain.takes.values() if t.segment_id == segment.id and t.job_id is not None)
        inherited = None
        if position:
            inherited = chain.takes[TakeId(chain.segments[position - 1].current_take_id or 0)].seed
        seed = seed_for(scene.seed_policy, scene.base_seed, position, generation, inherited)
        reason = take_reason(current is not None, current is not None and current.start_file_id == start_file)

        def create(conn: Connection) -> TakeValue | None:
            repo.lock_scene(conn, scene.id)
            now = repo.segments(conn, scene.id)[position]
            busy = [
                t for t in take_repo.takes_of_scene(conn, scene.id) if t.segment_id == now.id and t.status in PENDING
            ]
            if now.status is not Sg.QUEUED or busy:
                return None
            take_id = take_repo.insert_take(
                conn,
                take_repo.NewTake(now.id, reason, TakeStatus.PENDING, now.current_take_id, start_file_id=start_file,
                                  seed=seed),
            )  # fmt: skip
            data = {"scene_id": scene.id, "position": position + 1, "start": note, "seed": seed}
            repo.add_activity(conn, ActivityKind.JOB_QUEUED, scene.project_id, data, segment_id=now.id, take_id=take_id)
            return take_repo.get_take(conn, take_id)

        take = await self._tx(True, create)
        if take is not None:
            await self._submit_job(chain, segment, take, report)

    async def _submit_job(self, chain: _Chain, segment: SegmentValue, take: TakeValue, report: AdvanceReport) -> None:
        scene = chain.scene
        _, manifest = await self._tx(False, lambda c: repo.version_details(c, scene.workflow_version_id or 0))
        start = await self._tx(False, lambda c: take_repo.file_path(c, take.start_file_id or 0))
        seed_b = await self._tx(False, lambda c: repo.hero_seed(c, scene.character_id, SeedKind.B))
        frames = await self._tx(False, lambda c: _segment_frames(c, chain, segment.position))
        inputs = job_inputs(scene, segment, take, manifest, self.path(start), seed_b and self.path(seed_b[1]), frames)
        try:
            result = await self._queue.submit(
                SubmitRequest(scene.workflow, inputs, version=scene.workflow_version, project_id=scene.project_id,
                              take_id=take.id)
            )  # fmt: skip
        except X121Error as exc:
            sentence = f"Segment {segment.position + 1} could not be submitted: {exc.sentence}"
            await self._tx(True, lambda c: self._fail_submit(c, chain, take, sentence))
            report.failed.append(sentence)
            raise
        job_id = result.job.id
        me = await self._acting_user()

        def link(conn: Connection) -> bool:
            repo.lock_scene(conn, scene.id)
            status = take_repo.get_take(conn, take.id).status
            if status is TakeStatus.PENDING:
                take_repo.update_take(conn, take.id, job_id=job_id, take_status_id=int(TakeStatus.GENERATING))
            elif status is TakeStatus.CANCELLED and me is not None:  # the generation was cancelled meanwhile
                cancel_own_job(conn, job_id, int(me))
                return False
            return True

        if await self._tx(True, link):
            report.submitted.append(take.id)

    def _fail_submit(self, conn: Connection, chain: _Chain, take: TakeValue, sentence: str) -> None:
        repo.lock_scene(conn, chain.scene.id)
        take_repo.set_take_status(conn, take.id, TakeStatus.FAILED)
        position = take_position(chain, take)
        repo.set_segment_status(conn, chain.segments[position].id, Sg.FAILED)
        data = {"scene_id": chain.scene.id, "position": position + 1, "message": sentence}
        repo.add_activity(conn, ActivityKind.JOB_FAILED, chain.scene.project_id, data,
                          segment_id=chain.segments[position].id, take_id=take.id)  # fmt: skip


def _segment_frames(conn: Connection, chain: _Chain, position: int) -> int:
    """Planned length; in advanced mode, lengthened by what earlier cuts and trims dropped."""
    segment = chain.segments[position]
    limits = chain.scene.settings.get("limits")
    if chain.scene.stitch_mode is not StitchMode.ADVANCED or not position or not isinstance(limits, dict):
        return segment.planned_frames
    takes = [chain.takes[TakeId(s.current_take_id or 0)] for s in chain.segments[:position]]
    seams = {(s.left_take_id, s.right_take_id): s for s in take_repo.seams_of_scene(conn, chain.scene.id)}
    trims = [
        (seam.tail_trim, seam.head_trim) if (seam := seams.get((a.id, b.id))) else (0, 0)
        for a, b in itertools.pairwise(takes)
    ]
    lengths = [s.planned_frames for s in chain.segments]
    return elastic_length(lengths, [t.cut_frame or 0 for t in takes], trims, ChainLimits.from_json(limits))


def take_position(chain: _Chain, take: TakeValue) -> int:
    return next(s.position for s in chain.segments if s.id == take.segment_id)


def job_inputs(
    scene: SceneValue, segment: SegmentValue, take: TakeValue, manifest: dict[str, Any], start: Path,
    seed_b: Path | None, frames: int | None = None,
) -> dict[str, object]:  # fmt: skip
    params = manifest.get("parameters") or {}
    fixed = scene.params_for(segment.position)
    inputs: dict[str, object] = {name: value for name, value in fixed.items() if name in params}
    inputs["seed_image_a"] = start
    inputs["frame_count"] = frames or segment.planned_frames
    optional: dict[str, object] = {
        "seed": take.seed,
        "fps": float(scene.rate),
        "prompt": segment.prompt or scene.prompt,
        "negative_prompt": scene.negative_prompt,
        "likeness_weight": scene.likeness_weight,
        "seed_image_b": seed_b,
    }
    for name, value in optional.items():
        if name in params and value not in (None, ""):
            inputs[name] = value
    return inputs
