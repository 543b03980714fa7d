"""Queries for seed images (Seed A/B variants with lineage and provenance). Never commits.

Seeds are permanent (a trigger rejects deleting them or changing anything but `is_hero` and
`note`), so this module only inserts rows and moves the hero flag. A seed's file is made PERMANENT
with it when the store reused a weaker row (revision 0017's `x121_keep_seed_file`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from x121_desktop.core.enums import RetentionClass, SeedKind, SeedOrigin
from x121_desktop.core.errors import NotFound
from x121_desktop.core.ids import CharacterId, FileId, JobId, SeedImageId, WorkflowVersionId
from x121_desktop.db.models.files import File
from x121_desktop.db.models.projects import SeedImage


@dataclass(frozen=True, slots=True)
class NewSeed:
    character_id: CharacterId
    kind: SeedKind
    file_id: FileId
    origin: SeedOrigin
    parent_seed_id: SeedImageId | None = None
    merged_from_seed_id: SeedImageId | None = None
    workflow_version_id: WorkflowVersionId | None = None
    job_id: JobId | None = None
    params: Mapping[str, Any] | None = None
    seed: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class SeedRecord:
    id: SeedImageId
    character_id: CharacterId
    kind: SeedKind
    origin: SeedOrigin
    file_id: FileId
    rel_path: str
    sha256: str
    is_hero: bool
    parent_seed_id: SeedImageId | None
    merged_from_seed_id: SeedImageId | None
    workflow_version_id: WorkflowVersionId | None
    job_id: JobId | None
    params: Mapping[str, Any] | None
    seed: int | None
    note: str
    created_at: datetime


def add_seed(session: Session, new: NewSeed) -> SeedImageId:
    """Insert a seed; its file is raised to PERMANENT in the same transaction if its class is weaker (a job's
    WORKING output or input the media store reused for equal bytes), so no retention rule can treat it as
    working material."""
    values: dict[str, Any] = {
        "character_id": int(new.character_id),
        "seed_kind_id": int(new.kind),
        "file_id": int(new.file_id),
        "seed_origin_id": int(new.origin),
        "parent_seed_id": new.parent_seed_id,
        "merged_from_seed_id": new.merged_from_seed_id,
        "workflow_version_id": new.workflow_version_id,
        "job_id": new.job_id,
        "params": None if new.params is None else dict(new.params),
        "seed": new.seed,
        "note": new.note,
    }
    seed_id = SeedImageId(session.execute(insert(SeedImage).values(**values).returning(SeedImage.id)).scalar_one())
    keep_file_permanent(session, new.file_id)
    return seed_id


def keep_file_permanent(session: Session, file_id: int) -> bool:
    """Raise a seed's file to PERMANENT when its class is weaker (creators may not UPDATE `files`: the database
    function `x121_keep_seed_file` does it, only for seed files, only upwards). True when it changed it."""
    weaker = select(func.x121_keep_seed_file(File.id)).where(
        File.id == file_id, File.retention_class_id > int(RetentionClass.PERMANENT)
    )
    return bool(session.execute(weaker).scalar_one_or_none())


def seed_with_file(session: Session, character_id: int, kind: SeedKind, file_id: int) -> SeedImageId | None:
    found = session.scalar(
        select(SeedImage.id).where(
            SeedImage.character_id == character_id, SeedImage.seed_kind_id == int(kind), SeedImage.file_id == file_id
        )
    )
    return None if found is None else SeedImageId(found)


def _query() -> Any:
    return select(SeedImage, File.rel_path, File.sha256).join(File, File.id == SeedImage.file_id)


def _record(row: Any) -> SeedRecord:
    seed: SeedImage = row[0]
    return SeedRecord(
        id=SeedImageId(seed.id),
        character_id=CharacterId(seed.character_id),
        kind=SeedKind(seed.seed_kind_id),
        origin=SeedOrigin(seed.seed_origin_id),
        file_id=FileId(seed.file_id),
        rel_path=row[1],
        sha256=row[2],
        is_hero=seed.is_hero,
        parent_seed_id=None if seed.parent_seed_id is None else SeedImageId(seed.parent_seed_id),
        merged_from_seed_id=None if seed.merged_from_seed_id is None else SeedImageId(seed.merged_from_seed_id),
        workflow_version_id=None if seed.workflow_version_id is None else WorkflowVersionId(seed.workflow_version_id),
        job_id=None if seed.job_id is None else JobId(seed.job_id),
        params=seed.params,
        seed=seed.seed,
        note=seed.note,
        created_at=seed.created_at,
    )


def seeds_of_job(session: Session, job_id: int) -> list[SeedImageId]:
    """The seeds recorded from a generation job's output (none until it is collected)."""
    return [SeedImageId(i) for i in session.scalars(select(SeedImage.id).where(SeedImage.job_id == job_id))]


def list_seeds(session: Session, character_id: int) -> list[SeedRecord]:
    rows = session.execute(
        _query().where(SeedImage.character_id == character_id).order_by(SeedImage.seed_kind_id, SeedImage.id)
    )
    return [_record(r) for r in rows]


def get_seed(session: Session, seed_id: int) -> SeedRecord:
    row = session.execute(_query().where(SeedImage.id == seed_id)).one_or_none()
    if row is None:
        raise NotFound(f"There is no seed image {seed_id}", "List a character's seeds with `x121 seed list CHARACTER`")
    return _record(row)


def set_hero(session: Session, character_id: int, kind: SeedKind, seed_id: int) -> None:
    """Make `seed_id` the one hero of its (character, kind); the caller holds the character lock."""
    session.execute(
        update(SeedImage)
        .where(
            SeedImage.character_id == character_id,
            SeedImage.seed_kind_id == int(kind),
            SeedImage.is_hero,
            SeedImage.id != seed_id,
        )
        .values(is_hero=False)
    )
    session.execute(update(SeedImage).where(SeedImage.id == seed_id, ~SeedImage.is_hero).values(is_hero=True))
