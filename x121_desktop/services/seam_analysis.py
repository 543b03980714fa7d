"""Analyze seams on request (the workspace's `segment.analyze`): measure the seams of chosen segments again.

`SeamAnalysisService.analyze(request, cancel=, progress=)` measures every seam touching segments
first..last (the one into each and the one out of the last) between the segments' current takes,
with the seam engine exactly as the director does (services/takes.measure_seam: simple or advanced
by the scene's stitch mode, identity against the hero Seed A), in the background: reading happens
in one read transaction, decoding and scoring on the `cpu` executor with progress, the CancelToken
checked between steps. The results are stored in one transaction at the end (nothing is written
when cancelled): a take pair measured for the first time gets its `seams` row as the pipeline
records it (grade, score, metrics; the advanced cut's trims as remedy); a pair measured before
gets its grade, score, metrics and time replaced, keeping its remedy (a heal's record, the cut's
trims: analyzing neither heals nor re-cuts). Segment statuses are not changed (healing and
regenerating stay a person's choice); one SEAM_GRADED activity per seam says it was analyzed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.enums import ActivityKind, SeamGrade, SeedKind, StitchMode
from x121_desktop.core.errors import InvalidInput, X121Error
from x121_desktop.core.ids import TakeId
from x121_desktop.core.pipeline.values import SceneValue, SeamValue
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services import takes as media
from x121_desktop.services.scene_locks import refuse_locked
from x121_desktop.services.scenes import require_creator
from x121_desktop.services.storage import MediaStore
from x121_desktop.services.transactions import in_transaction

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio

KEPT_METRICS = ("healed_from_take_id", "grade_before")
"""What a healed seam's metrics say about the heal; kept when it is measured again."""


@dataclass(frozen=True, slots=True)
class AnalyzeRequest:
    scene_id: int
    first: int
    """0-based position of the first segment."""
    last: int | None = None
    """0-based position of the last segment (default: `first`)."""


@dataclass(frozen=True, slots=True)
class SeamResult:
    boundary: int
    """The seam into segment `boundary` (1-based), from segment `boundary - 1`."""
    left_take_id: int
    right_take_id: int
    grade: SeamGrade
    score: float
    reasons: tuple[str, ...]
    before: SeamGrade | None
    """The grade stored before (None: this take pair was not measured yet)."""


@dataclass(frozen=True, slots=True)
class AnalyzeReport:
    scene_id: int
    scene: str
    seams: tuple[SeamResult, ...]
    notes: tuple[str, ...] = ()
    """Sentences: seams that could not be measured (no rendered take on a side), identity left out."""

    def sentence(self) -> str:
        parts = []
        for seam in self.seams:
            was = "" if seam.before is None else f" (was {seam.before.code})"
            parts.append(f"seam into segment {seam.boundary}: {seam.grade.code} {seam.score:.2f}{was}")
        said = f"Analyzed {self.scene}: {'; '.join(parts)}." if parts else ""
        return " ".join([said, *self.notes]).strip()


@dataclass(frozen=True, slots=True)
class _Pair:
    boundary: int
    left: int
    right: int
    left_path: Path
    right_path: Path
    left_cut: int


@dataclass(frozen=True, slots=True)
class _Plan:
    scene: SceneValue
    pairs: tuple[_Pair, ...]
    skipped: tuple[str, ...]
    hero: Path | None


def _plan(conn: Connection, store: MediaStore, request: AnalyzeRequest) -> _Plan:
    require_creator(conn, "analyze seams")  # before the measuring, not only when storing
    scene = repo.get_scene(conn, request.scene_id)
    segments = repo.segments(conn, request.scene_id)
    first, last = request.first, request.first if request.last is None else request.last
    if not 0 <= first <= last < len(segments):
        raise InvalidInput(
            f"Scene {scene.ref} has segments 1-{len(segments)}, not {first + 1}-{last + 1}",
            "Select segments of the open scene",
        )
    if len(segments) < 2:
        raise InvalidInput(f"Scene {scene.ref} has one segment, so it has no seam to analyze", "Plan a longer scene")
    takes = {t.id: t for t in take_repo.takes_of_scene(conn, request.scene_id)}
    pairs: list[_Pair] = []
    skipped: list[str] = []
    for boundary in range(max(first, 1), min(last + 1, len(segments) - 1) + 1):
        left = takes.get(TakeId(segments[boundary - 1].current_take_id or 0))
        right = takes.get(TakeId(segments[boundary].current_take_id or 0))
        if left is None or right is None or left.file_id is None or right.file_id is None or left.cut_frame is None:
            missing = boundary if left is None or left.file_id is None or left.cut_frame is None else boundary + 1
            skipped.append(f"Segment {missing} has no rendered take, so the seam into segment {boundary + 1} was not "
                           "measured.")  # fmt: skip
            continue
        pairs.append(
            _Pair(
                boundary + 1, left.id, right.id, store.path_of(take_repo.file_path(conn, left.file_id)),
                store.path_of(take_repo.file_path(conn, right.file_id)), left.cut_frame,
            )
        )  # fmt: skip
    if not pairs:
        raise InvalidInput(
            f"No seam of segment{'s' if last > first else ''} {first + 1}"
            f"{f'-{last + 1}' if last > first else ''} of {scene.ref} can be measured: {' '.join(skipped)}",
            "Generate the segments first",
        )
    hero = repo.hero_seed(conn, scene.character_id, SeedKind.A)
    return _Plan(scene, tuple(pairs), tuple(skipped), None if hero is None else store.path_of(hero[1]))


def _store(conn: Connection, plan: _Plan, measured: list[tuple[_Pair, media.SeamMeasure]]) -> tuple[SeamResult, ...]:
    require_creator(conn, "analyze seams")
    scene = repo.lock_scene(conn, plan.scene.id)
    segments = {s.id: s for s in repo.segments(conn, scene.id)}
    segment_of = {int(t.id): segments[t.segment_id] for t in take_repo.takes_of_scene(conn, scene.id)}
    involved = {segment_of[take].id: segment_of[take] for pair, _ in measured for take in (pair.left, pair.right)}
    refuse_locked(conn, scene, involved.values())
    stored = {(s.left_take_id, s.right_take_id): s for s in take_repo.seams_of_scene(conn, scene.id)}
    results: list[SeamResult] = []
    for pair, measure in measured:
        metrics = media.seam_metrics(measure)
        old = stored.get((TakeId(pair.left), TakeId(pair.right)))
        if old is None:
            take_repo.insert_seam(conn, scene.id, pair.left, pair.right, measure.grade, measure.report.score, metrics,
                                  media.trims(measure))  # fmt: skip
        else:
            _replace_measure(conn, old, measure, metrics)
        data = {"scene_id": scene.id, "boundary": pair.boundary - 1, "grade": measure.grade.code,
                "score": round(measure.report.score, 4), "action": "analyze",
                "before": None if old is None else old.grade.code}  # fmt: skip
        repo.add_activity(conn, ActivityKind.SEAM_GRADED, scene.project_id, data,
                          segment_id=segment_of[pair.right].id, take_id=pair.right)  # fmt: skip
        reasons = tuple(str(r) for r in measure.report.reasons)
        results.append(SeamResult(pair.boundary, pair.left, pair.right, measure.grade, measure.report.score, reasons,
                                  None if old is None else old.grade))  # fmt: skip
    return tuple(results)


def _replace_measure(conn: Connection, old: SeamValue, measure: media.SeamMeasure, metrics: dict[str, Any]) -> None:
    kept = {k: old.metrics[k] for k in KEPT_METRICS if k in old.metrics}
    take_repo.remeasure_seam(conn, old.id, measure.grade, measure.report.score, {**metrics, **kept})


class SeamAnalysisService:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._store = MediaStore(studio.paths.media_root)

    async def analyze(
        self, request: AnalyzeRequest, *, cancel: CancelToken | None = None, progress: ProgressSink = no_progress
    ) -> AnalyzeReport:
        runtime = self._studio.runtime
        token = cancel or CancelToken()
        plan = await runtime.run(
            runtime.db_read, in_transaction, self._studio, lambda c: _plan(c, self._store, request)
        )
        steps = len(plan.pairs) + 2
        progress(0, steps, "reading Seed A's face…")
        notes = list(plan.skipped)
        reference = None
        if plan.hero is None:
            notes.append(f"{plan.scene.character} has no hero Seed A, so identity was not measured.")
        else:
            try:
                reference = await runtime.run(runtime.cpu, media.identity_reference, plan.hero)
            except X121Error as exc:  # a moved or broken file: the other metrics still say much
                notes.append(f"Seed A could not be read ({exc.problem}), so identity was not measured.")
        advanced = plan.scene.stitch_mode is StitchMode.ADVANCED
        measured: list[tuple[_Pair, media.SeamMeasure]] = []
        for k, pair in enumerate(plan.pairs, start=1):
            token.raise_if_cancelled("Analyzing the seams")
            progress(k, steps, f"measuring the seam into segment {pair.boundary}…")
            measure = await runtime.run(
                runtime.cpu, partial(media.measure_seam, advanced=advanced, reference=reference),
                pair.left_path, pair.left_cut, pair.right_path,
            )  # fmt: skip
            measured.append((pair, measure))
        token.raise_if_cancelled("Analyzing the seams")
        progress(steps - 1, steps, "storing the results…")
        results = await runtime.run(
            runtime.db_writer, in_transaction, self._studio, lambda c: _store(c, plan, measured)
        )
        progress(steps, steps, "done")
        return AnalyzeReport(plan.scene.id, str(plan.scene.ref), results, tuple(notes))
