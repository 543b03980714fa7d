"""Scenes as chains: create (plan the segments), look at one, regenerate, re-stitch, restore.

Each operation is one transaction under the scene lock (`scenes.lock_scene`); generation itself
is driven by `SceneDirector` (scene_director.py), which these operations wake. An operation that
would change a segment another user has locked is refused before anything is written, with one
sentence naming the holder (scene_locks.refuse_locked; the database refuses it anyway).

Creating a scene checks the workflow's manifest first: it must take the start image
(`seed_image_a`, an image) and the length (`frame_count`); every fixed parameter given must be
one of its parameters. The segments are planned at once (elastic duration, the model's frame
rule, a 1-frame overlap: frame 0 of segment k repeats the cut frame of segment k-1).

Regenerating segments N..M queues new takes for them (each a child of the current take) and
decides what happens downstream: `offer` marks every later segment STALE (a person then picks
heal-only with `restitch` or re-chain with `regenerate --rechain`), `heal` re-measures only the
boundary after M with the new take (healing it if red), `rechain` regenerates every later segment
from the new cut frames. Restoring an earlier take adds a RESTORE take that points at the same
media (the tree keeps every step) and marks the next segment STALE.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import (
    ActivityKind,
    SceneStatus,
    SeedPolicy,
    SegmentStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
)
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.core.ids import SceneId, TakeId
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.chain import ChainLimits, limits_from_manifest, plan_chain, planned_total
from x121_desktop.core.pipeline.values import FrameSpan, SceneRef, SceneValue, SeamValue, SegmentValue, TakeValue
from x121_desktop.db.repositories import characters as character_repo
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.scene_locks import refuse_locked
from x121_desktop.services.transactions import in_transaction

Sg = SegmentStatus
REQUIRED = {"seed_image_a": "image", "frame_count": "int"}
MAX_NAME = 64


def require_creator(conn: Connection, doing: str) -> None:
    """One sentence for a reviewer instead of the database's refusal halfway through (which it still makes)."""
    if not conn.execute(text("SELECT x121_is_creator()")).scalar_one():
        raise PermissionDenied(
            f"Only creators and admins can {doing}, and {conn.execute(text('SELECT session_user')).scalar_one()} "
            "signs in as a reviewer",
            "Ask a creator or admin to do it",
        )


class Downstream(enum.StrEnum):
    OFFER = "offer"  # later segments STALE; a person chooses
    HEAL = "heal"  # heal-only: re-measure (and heal) the boundary after the range
    RECHAIN = "rechain"  # regenerate every later segment from the new cut frames


@dataclass(frozen=True, slots=True)
class CreateSceneRequest:
    character: str
    name: str
    workflow: str
    duration: FrameSpan
    rate: Fraction | None = None  # default: the project's frame rate
    workflow_version: int | None = None
    prompt: str = ""
    negative_prompt: str = ""
    segment_prompts: Mapping[int, str] = field(default_factory=dict)  # 0-based position → prompt
    seed_policy: SeedPolicy = SeedPolicy.FIXED
    base_seed: int = 0
    likeness_weight: float = 0.35
    mode: StitchMode = StitchMode.SIMPLE
    params: Mapping[str, object] = field(default_factory=dict)  # fixed workflow parameters (width, height, …)
    # 0-based position → parameters of that segment only (override `params`)
    segment_params: Mapping[int, Mapping[str, object]] = field(default_factory=dict)
    limits: ChainLimits | None = None  # default: from the manifest's frame_count limits
    project: str | None = None


@dataclass(frozen=True, slots=True)
class SceneView:
    scene: SceneValue
    segments: tuple[SegmentValue, ...]
    takes: tuple[TakeValue, ...]
    seams: tuple[SeamValue, ...]
    approvals: Mapping[int, str]  # take id → approver
    job_errors: Mapping[int, str]  # take id → why its job failed
    planned_frames: int
    notes: tuple[str, ...] = ()

    def current(self, position: int) -> TakeValue | None:
        wanted = self.segments[position].current_take_id
        return next((t for t in self.takes if t.id == wanted), None)


def check_manifest(workflow: str, version: int, manifest: Mapping[str, Any], given: Mapping[str, object]) -> None:
    params = manifest.get("parameters") or {}
    for name, kind in REQUIRED.items():
        spec = params.get(name)
        if not isinstance(spec, Mapping) or spec.get("type") != kind:
            raise InvalidInput(
                f"Workflow {workflow!r} v{version} has no {kind} parameter {name!r} in its manifest, "
                "so X121 cannot chain segments with it",
                f"Add {name!r} (type {kind}) with its node target to the manifest and import the workflow again",
            )
    unknown = sorted(set(given) - set(params))
    if unknown:
        raise InvalidInput(
            f"Workflow {workflow!r} v{version} has no parameter {', '.join(unknown)}",
            f"Use its parameters: {', '.join(sorted(params))}",
        )


def scene_view(conn: Connection, scene_id: int) -> SceneView:
    scene = repo.get_scene(conn, scene_id)
    segments = tuple(repo.segments(conn, scene_id))
    takes = tuple(take_repo.takes_of_scene(conn, scene_id))
    errors: dict[int, str] = {}
    for take in takes:
        if take.status in (TakeStatus.FAILED, TakeStatus.CANCELLED):
            job = take_repo.job_of_take(conn, take.id)
            errors[take.id] = (job.error if job is not None else None) or take.status.label
    return SceneView(
        scene,
        segments,
        takes,
        tuple(take_repo.seams_of_scene(conn, scene_id)),
        take_repo.approved_takes(conn, [t.id for t in takes]),
        errors,
        planned_total([s.planned_frames for s in segments]),
    )


class SceneService:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio

    async def _tx[T](self, write: bool, work: Callable[[Connection], T]) -> T:
        runtime = self._studio.runtime
        return await runtime.run(runtime.db_writer if write else runtime.db_read, in_transaction, self._studio, work)

    async def create(self, request: CreateSceneRequest) -> SceneView:
        name = request.name.strip()
        if not name or len(name) > MAX_NAME or "/" in name:
            raise InvalidInput(
                f"{request.name!r} is not a usable scene name", f"Use up to {MAX_NAME} characters, no '/'"
            )
        if request.likeness_weight < 0:
            raise InvalidInput("The likeness weight is negative", "Give a weight of 0 or more (e.g. 0.35)")
        positions = sorted({*request.segment_prompts, *request.segment_params})
        given = {**request.params}
        for own in request.segment_params.values():
            given.update(own)

        def work(conn: Connection) -> SceneView:
            from sqlalchemy.orm import Session

            require_creator(conn, "create scenes")
            with Session(bind=conn) as session:
                character = character_repo.find_character(session, request.character, request.project)
                project = character_repo.find_project(session, character.project)
            version_id, version_no, manifest = repo.workflow_version(conn, request.workflow, request.workflow_version)
            check_manifest(request.workflow, version_no, manifest, given)
            rate = request.rate or _project_rate(conn, character.project_id)
            limits = request.limits or limits_from_manifest(manifest.get("parameters") or {})
            plan = plan_chain(request.duration, rate, limits)
            if positions and (positions[0] < 0 or positions[-1] >= plan.count):
                raise InvalidInput(
                    f"The plan has {plan.count} segments, so there is no segment {positions[-1] + 1} to prompt "
                    "or parameterise",
                    f"Give segment prompts and parameters for 1-{plan.count}",
                )
            settings: dict[str, Any] = {"params": dict(request.params), "limits": limits.as_json(),
                                        "plan": list(plan.lengths)}  # fmt: skip
            if request.segment_params:
                settings["segment_params"] = {str(k + 1): dict(v) for k, v in sorted(request.segment_params.items())}
            new = repo.NewScene(
                character.id, name, version_id, request.duration.min_frames, request.duration.max_frames, rate,
                request.prompt, request.negative_prompt, request.seed_policy, request.base_seed,
                request.likeness_weight, request.mode, settings,
            )  # fmt: skip
            scene_id = repo.insert_scene(conn, new, SceneStatus.PLANNED)
            repo.insert_segments(conn, scene_id, plan.lengths, dict(request.segment_prompts))
            data = {
                "scene_id": scene_id, "scene": name, "character": character.name, "workflow": request.workflow,
                "version": version_no, "segments": list(plan.lengths), "total_frames": plan.total_frames,
            }  # fmt: skip
            repo.add_activity(conn, ActivityKind.SCENE_CREATED, project.id if project else None, data)
            view = scene_view(conn, scene_id)
            if "likeness_weight" not in (manifest.get("parameters") or {}):
                note = f"workflow {request.workflow!r} has no likeness_weight parameter, so Seed A is not injected"
                view = dataclasses.replace(view, notes=(note,))
            return view

        return await self._tx(True, work)

    async def find(self, ref: SceneRef, project: str | None = None) -> SceneId:
        return await self._tx(False, lambda c: repo.find_scene(c, ref.character, ref.scene, project).id)

    async def view(self, scene_id: int) -> SceneView:
        return await self._tx(False, lambda c: scene_view(c, scene_id))

    async def list(self, character: str | None = None) -> list[SceneValue]:
        return await self._tx(False, lambda c: repo.list_scenes(c, character))

    async def start(self, scene_id: int) -> SceneView:
        """Queue every segment that has no take yet (or failed) and put the scene in progress."""

        def work(conn: Connection) -> SceneView:
            require_creator(conn, "generate scenes")
            scene = repo.lock_scene(conn, scene_id)
            todo = [s for s in repo.segments(conn, scene_id) if s.status in (Sg.PLANNED, Sg.FAILED, Sg.CANCELLED)]
            refuse_locked(conn, scene, todo)
            for segment in todo:
                repo.set_segment_status(conn, segment.id, Sg.QUEUED)
            _in_progress(conn, scene)
            return scene_view(conn, scene_id)

        return await self._tx(True, work)

    async def regenerate(self, scene_id: int, first: int, last: int, downstream: Downstream) -> SceneView:
        """Queue new takes for segments first..last (0-based) and mark what follows."""

        def work(conn: Connection) -> SceneView:
            require_creator(conn, "regenerate segments")
            scene = repo.lock_scene(conn, scene_id)
            segments = repo.segments(conn, scene_id)
            if not 0 <= first <= last < len(segments):
                raise InvalidInput(
                    f"Scene {scene.ref} has segments 1-{len(segments)}, not {first + 1}-{last + 1}",
                    "Give segment numbers from `x121 scene status`",
                )
            changes = _downstream(segments[last + 1 :], downstream)
            refuse_locked(conn, scene, [*segments[first : last + 1], *(c[0] for c in changes)])
            for segment in segments[first : last + 1]:
                if segment.status in transitions.BUSY_SEGMENT:
                    raise InvalidInput(
                        f"Segment {segment.position + 1} of {scene.ref} is already {segment.status.label.lower()}",
                        "Wait for it to finish (x121 scene generate --wait), then regenerate",
                    )
                transitions.require(segment.status, Sg.QUEUED, f"Segment {segment.position + 1}")
                repo.set_segment_status(conn, segment.id, Sg.QUEUED)
            stale = _mark_downstream(conn, changes)
            _in_progress(conn, scene)
            data = {
                "scene_id": scene_id, "action": "regenerate", "segments": list(range(first + 1, last + 2)),
                "downstream": downstream.value, "stale": stale,
                "offers": ["heal_only", "rechain"] if stale else [],
            }  # fmt: skip
            repo.add_activity(conn, ActivityKind.SEGMENT_PLANNED, scene.project_id, data, segment_id=segments[first].id)
            return scene_view(conn, scene_id)

        return await self._tx(True, work)

    async def restitch(self, scene_id: int, position: int) -> SceneView:
        """Heal-only for a stale boundary: re-measure the seam before segment `position` (0-based)."""

        def work(conn: Connection) -> SceneView:
            require_creator(conn, "re-stitch segments")
            scene = repo.lock_scene(conn, scene_id)
            segments = repo.segments(conn, scene_id)
            if not 0 < position < len(segments):
                raise InvalidInput(
                    f"Segment {position + 1} of {scene.ref} has no boundary before it to re-stitch",
                    f"Give a segment from 2 to {len(segments)}",
                )
            segment = segments[position]
            refuse_locked(conn, scene, [segment])
            if segment.current_take_id is None:
                raise InvalidInput(f"Segment {position + 1} has no take to re-stitch", "Generate it first")
            transitions.require(segment.status, Sg.GENERATED, f"Segment {position + 1}")
            repo.set_segment_status(conn, segment.id, Sg.GENERATED)
            _in_progress(conn, scene)
            data = {"scene_id": scene_id, "action": "restitch", "segment": position + 1}
            repo.add_activity(conn, ActivityKind.SEGMENT_PLANNED, scene.project_id, data, segment_id=segment.id)
            return scene_view(conn, scene_id)

        return await self._tx(True, work)

    async def restore(self, take_id: int) -> SceneView:
        """Make an earlier take current again, as a RESTORE take (the tree keeps every step)."""

        def work(conn: Connection) -> SceneView:
            require_creator(conn, "restore takes")
            scene_id, position = take_repo.scene_of_take(conn, take_id)
            scene = repo.lock_scene(conn, scene_id)
            segments = repo.segments(conn, scene_id)
            segment, old = segments[position], take_repo.get_take(conn, take_id)
            changes = _downstream(segments[position + 1 :], Downstream.OFFER)
            refuse_locked(conn, scene, [segment, *(c[0] for c in changes)])
            if old.file_id is None or old.status in (TakeStatus.FAILED, TakeStatus.CANCELLED):
                raise InvalidInput(f"Take {take_id} has no rendered video to restore", "Pick a take that finished")
            if segment.current_take_id == old.id:
                raise InvalidInput(f"Take {take_id} is already current", "Nothing to restore")
            if segment.status in transitions.BUSY_SEGMENT:
                raise InvalidInput(f"Segment {position + 1} is generating", "Wait for it to finish, then restore")
            new = take_repo.NewTake(
                segment.id, TakeReason.RESTORE, TakeStatus.READY, segment.current_take_id, old.file_id,
                old.start_file_id, old.job_id, old.seed, old.cut_frame, old.frame_count,
            )  # fmt: skip
            restored = take_repo.insert_take(conn, new)
            switch_current(conn, segment, restored)
            repo.set_segment_status(conn, segment.id, Sg.GENERATED if position else Sg.IN_REVIEW)
            stale = _mark_downstream(conn, changes)
            _in_progress(conn, scene)
            data = {"scene_id": scene_id, "reason": "restore", "restored_take_id": take_id, "stale": stale}
            repo.add_activity(
                conn, ActivityKind.TAKE_CREATED, scene.project_id, data, segment_id=segment.id, take_id=restored
            )
            return scene_view(conn, scene_id)

        return await self._tx(True, work)


def _project_rate(conn: Connection, project_id: int) -> Fraction:
    from sqlalchemy import text

    row = conn.execute(text("SELECT fps_num, fps_den FROM projects WHERE id = :p"), {"p": project_id}).one()
    return Fraction(int(row.fps_num), int(row.fps_den))


def _in_progress(conn: Connection, scene: SceneValue) -> None:
    transitions.require(scene.status, SceneStatus.IN_PROGRESS, f"Scene {scene.ref}")
    repo.set_scene_status(conn, scene.id, SceneStatus.IN_PROGRESS)


def _downstream(later: list[SegmentValue], downstream: Downstream) -> list[tuple[SegmentValue, SegmentStatus]]:
    """What the downstream choice does to the later segments: (segment, new status) for each it changes."""
    changes: list[tuple[SegmentValue, SegmentStatus]] = []
    for k, segment in enumerate(later):
        if segment.status in (Sg.PLANNED, *transitions.BUSY_SEGMENT):
            continue  # not generated yet: it follows the new chain anyway
        if downstream is Downstream.RECHAIN or segment.current_take_id is None:
            target = Sg.QUEUED
        elif downstream is Downstream.HEAL:
            if k:
                break  # only the boundary right after the range is re-measured
            target = Sg.GENERATED
        else:
            target = Sg.STALE
        changes.append((segment, target))
    return changes


def _mark_downstream(conn: Connection, changes: list[tuple[SegmentValue, SegmentStatus]]) -> list[int]:
    """Apply the downstream changes; returns the 1-based numbers marked STALE."""
    stale: list[int] = []
    for segment, target in changes:
        transitions.require(segment.status, target, f"Segment {segment.position + 1}")
        repo.set_segment_status(conn, segment.id, target)
        if target is Sg.STALE:
            stale.append(segment.position + 1)
    return stale


def switch_current(conn: Connection, segment: SegmentValue, take_id: TakeId) -> None:
    """Make `take_id` the segment's current take; the one it replaces is SUPERSEDED."""
    if segment.current_take_id is not None and segment.current_take_id != take_id:
        previous = take_repo.get_take(conn, segment.current_take_id)
        if transitions.can(previous.status, TakeStatus.SUPERSEDED):
            take_repo.set_take_status(conn, previous.id, TakeStatus.SUPERSEDED)
    repo.set_current_take(conn, segment.id, take_id)
