"""The director's base: executors and paths, and measuring a seam (healing it when red).

Split from scene_director.py (one reason to change each): `SceneDirector` decides and submits;
this base measures the seam before a segment whose take is new, records it (grade, metrics,
advanced-cut trims), and for a red seam runs the healing ladder: a healed result becomes a HEAL
take (child of the measured take, the remedy in both seam rows), a seam that stays red marks
the segment NEEDS_REGEN with a visible activity event (the director queues it again once).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from x121_desktop.core.collab.values import LockInfo
from x121_desktop.core.enums import (
    ActivityKind,
    FileKind,
    SeamGrade,
    SeedKind,
    SegmentStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
)
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import TakeId, UserId
from x121_desktop.core.likeness.faces import IdentityReference
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.values import SceneValue, SegmentValue, TakeValue
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services import takes as media
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.locks import LockService
from x121_desktop.services.orchestrator.queue import JobQueueService
from x121_desktop.services.scene_locks import WAIT, SegmentLeases, current_user, lock_sentence
from x121_desktop.services.scenes import switch_current
from x121_desktop.services.storage import MediaStore
from x121_desktop.services.transactions import in_transaction

Sg = SegmentStatus
PENDING = (TakeStatus.PENDING, TakeStatus.GENERATING)


@dataclass
class AdvanceReport:
    scene_id: int
    submitted: list[int] = field(default_factory=list)  # take ids
    finished: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # sentences
    seams: list[tuple[int, str]] = field(default_factory=list)  # (boundary 1-based, grade/verdict)
    complete: bool = False
    waiting: tuple[int, ...] = ()  # 1-based segments waiting for a person
    busy: bool = False  # jobs still queued or running
    blocked: list[str] = field(default_factory=list)  # sentences: segments another user's lock holds back

    def note_blocked(self, sentence: str) -> None:
        if sentence not in self.blocked:
            self.blocked.append(sentence)


@dataclass(frozen=True, slots=True)
class _Chain:
    scene: SceneValue
    segments: tuple[SegmentValue, ...]
    takes: dict[TakeId, TakeValue]
    pending: dict[int, TakeValue]  # position → newest pending take
    measured: frozenset[tuple[int, int]]
    locks: Mapping[int, LockInfo]  # segment id → live lock (anyone's), as read with the chain
    read_at: float  # time.monotonic() just before the chain was read


class DirectorBase:
    def __init__(self, studio: Studio, queue: JobQueueService | None = None) -> None:
        self._studio = studio
        self._runtime = studio.runtime
        self._queue = queue or JobQueueService(studio)
        self._store = MediaStore(studio.paths.media_root)
        # Seed A's face per hero file, computed once per director (the hero can change: new key).
        self._references: dict[Path, IdentityReference | None] = {}
        self._leases = SegmentLeases(LockService(studio.engine, studio.runtime))
        self._me: UserId | None = None

    async def _acting_user(self) -> UserId | None:
        if self._me is None:
            self._me = await self._tx(False, current_user)
        return self._me

    async def _hold(self, chain: _Chain, position: int) -> LockInfo | None:
        segment_id = chain.segments[position].id
        me = await self._acting_user()
        return await self._leases.hold(chain.scene.id, segment_id, me, chain.locks.get(segment_id), chain.read_at)

    async def _claim(self, chain: _Chain, position: int, report: AdvanceReport, doing: str) -> bool:
        """Hold segment `position`'s lock for the acting user; False (and why, in the report) when
        another user holds it."""
        other = await self._hold(chain, position)
        if other is not None:
            report.note_blocked(f"{lock_sentence(chain.scene, position, other)}, so {doing} waits. {WAIT}")
        return other is None

    async def _free_of_others(self, chain: _Chain, position: int, report: AdvanceReport, doing: str) -> bool:
        """True unless another user held segment `position`'s lock when the chain was read."""
        info = chain.locks.get(chain.segments[position].id)
        if info is None or info.holder_id == await self._acting_user():
            return True
        report.note_blocked(f"{lock_sentence(chain.scene, position, info)}, so {doing} waits. {WAIT}")
        return False

    async def _tx[T](self, write: bool, work: Callable[[Connection], T]) -> T:
        pool = self._runtime.db_writer if write else self._runtime.db_read
        return await self._runtime.run(pool, in_transaction, self._studio, work)

    async def _cpu[T](self, fn: Callable[..., T], *args: Any) -> T:
        return await self._runtime.run(self._runtime.cpu, fn, *args)

    def path(self, rel: str) -> Path:
        return self._store.path_of(rel)

    async def _hero_path(self, scene: SceneValue) -> Path:
        hero = await self._tx(False, lambda c: repo.hero_seed(c, scene.character_id, SeedKind.A))
        if hero is None:
            raise InvalidInput(
                f"Character {scene.character!r} has no hero Seed A to start the chain from",
                f"Add one with `x121 seed add {scene.character} IMAGE --kind a --hero`",
            )
        return self.path(hero[1])

    async def _measure(self, chain: _Chain, position: int, report: AdvanceReport) -> None:
        left_seg, right_seg = chain.segments[position - 1], chain.segments[position]
        left = chain.takes[TakeId(left_seg.current_take_id or 0)]
        right = chain.takes[TakeId(right_seg.current_take_id or 0)]
        if left.file_id is None or right.file_id is None or left.cut_frame is None:
            raise InvalidInput(f"Segment {position} or {position + 1} has no video to measure", "Regenerate it")
        paths = await self._tx(False, lambda c: (take_repo.file_path(c, left.file_id or 0),
                                                 take_repo.file_path(c, right.file_id or 0)))  # fmt: skip
        reference = await self._reference(chain.scene)
        advanced = chain.scene.stitch_mode is StitchMode.ADVANCED
        lp, rp = self.path(paths[0]), self.path(paths[1])
        measured = await self._cpu(
            lambda: media.measure_seam(lp, left.cut_frame or 0, rp, advanced=advanced, reference=reference)
        )
        metrics = media.seam_metrics(measured)
        if measured.grade is not SeamGrade.RED:
            remedy = media.trims(measured)
            await self._tx(
                True, lambda c: self._record_seam(c, chain, position, left, right, measured, metrics, remedy)
            )
            report.seams.append((position, measured.grade.code))
            return
        # A work folder on the store's disk (adopt moves the file), removed whatever happens.
        folder = Path(tempfile.mkdtemp(prefix="x121-director-", dir=self._studio.paths.media_root))
        try:
            out = folder / f"heal-{right.id}.mkv"
            healed = await self._cpu(
                media.heal, lp, left.cut_frame or 0, rp, out, chain.scene.rate, position, reference
            )
            blob = None
            if healed.video is not None:
                blob = await self._runtime.run(self._runtime.io, self._store.adopt, healed.video)
        finally:
            await self._runtime.run(self._runtime.io, shutil.rmtree, folder, True)

        def work(conn: Connection) -> None:
            if not self._still_current(conn, chain, position, left.id, right.id):
                return
            heal_take = None
            if blob is not None:
                stored = self._store.record(conn, blob, kind=FileKind.VIDEO)
                new = take_repo.NewTake(
                    right_seg.id, TakeReason.HEAL, TakeStatus.READY, right.id, stored.file_id, right.start_file_id,
                    right.job_id, right.seed, *healed_cut(right.cut_frame, right.frame_count, healed.frame_count),
                )  # fmt: skip
                heal_take = take_repo.insert_take(conn, new)
            remedy = media.heal_remedy(healed.report, heal_take)
            take_repo.insert_seam(conn, chain.scene.id, left.id, right.id, SeamGrade.RED, measured.report.score,
                                  metrics, remedy)  # fmt: skip
            data: dict[str, Any] = {"scene_id": chain.scene.id, "boundary": position, "grade": "red", **remedy}
            segs = repo.segments(conn, chain.scene.id)
            if heal_take is None:
                repo.set_segment_status(conn, right_seg.id, Sg.NEEDS_REGEN)
                data["queued_for_regeneration"] = True
                repo.add_activity(conn, ActivityKind.SEAM_GRADED, chain.scene.project_id, data,
                                  segment_id=right_seg.id, take_id=right.id)  # fmt: skip
                return
            switch_current(conn, segs[position], heal_take)
            after = {**metrics, "healed_from_take_id": right.id, "grade_before": "red"}
            grade = media.GRADES[healed.report.grade_after]
            take_repo.insert_seam(conn, chain.scene.id, left.id, heal_take, grade, healed.report.score_after,
                                  after, remedy)  # fmt: skip
            repo.set_segment_status(conn, right_seg.id, Sg.IN_REVIEW)
            _remeasure_next(conn, segs, position)
            repo.add_activity(conn, ActivityKind.TAKE_CREATED, chain.scene.project_id,
                              {"scene_id": chain.scene.id, "position": position + 1, **remedy, "reason": "heal",
                               "why": remedy["reason"]},
                              segment_id=right_seg.id, take_id=heal_take)  # fmt: skip
            repo.add_activity(conn, ActivityKind.SEAM_GRADED, chain.scene.project_id, data,
                              segment_id=right_seg.id, take_id=heal_take)  # fmt: skip

        await self._tx(True, work)
        report.seams.append((position, "healed" if blob is not None else "needs_regeneration"))

    async def _reference(self, scene: SceneValue) -> IdentityReference | None:
        anchor = await self._hero_path(scene)
        if anchor not in self._references:
            self._references[anchor] = await self._cpu(media.identity_reference, anchor)
        return self._references[anchor]

    def _requeued(self, conn: Connection, chain: _Chain, position: int, job: take_repo.JobState) -> None:
        """The segment's job was lost (or lost and queued again): the segment waits in the queue again."""
        repo.lock_scene(conn, chain.scene.id)
        segment = repo.segments(conn, chain.scene.id)[position]
        if segment.status is not Sg.GENERATING:
            return
        repo.set_segment_status(conn, segment.id, Sg.QUEUED)
        data = {"scene_id": chain.scene.id, "action": "requeued", "segments": [position + 1],
                "job_status": job.status.code, "message": job.error}  # fmt: skip
        repo.add_activity(conn, ActivityKind.SEGMENT_PLANNED, chain.scene.project_id, data, segment_id=segment.id,
                          job_id=job.id)  # fmt: skip

    def _still_current(self, conn: Connection, chain: _Chain, position: int, left: int, right: int) -> bool:
        repo.lock_scene(conn, chain.scene.id)
        segs = repo.segments(conn, chain.scene.id)
        return (segs[position - 1].current_take_id, segs[position].current_take_id) == (left, right) and segs[
            position
        ].status is Sg.GENERATED

    def _record_seam(
        self, conn: Connection, chain: _Chain, position: int, left: TakeValue, right: TakeValue,
        measured: media.SeamMeasure, metrics: dict[str, Any], remedy: dict[str, Any] | None,
    ) -> None:  # fmt: skip
        if not self._still_current(conn, chain, position, left.id, right.id):
            return
        if take_repo.insert_seam(conn, chain.scene.id, left.id, right.id, measured.grade, measured.report.score,
                                 metrics, remedy) is None:  # fmt: skip
            return
        repo.set_segment_status(conn, chain.segments[position].id, Sg.IN_REVIEW)
        data = {"scene_id": chain.scene.id, "boundary": position, "grade": measured.grade.code,
                "score": round(measured.report.score, 4)}  # fmt: skip
        repo.add_activity(conn, ActivityKind.SEAM_GRADED, chain.scene.project_id, data,
                          segment_id=chain.segments[position].id, take_id=right.id)  # fmt: skip


def _remeasure_next(conn: Connection, segments: list[SegmentValue], position: int) -> None:
    """The take at `position` changed: the seam after it must be measured again."""
    if position + 1 < len(segments):
        nxt = segments[position + 1]
        if nxt.current_take_id is not None and nxt.status in transitions.SETTLED_SEGMENT:
            repo.set_segment_status(conn, nxt.id, Sg.GENERATED)


def healed_cut(cut: int | None, before: int | None, after: int | None) -> tuple[int, int | None]:
    """(cut frame, frame count) of a heal take: the measured take's cut moved by what the heal added
    to the take's head (a crossfade's overlap), so the next segment still chains from the same picture."""
    count = after if after is not None else before
    if count is None:
        return 0, None
    grown = count - (before if before is not None else count)
    return (cut + grown if cut is not None else count - 1), count
