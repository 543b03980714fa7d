"""Queries for scenes and their segments (the chain). Never commits; returns core values.

Every change a director or a person makes to a scene runs under `lock_scene` (the scene row
FOR UPDATE), so two directors, or a director and a `segment regenerate`, never interleave
their writes to one chain. Activity feed rows for the scene go through `add_activity`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import (
    ActivityKind,
    SceneStatus,
    SeedKind,
    SeedPolicy,
    SegmentStatus,
    StitchMode,
)
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.ids import CharacterId, SceneId, SegmentId, TakeId, WorkflowVersionId
from x121_desktop.core.pipeline.values import SceneValue, SegmentValue
from x121_desktop.db.repositories.activity import add_event


@dataclass(frozen=True, slots=True)
class NewScene:
    character_id: CharacterId
    name: str
    workflow_version_id: WorkflowVersionId
    min_frames: int
    max_frames: int
    rate: Fraction
    prompt: str
    negative_prompt: str
    seed_policy: SeedPolicy
    base_seed: int
    likeness_weight: float
    stitch_mode: StitchMode
    settings: Mapping[str, Any]


_SCENE_SELECT = (
    "SELECT s.id, s.character_id, c.name AS character, c.project_id, s.name, s.scene_status_id, "
    "s.workflow_version_id, coalesce(w.name, '') AS workflow, coalesce(v.version_no, 0) AS version_no, "
    "s.min_frames, s.max_frames, s.fps_num, s.fps_den, s.prompt, s.negative_prompt, s.seed_policy_id, "
    "coalesce(s.base_seed, 0) AS base_seed, s.likeness_weight, s.stitch_mode_id, s.settings "
    "FROM scenes s JOIN characters c ON c.id = s.character_id JOIN projects p ON p.id = c.project_id "
    "LEFT JOIN workflow_versions v ON v.id = s.workflow_version_id LEFT JOIN workflows w ON w.id = v.workflow_id "
)


def _scene(r: Any) -> SceneValue:
    return SceneValue(
        id=SceneId(r.id),
        character_id=CharacterId(r.character_id),
        character=r.character,
        project_id=int(r.project_id),
        name=r.name,
        status=SceneStatus(r.scene_status_id),
        workflow_version_id=None if r.workflow_version_id is None else WorkflowVersionId(r.workflow_version_id),
        workflow=r.workflow,
        workflow_version=int(r.version_no),
        min_frames=int(r.min_frames),
        max_frames=int(r.max_frames),
        rate=Fraction(int(r.fps_num), int(r.fps_den)),
        prompt=r.prompt,
        negative_prompt=r.negative_prompt,
        seed_policy=SeedPolicy(r.seed_policy_id),
        base_seed=int(r.base_seed),
        likeness_weight=float(r.likeness_weight),
        stitch_mode=StitchMode(r.stitch_mode_id),
        settings=dict(r.settings or {}),
    )


def insert_scene(conn: Connection, new: NewScene, status: SceneStatus) -> SceneId:
    taken = conn.execute(
        text("SELECT 1 FROM scenes WHERE character_id = :c AND name = :n"), {"c": new.character_id, "n": new.name}
    ).first()
    if taken is not None:
        raise InvalidInput(f"The character already has a scene named {new.name!r}", "Choose another scene name")
    row = conn.execute(
        text(
            "INSERT INTO scenes (character_id, name, scene_status_id, workflow_version_id, min_frames, max_frames, "
            "fps_num, fps_den, prompt, negative_prompt, seed_policy_id, base_seed, likeness_weight, stitch_mode_id, "
            "settings) VALUES (:c, :n, :st, :wv, :lo, :hi, :fn, :fd, :p, :np, :sp, :bs, :lw, :sm, "
            "CAST(:settings AS jsonb)) RETURNING id"
        ),
        {
            "c": new.character_id,
            "n": new.name,
            "st": int(status),
            "wv": new.workflow_version_id,
            "lo": new.min_frames,
            "hi": new.max_frames,
            "fn": new.rate.numerator,
            "fd": new.rate.denominator,
            "p": new.prompt,
            "np": new.negative_prompt,
            "sp": int(new.seed_policy),
            "bs": new.base_seed,
            "lw": new.likeness_weight,
            "sm": int(new.stitch_mode),
            "settings": json.dumps(dict(new.settings)),
        },
    ).scalar_one()
    return SceneId(row)


def insert_segments(
    conn: Connection, scene_id: SceneId, lengths: Sequence[int], prompts: Mapping[int, str]
) -> list[SegmentId]:
    ids = []
    for position, frames in enumerate(lengths):
        ids.append(
            SegmentId(
                conn.execute(
                    text(
                        "INSERT INTO segments (scene_id, position, segment_status_id, prompt, planned_frames) "
                        "VALUES (:s, :p, :st, :pr, :f) RETURNING id"
                    ),
                    {
                        "s": scene_id,
                        "p": position,
                        "st": int(SegmentStatus.PLANNED),
                        "pr": prompts.get(position),
                        "f": frames,
                    },
                ).scalar_one()
            )
        )
    return ids


def get_scene(conn: Connection, scene_id: int) -> SceneValue:
    row = conn.execute(text(_SCENE_SELECT + "WHERE s.id = :id"), {"id": scene_id}).one_or_none()
    if row is None:
        raise NotFound(f"Scene {scene_id} does not exist", "List scenes with `x121 scene status`")
    return _scene(row)


def find_scene(conn: Connection, character: str, name: str, project: str | None = None) -> SceneValue:
    sql = _SCENE_SELECT + "WHERE c.name = :c AND s.name = :n" + (" AND p.name = :p" if project else "")
    rows = conn.execute(text(sql), {"c": character, "n": name, "p": project}).all()
    if not rows:
        raise NotFound(
            f"There is no scene {character}/{name}", "Create it with `x121 scene create CHARACTER NAME --workflow W …`"
        )
    if len(rows) > 1:
        raise InvalidInput(f"Several projects have a scene {character}/{name}", "Say which one with --project")
    return _scene(rows[0])


def list_scenes(conn: Connection, character: str | None = None) -> list[SceneValue]:
    sql = _SCENE_SELECT + ("WHERE c.name = :c " if character else "") + "ORDER BY c.name, s.name"
    return [_scene(r) for r in conn.execute(text(sql), {"c": character})]


def lock_scene(conn: Connection, scene_id: int) -> SceneValue:
    """Hold the scene row until the transaction ends, then read it."""
    if conn.execute(text("SELECT id FROM scenes WHERE id = :id FOR UPDATE"), {"id": scene_id}).first() is None:
        raise NotFound(f"Scene {scene_id} does not exist", "List scenes with `x121 scene status`")
    return get_scene(conn, scene_id)


def scenes_with_status(conn: Connection, statuses: Sequence[SceneStatus]) -> list[SceneId]:
    rows = conn.execute(
        text("SELECT id FROM scenes WHERE scene_status_id = ANY(:st) ORDER BY id"), {"st": [int(s) for s in statuses]}
    )
    return [SceneId(r.id) for r in rows]


def set_scene_status(conn: Connection, scene_id: int, status: SceneStatus) -> None:
    conn.execute(
        text("UPDATE scenes SET scene_status_id = :st, updated_at = now() WHERE id = :id"),
        {"st": int(status), "id": scene_id},
    )


def segments(conn: Connection, scene_id: int) -> list[SegmentValue]:
    rows = conn.execute(
        text(
            "SELECT id, position, segment_status_id, prompt, planned_frames, current_take_id FROM segments "
            "WHERE scene_id = :s ORDER BY position"
        ),
        {"s": scene_id},
    )
    return [
        SegmentValue(
            SegmentId(r.id),
            int(r.position),
            SegmentStatus(r.segment_status_id),
            r.prompt,
            int(r.planned_frames),
            None if r.current_take_id is None else TakeId(r.current_take_id),
        )
        for r in rows
    ]


def set_segment_status(conn: Connection, segment_id: int, status: SegmentStatus) -> None:
    conn.execute(
        text("UPDATE segments SET segment_status_id = :st, updated_at = now() WHERE id = :id"),
        {"st": int(status), "id": segment_id},
    )


def set_current_take(conn: Connection, segment_id: int, take_id: int) -> None:
    conn.execute(
        text("UPDATE segments SET current_take_id = :t, updated_at = now() WHERE id = :id"),
        {"t": take_id, "id": segment_id},
    )


def add_activity(
    conn: Connection,
    kind: ActivityKind,
    project_id: int | None,
    data: Mapping[str, Any],
    *,
    segment_id: int | None = None,
    take_id: int | None = None,
    job_id: int | None = None,
) -> int:
    """One studio feed row (actor: the signed-in user); the activity repository writes it."""
    return add_event(conn, kind, data, project_id=project_id, segment_id=segment_id, take_id=take_id, job_id=job_id)


def activity_of_scene(conn: Connection, scene_id: int) -> list[tuple[ActivityKind, dict[str, Any]]]:
    """Feed rows about the scene (data.scene_id) or its segments, oldest first."""
    rows = conn.execute(
        text(
            "SELECT a.activity_kind_id, a.data FROM activity_events a "
            "WHERE (a.data ->> 'scene_id')::int = :s OR a.segment_id IN (SELECT id FROM segments WHERE scene_id = :s) "
            "ORDER BY a.id"
        ),
        {"s": scene_id},
    )
    return [(ActivityKind(r.activity_kind_id), dict(r.data or {})) for r in rows]


def hero_seed(conn: Connection, character_id: int, kind: SeedKind) -> tuple[int, str] | None:
    """(file id, store path) of the character's hero seed of `kind`, if it has one."""
    row = conn.execute(
        text(
            "SELECT f.id, f.rel_path FROM seed_images s JOIN files f ON f.id = s.file_id "
            "WHERE s.character_id = :c AND s.seed_kind_id = :k AND s.is_hero"
        ),
        {"c": character_id, "k": int(kind)},
    ).first()
    return None if row is None else (int(row.id), str(row.rel_path))


def workflow_version(
    conn: Connection, name: str, version_no: int | None
) -> tuple[WorkflowVersionId, int, dict[str, Any]]:
    """(version id, number, manifest) of a workflow (latest when no number is given)."""
    row = conn.execute(
        text(
            "SELECT v.id, v.version_no, v.manifest FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id "
            "WHERE w.name = :n AND (CAST(:v AS integer) IS NULL OR v.version_no = :v) "
            "ORDER BY v.version_no DESC LIMIT 1"
        ),
        {"n": name, "v": version_no},
    ).first()
    if row is None:
        which = f"version {version_no} of workflow" if version_no is not None else "workflow"
        raise NotFound(
            f"There is no {which} {name!r}", "Import it with `x121 workflow import` (see `x121 workflow list`)"
        )
    return WorkflowVersionId(row.id), int(row.version_no), dict(row.manifest or {})


def version_details(conn: Connection, version_id: int) -> tuple[str, dict[str, Any]]:
    """(content hash, manifest) of a workflow version."""
    row = conn.execute(
        text("SELECT content_hash, manifest FROM workflow_versions WHERE id = :id"), {"id": version_id}
    ).one()
    return str(row.content_hash), dict(row.manifest or {})
