"""SceneDirector: drives each scene's chain from job outcomes. State lives in the database.

`advance(scene_id)` reads the chain, and repeats until nothing changes:
1. **reconcile** takes whose job ended: SUCCEEDED → the take gets its video, frame count and
   cut frame (simple: last frame; advanced: the most stable of the last few) and becomes
   current; FAILED/CANCELLED → the take and segment are FAILED (the old take stays current).
   A pending take with no job (a crash between the two transactions) is submitted now.
2. **decide** with `core.pipeline.chain.next_steps` (pure), then act: settle segment 1; measure
   seams (storing a `seams` row with grade and metrics; a red seam climbs the healing ladder:
   a healed take is a new HEAL take with the remedy, a seam that still fails marks the segment
   NEEDS_REGEN and is queued again once, visibly); submit segments whose predecessor is ready,
   from Seed A (segment 1) or the previous cut frame (normalized when the subject drifted), with
   seeds per policy and the likeness weight where the manifest has one.
3. the scene goes IN_REVIEW when every segment has a measured, usable take.

Every write checks, under the scene lock, that what it computed from is still current, and
seams are unique per take pair, so a restarted or second director repeats nothing. Blocking
media work runs on the `cpu`/`io` executors between transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from x121_desktop.core.enums import (
    ActivityKind,
    FileKind,
    JobStatus,
    SceneStatus,
    SeedKind,
    SegmentStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
)
from x121_desktop.core.errors import InvalidInput, X121Error
from x121_desktop.core.ids import FileId, SceneId, TakeId
from x121_desktop.core.orchestration.states import TERMINAL
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.chain import ChainLimits, LinkState, elastic_length, next_steps, seed_for, take_reason
from x121_desktop.core.pipeline.values import SceneValue, SegmentValue, TakeValue
from x121_desktop.db.notify import JobListener, Notice
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services import takes as media
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.queue import SubmitRequest
from x121_desktop.services.scene_seams import PENDING, AdvanceReport, DirectorBase, _Chain
from x121_desktop.services.scenes import switch_current

log = logging.getLogger(__name__)
Sg = SegmentStatus
RUNNING = (JobStatus.CLAIMED, JobStatus.UPLOADING, JobStatus.SUBMITTED, JobStatus.RUNNING, JobStatus.DOWNLOADING)
MAX_ROUNDS = 64


def _chain(conn: Connection, scene_id: int) -> _Chain:
    scene = repo.get_scene(conn, scene_id)
    segments = tuple(repo.segments(conn, scene_id))
    takes = {t.id: t for t in take_repo.takes_of_scene(conn, scene_id)}
    position = {s.id: s.position for s in segments}
    pending = {position[t.segment_id]: t for t in takes.values() if t.status in PENDING}
    measured = frozenset((s.left_take_id, s.right_take_id) for s in take_repo.seams_of_scene(conn, scene_id))
    return _Chain(scene, segments, takes, pending, measured)


def _links(chain: _Chain) -> list[LinkState]:
    links = []
    for seg in chain.segments:
        current = chain.takes.get(seg.current_take_id) if seg.current_take_id is not None else None
        before = chain.segments[seg.position - 1].current_take_id if seg.position else None
        usable = current is not None and current.status in transitions.USABLE_TAKE
        retry = current is not None and current.reason not in (TakeReason.REGENERATE, TakeReason.HEAL)
        links.append(
            LinkState(
                seg.position, seg.status, usable, seg.position in chain.pending,
                current is not None and (before, current.id) in chain.measured, retry,
            )
        )  # fmt: skip
    return links


class SceneDirector(DirectorBase):
    # ------------------------------------------------------------------ the loop

    async def advance(self, scene_id: int) -> AdvanceReport:
        report = AdvanceReport(scene_id)
        for _ in range(MAX_ROUNDS):
            chain = await self._tx(False, lambda c: _chain(c, scene_id))
            if chain.scene.status is not SceneStatus.IN_PROGRESS:
                report.complete = chain.scene.status is not SceneStatus.PLANNED
                return report
            changed = await self._reconcile(chain, report)
            if changed:
                continue
            steps = next_steps(_links(chain))
            report.waiting = tuple(p + 1 for p in steps.waiting)
            report.busy = bool(chain.pending)
            if steps.complete:
                await self._tx(True, lambda c: self._complete(c, scene_id))
                report.complete = True
                return report
            if steps.empty:
                return report
            for p in steps.settle:
                await self._tx(True, partial(self._settle_first, chain=chain, position=p))
            for p in steps.measure:
                await self._measure(chain, p, report)
            for p in steps.retry:
                await self._tx(True, partial(self._queue_retry, chain=chain, position=p))
            for p in steps.submit:
                await self._submit(chain, p, report)
        return report

    async def settle(self, scene_id: int, *, timeout: float = 600.0, poll: float = 1.0) -> AdvanceReport:
        """Advance whenever a job changes, until the chain is complete or waits for a person."""
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_notice(_: Notice) -> None:
            loop.call_soon_threadsafe(wake.set)

        listener = JobListener.for_engine(self._studio.engine, on_notice).start()
        try:
            async with asyncio.timeout(timeout):
                failed: list[str] = []
                while True:
                    wake.clear()
                    report = await self.advance(scene_id)
                    failed += report.failed
                    report.failed = failed
                    if report.complete or (not report.busy and not report.submitted and not report.finished):
                        return report
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), poll)
        finally:
            await self._runtime.run(self._runtime.io, listener.stop)

    async def run(self, stop: asyncio.Event, poll: float = 2.0) -> None:
        """Direct every scene in progress until `stop` (a long-running `x121 scene direct`)."""
        while not stop.is_set():
            ids = await self._tx(False, lambda c: repo.scenes_with_status(c, [SceneStatus.IN_PROGRESS]))
            for scene_id in ids:
                try:
                    await self.advance(scene_id)
                except X121Error as exc:
                    log.warning("scene %s: %s", scene_id, exc.sentence)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)

    # ------------------------------------------------------------------ job outcomes

    async def _reconcile(self, chain: _Chain, report: AdvanceReport) -> bool:
        changed = False
        for position, take in sorted(chain.pending.items()):
            job = await self._tx(False, partial(take_repo.job_of_take, take_id=take.id))
            if job is None:
                await self._submit_job(chain, chain.segments[position], take, report)
                changed = True
            elif job.status is JobStatus.SUCCEEDED:
                await self._finish(chain, position, take, job.id)
                report.finished.append(take.id)
                changed = True
            elif job.status in TERMINAL:
                sentence = f"Segment {position + 1}: generation {job.status.code} ({job.error or 'no reason given'})"
                await self._tx(True, partial(self._fail, chain=chain, take=take, job_id=job.id, sentence=sentence))
                report.failed.append(sentence)
                changed = True
            elif job.status in (JobStatus.LOST, JobStatus.QUEUED) and chain.segments[position].status is Sg.GENERATING:
                await self._tx(True, partial(self._requeued, chain=chain, position=position, job=job))
                changed = True
            elif job.status in RUNNING and chain.segments[position].status is Sg.QUEUED:
                seg = chain.segments[position]
                await self._tx(True, partial(repo.set_segment_status, segment_id=seg.id, status=Sg.GENERATING))
        return changed

    async def _finish(self, chain: _Chain, position: int, take: TakeValue, job_id: int) -> None:
        _, manifest = await self._tx(False, lambda c: repo.version_details(c, chain.scene.workflow_version_id or 0))
        outputs = await self._tx(False, lambda c: take_repo.outputs_of_job(c, job_id))
        video = _video_output(manifest, outputs)
        # The last segment has no next start to choose: it keeps every frame (assembly fits the total).
        advanced = chain.scene.stitch_mode is StitchMode.ADVANCED and position < len(chain.segments) - 1
        info = await self._cpu(media.inspect_take, self.path(video.rel_path), advanced, chain.scene.rate)

        def work(conn: Connection) -> None:
            repo.lock_scene(conn, chain.scene.id)
            now = take_repo.get_take(conn, take.id)
            if now.status not in PENDING:
                return  # another director finished it
            take_repo.update_take(
                conn, take.id, take_status_id=int(TakeStatus.READY), file_id=video.file_id, job_id=job_id,
                frame_count=info.frame_count, cut_frame=info.cut_frame,
            )  # fmt: skip
            segment = repo.segments(conn, chain.scene.id)[position]
            switch_current(conn, segment, take.id)
            repo.set_segment_status(conn, segment.id, Sg.GENERATED)
            data = {
                "scene_id": chain.scene.id, "position": position + 1, "reason": take.reason.code,
                "frame_count": info.frame_count, "cut_frame": info.cut_frame, "cut": list(info.reasons),
            }  # fmt: skip
            repo.add_activity(
                conn, ActivityKind.TAKE_CREATED, chain.scene.project_id, data, segment_id=segment.id,
                take_id=take.id, job_id=job_id,
            )  # fmt: skip

        await self._tx(True, work)

    def _fail(self, conn: Connection, chain: _Chain, take: TakeValue, job_id: int, sentence: str) -> None:
        repo.lock_scene(conn, chain.scene.id)
        if take_repo.get_take(conn, take.id).status not in PENDING:
            return
        take_repo.update_take(conn, take.id, take_status_id=int(TakeStatus.FAILED), job_id=job_id)
        segment = repo.segments(conn, chain.scene.id)[take_position(chain, take)]
        repo.set_segment_status(conn, segment.id, Sg.FAILED)
        data = {"scene_id": chain.scene.id, "position": segment.position + 1, "message": sentence}
        repo.add_activity(
            conn, ActivityKind.JOB_FAILED, chain.scene.project_id, data, segment_id=segment.id, take_id=take.id,
            job_id=job_id,
        )  # fmt: skip

    # ------------------------------------------------------------------ settle, measure, heal

    def _settle_first(self, conn: Connection, chain: _Chain, position: int) -> None:
        repo.lock_scene(conn, chain.scene.id)
        segment = repo.segments(conn, chain.scene.id)[position]
        if segment.status is Sg.GENERATED:
            repo.set_segment_status(conn, segment.id, Sg.IN_REVIEW)

    def _queue_retry(self, conn: Connection, chain: _Chain, position: int) -> None:
        repo.lock_scene(conn, chain.scene.id)
        segment = repo.segments(conn, chain.scene.id)[position]
        if segment.status is not Sg.NEEDS_REGEN:
            return
        repo.set_segment_status(conn, segment.id, Sg.QUEUED)
        data = {"scene_id": chain.scene.id, "action": "regenerate", "segments": [position + 1], "automatic": True}
        repo.add_activity(conn, ActivityKind.SEGMENT_PLANNED, chain.scene.project_id, data, segment_id=segment.id)

    def _complete(self, conn: Connection, scene_id: int) -> None:
        scene = repo.lock_scene(conn, scene_id)
        if scene.status is SceneStatus.IN_PROGRESS:
            repo.set_scene_status(conn, scene_id, SceneStatus.IN_REVIEW)

    # ------------------------------------------------------------------ submitting

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

        def link(conn: Connection) -> None:
            repo.lock_scene(conn, scene.id)
            if take_repo.get_take(conn, take.id).status is TakeStatus.PENDING:
                take_repo.update_take(conn, take.id, job_id=job_id, take_status_id=int(TakeStatus.GENERATING))

        await self._tx(True, link)
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


def _video_output(manifest: dict[str, Any], outputs: list[take_repo.OutputFile]) -> take_repo.OutputFile:
    declared = manifest.get("outputs") or {}
    nodes = [str(o.get("node")) for o in declared.values() if isinstance(o, dict) and o.get("kind") == "video"]
    videos = [o for o in outputs if o.node_id in nodes] or [o for o in outputs if media.is_video(o.rel_path)]
    if not videos:
        raise InvalidInput("The finished job stored no video output", "Check the workflow's manifest outputs")
    return videos[0]


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


async def director_for(studio: Studio) -> SceneDirector:
    return SceneDirector(studio)


__all__ = ["AdvanceReport", "SceneDirector", "SceneId", "job_inputs"]
