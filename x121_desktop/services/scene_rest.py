"""A scene and its segments come to rest when their generation stops (core.pipeline.stopping's rules).

Both helpers run inside the caller's transaction, under the scene lock the caller holds, so the
status they write commits with the operation that stopped the generation: the scene cancel
(scene_cancel.py) and the director's round that finds nothing left to do (scene_director.py).
The scene row's update is what the navigator hears (revision 0014: NOTIFY x121_scenes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from x121_desktop.core.enums import SceneStatus, SeamGrade, SegmentStatus, TakeStatus
from x121_desktop.core.ids import TakeId
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.stopping import stopped_scene, stopped_segment
from x121_desktop.core.pipeline.values import SceneValue, SegmentValue, TakeValue
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo

PENDING = (TakeStatus.PENDING, TakeStatus.GENERATING)


@dataclass(frozen=True, slots=True)
class SceneRest:
    status: SceneStatus
    """The scene's status now (unchanged when it was not in progress)."""
    changed: bool
    under_way: tuple[int, ...] = ()
    """1-based segments with work still under way (a pending take, or queued or generating)."""


def seam_grades(conn: Connection, scene_id: int) -> dict[tuple[TakeId, TakeId], SeamGrade]:
    """(left take, right take) → the grade of the seam measured between them (the latest row wins)."""
    return {(s.left_take_id, s.right_take_id): s.grade for s in take_repo.seams_of_scene(conn, scene_id)}


def stopped_status(
    segment: SegmentValue,
    segments: Sequence[SegmentValue],
    takes: Mapping[TakeId, TakeValue],
    grades: Mapping[tuple[TakeId, TakeId], SeamGrade],
) -> SegmentStatus:
    """What `segment` becomes when its generation stops, from its current take and its left seam."""
    current = takes.get(segment.current_take_id) if segment.current_take_id is not None else None
    grade = None
    if segment.position and current is not None:
        before = segments[segment.position - 1].current_take_id
        grade = grades.get((before, current.id)) if before is not None else None
    return stopped_segment(current.status if current else None, first=not segment.position, left_seam=grade)


def rest_scene(conn: Connection, scene: SceneValue) -> SceneRest:
    """Move a scene in progress to IN_REVIEW or PLANNED when nothing of it is under way any more."""
    segments = repo.segments(conn, scene.id)
    takes = take_repo.takes_of_scene(conn, scene.id)
    position = {s.id: s.position for s in segments}
    busy = {position[t.segment_id] for t in takes if t.status in PENDING}
    busy |= {s.position for s in segments if s.status in transitions.BUSY_SEGMENT}
    under_way = tuple(sorted(p + 1 for p in busy))
    if scene.status is not SceneStatus.IN_PROGRESS:
        return SceneRest(scene.status, False, under_way)
    by_id = {t.id: t for t in takes}
    has_takes = any(
        s.current_take_id is not None
        and s.current_take_id in by_id
        and by_id[s.current_take_id].status in transitions.USABLE_TAKE
        for s in segments
    )
    status = stopped_scene(under_way=bool(under_way), has_takes=has_takes)
    if status is scene.status:
        return SceneRest(status, False, under_way)
    transitions.require(scene.status, status, f"Scene {scene.ref}")
    repo.set_scene_status(conn, scene.id, status)
    return SceneRest(status, True, under_way)
