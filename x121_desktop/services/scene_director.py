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
3. the scene goes IN_REVIEW when every segment has a measured, usable take; and when a round finds
   nothing to do, nothing under way and nobody awaited (a cancelled generation whose last other
   work has ended), the scene comes to rest as a cancel leaves it (scene_rest.py): IN_REVIEW with
   some usable take, PLANNED with none. A segment waiting for a person keeps the scene in progress.

Every write checks, under the scene lock, that what it computed from is still current, and
seams are unique per take pair, so a restarted or second director repeats nothing. Blocking
media work runs on the `cpu`/`io` executors between transactions.

Segment locks (scene_locks.py): before it writes for a segment the director holds that segment's
lock for its user, renewed while the segment generates and released when it settles or the
director stops; a segment another user holds is left alone (one sentence in the report), except
that a finished job of the lock's holder is recorded on the holder's behalf (revision 0009).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import partial
from typing import Any

from sqlalchemy.engine import Connection

from x121_desktop.core.enums import (
    ActivityKind,
    JobStatus,
    SceneStatus,
    SegmentStatus,
    StitchMode,
    TakeStatus,
)
from x121_desktop.core.errors import InvalidInput, X121Error
from x121_desktop.core.ids import SceneId
from x121_desktop.core.orchestration.states import TERMINAL
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.chain import LinkState, Steps, next_steps
from x121_desktop.core.pipeline.values import TakeValue
from x121_desktop.db.notify import JobListener, Notice
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services import takes as media
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.scene_locks import WAIT, declare_job, live_locks, lock_sentence
from x121_desktop.services.scene_rest import rest_scene
from x121_desktop.services.scene_seams import PENDING, AdvanceReport, _Chain
from x121_desktop.services.scene_submit import ChainSubmitter, job_inputs, take_position
from x121_desktop.services.scenes import switch_current

log = logging.getLogger(__name__)
Sg = SegmentStatus
RUNNING = (JobStatus.CLAIMED, JobStatus.UPLOADING, JobStatus.SUBMITTED, JobStatus.RUNNING, JobStatus.DOWNLOADING)
MAX_ROUNDS = 64


def _chain(conn: Connection, scene_id: int) -> _Chain:
    read_at = time.monotonic()
    scene = repo.get_scene(conn, scene_id)
    segments = tuple(repo.segments(conn, scene_id))
    takes = {t.id: t for t in take_repo.takes_of_scene(conn, scene_id)}
    position = {s.id: s.position for s in segments}
    pending = {position[t.segment_id]: t for t in takes.values() if t.status in PENDING}
    measured = frozenset((s.left_take_id, s.right_take_id) for s in take_repo.seams_of_scene(conn, scene_id))
    return _Chain(scene, segments, takes, pending, measured, live_locks(conn, position), read_at)


def _still_driven(chain: _Chain, retry: tuple[int, ...]) -> set[int]:
    """Segments whose lock the director keeps: generating, waiting for their seam, or queued again."""
    return {
        s.id for s in chain.segments
        if s.position in chain.pending or s.status in (Sg.QUEUED, Sg.GENERATING, Sg.GENERATED) or s.position in retry
    }  # fmt: skip


def _busy(chain: _Chain) -> bool:
    return any(s.status in transitions.BUSY_SEGMENT for s in chain.segments)


def _links(chain: _Chain) -> list[LinkState]:
    links = []
    for seg in chain.segments:
        current = chain.takes.get(seg.current_take_id) if seg.current_take_id is not None else None
        before = chain.segments[seg.position - 1].current_take_id if seg.position else None
        usable = current is not None and current.status in transitions.USABLE_TAKE
        retry = transitions.retried_by_the_director(current.reason if current is not None else None)
        links.append(
            LinkState(
                seg.position, seg.status, usable, seg.position in chain.pending,
                current is not None and (before, current.id) in chain.measured, retry,
            )
        )  # fmt: skip
    return links


class SceneDirector(ChainSubmitter):
    # ------------------------------------------------------------------ the loop

    async def advance(self, scene_id: int, *, keep_locks: bool = False) -> AdvanceReport:
        """Advance the chain as far as it goes now; the segment locks taken are released at the end
        unless `keep_locks` (settle and run keep them between rounds and release them when they stop)."""
        try:
            return await self._advance(scene_id, AdvanceReport(scene_id))
        finally:
            if not keep_locks:
                await self._leases.release_scene(scene_id)

    async def _advance(self, scene_id: int, report: AdvanceReport) -> AdvanceReport:
        for _ in range(MAX_ROUNDS):
            chain = await self._tx(False, lambda c: _chain(c, scene_id))
            if chain.scene.status is not SceneStatus.IN_PROGRESS:
                await self._leases.release_scene(scene_id)
                at_rest = next_steps(_links(chain))  # what the chain is, not what the status says
                report.complete, report.waiting = at_rest.complete, tuple(p + 1 for p in at_rest.waiting)
                return report
            changed = await self._reconcile(chain, report)
            if changed:
                continue
            steps = next_steps(_links(chain))
            report.waiting = tuple(p + 1 for p in steps.waiting)
            report.busy = bool(chain.pending)
            await self._leases.release(self._leases.held(scene_id) - _still_driven(chain, steps.retry))
            if steps.complete:
                await self._tx(True, lambda c: self._complete(c, scene_id))
                report.complete = True
                return report
            if steps.empty and not steps.waiting and not chain.pending and not _busy(chain):
                await self._tx(True, lambda c: rest_scene(c, repo.lock_scene(c, scene_id)))
                return report
            if not await self._act(chain, steps, report):
                return report
        return report

    async def _act(self, chain: _Chain, steps: Steps, report: AdvanceReport) -> bool:
        """Take the decided steps on every segment this director may hold; False when none could act."""
        acted = False
        for p in steps.settle:
            if await self._claim(chain, p, report, "putting it in review"):
                await self._tx(True, partial(self._settle_first, chain=chain, position=p))
                acted = True
        for p in steps.measure:
            doing = f"measuring the seam before segment {p + 1}"
            if await self._free_of_others(chain, p - 1, report, doing) and await self._claim(chain, p, report, doing):
                await self._measure(chain, p, report)
                acted = True
        for p in steps.retry:
            if await self._claim(chain, p, report, "generating it again"):
                await self._tx(True, partial(self._queue_retry, chain=chain, position=p))
                acted = True
        for p in steps.submit:
            if await self._claim(chain, p, report, "generating it"):
                await self._submit(chain, p, report)
                acted = True
        return acted

    async def settle(self, scene_id: int, *, timeout: float = 600.0, poll: float = 1.0) -> AdvanceReport:
        """Advance whenever a job changes, until the chain is complete or waits for a person (or for
        another user's lock: then the report's `failed` says so). The segment locks taken on the way
        are released when it returns, times out or is cancelled."""
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
                    report = await self.advance(scene_id, keep_locks=True)
                    failed += [f for f in report.failed if f not in failed]
                    report.failed = failed
                    if report.complete or (not report.busy and not report.submitted and not report.finished):
                        if not report.complete:
                            failed += [b for b in report.blocked if b not in failed]
                        return report
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), poll)
        finally:
            await self._leases.release_scene(scene_id)
            await self._runtime.run(self._runtime.io, listener.stop)

    async def run(self, stop: asyncio.Event, poll: float = 2.0) -> None:
        """Direct every scene in progress until `stop` (a long-running `x121 scene direct`)."""
        try:
            while not stop.is_set():
                ids = await self._tx(False, lambda c: repo.scenes_with_status(c, [SceneStatus.IN_PROGRESS]))
                for scene_id in ids:
                    try:
                        await self.advance(scene_id, keep_locks=True)
                    except X121Error as exc:
                        log.warning("scene %s: %s", scene_id, exc.sentence)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll)
        finally:
            await self._leases.release_all()

    # ------------------------------------------------------------------ job outcomes

    async def _reconcile(self, chain: _Chain, report: AdvanceReport) -> bool:
        changed = False
        for position, take in sorted(chain.pending.items()):
            job = await self._tx(False, partial(take_repo.job_of_take, take_id=take.id))
            segment = chain.segments[position]
            if job is None:
                if await self._claim(chain, position, report, "submitting its job"):
                    await self._submit_job(chain, segment, take, report)
                    changed = True
            elif job.status in TERMINAL:
                if not await self._may_record(chain, position, job, report):
                    continue
                if job.status is JobStatus.SUCCEEDED:
                    await self._finish(chain, position, take, job.id)
                    report.finished.append(take.id)
                else:
                    sentence = (
                        f"Segment {position + 1}: generation {job.status.code} ({job.error or 'no reason given'})"
                    )
                    await self._tx(True, partial(self._fail, chain=chain, take=take, job_id=job.id, sentence=sentence))
                    report.failed.append(sentence)
                changed = True
            elif job.status in (JobStatus.LOST, JobStatus.QUEUED) and segment.status is Sg.GENERATING:
                if await self._claim(chain, position, report, "queueing its lost job again"):
                    await self._tx(True, partial(self._requeued, chain=chain, position=position, job=job))
                    changed = True
            elif (
                job.status in RUNNING
                and segment.status is Sg.QUEUED
                and await self._claim(chain, position, report, "marking it generating")
            ):
                await self._tx(True, partial(repo.set_segment_status, segment_id=segment.id, status=Sg.GENERATING))
        return changed

    async def _may_record(self, chain: _Chain, position: int, job: take_repo.JobState, report: AdvanceReport) -> bool:
        """Whether this director may record the finished job's take: it holds the segment for the
        acting user, or the lock's holder submitted the job (revision 0009, `declare_job`)."""
        other = await self._hold(chain, position)
        if other is None or other.holder_id == job.owner_id:
            return True
        report.note_blocked(
            f"{lock_sentence(chain.scene, position, other)} and job {job.id} was submitted by someone else, "
            f"so its take is recorded once the lock is released. {WAIT}"
        )
        return False

    async def _finish(self, chain: _Chain, position: int, take: TakeValue, job_id: int) -> None:
        _, manifest = await self._tx(False, lambda c: repo.version_details(c, chain.scene.workflow_version_id or 0))
        outputs = await self._tx(False, lambda c: take_repo.outputs_of_job(c, job_id))
        video = _video_output(manifest, outputs)
        # The last segment has no next start to choose: it keeps every frame (assembly fits the total).
        advanced = chain.scene.stitch_mode is StitchMode.ADVANCED and position < len(chain.segments) - 1
        info = await self._cpu(media.inspect_take, self.path(video.rel_path), advanced, chain.scene.rate)

        def work(conn: Connection) -> None:
            declare_job(conn, job_id)  # on the lock holder's behalf when another user holds the segment
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
        declare_job(conn, job_id)
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


def _video_output(manifest: dict[str, Any], outputs: list[take_repo.OutputFile]) -> take_repo.OutputFile:
    declared = manifest.get("outputs") or {}
    nodes = [str(o.get("node")) for o in declared.values() if isinstance(o, dict) and o.get("kind") == "video"]
    videos = [o for o in outputs if o.node_id in nodes] or [o for o in outputs if media.is_video(o.rel_path)]
    if not videos:
        raise InvalidInput("The finished job stored no video output", "Check the workflow's manifest outputs")
    return videos[0]


async def director_for(studio: Studio) -> SceneDirector:
    return SceneDirector(studio)


__all__ = ["AdvanceReport", "SceneDirector", "SceneId", "job_inputs"]
