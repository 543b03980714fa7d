"""Queries for projects' characters. Never commits; returns frozen records, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from x121_desktop.core.enums import CharacterMode, ProjectStatus, SeedKind
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.ids import CharacterId, ProjectId
from x121_desktop.db.models.projects import Character, Project, SeedImage

DEFAULT_PROJECT = "Default"


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: ProjectId
    name: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class CharacterRecord:
    id: CharacterId
    name: str
    project_id: ProjectId
    project: str
    mode: CharacterMode
    seeds_a: int
    seeds_b: int
    hero_a: int | None
    hero_b: int | None
    created_at: datetime


def find_project(session: Session, name: str) -> ProjectRecord | None:
    row = session.execute(
        select(Project.id, Project.name, Project.width, Project.height).where(Project.name == name)
    ).one_or_none()
    return None if row is None else ProjectRecord(ProjectId(row.id), row.name, row.width, row.height)


def create_project(session: Session, name: str) -> ProjectRecord:
    new_id = session.execute(
        insert(Project).values(name=name, project_status_id=int(ProjectStatus.ACTIVE)).returning(Project.id)
    ).scalar_one()
    return ProjectRecord(ProjectId(new_id), name, *_default_size(session, new_id))


def _default_size(session: Session, project_id: int) -> tuple[int, int]:
    row = session.execute(select(Project.width, Project.height).where(Project.id == project_id)).one()
    return int(row.width), int(row.height)


def lock_character(session: Session, character_id: int) -> None:
    """Serialise changes to one character's seeds (hero switches) until the transaction ends."""
    session.execute(select(Character.id).where(Character.id == character_id).with_for_update())


def add_character(session: Session, project_id: int, name: str, mode: CharacterMode) -> CharacterId:
    taken = session.scalar(select(Character.id).where(Character.project_id == project_id, Character.name == name))
    if taken is not None:
        raise InvalidInput(
            f"The project already has a character named {name!r}", "Choose another name, or add seeds to it"
        )
    new_id = session.execute(
        insert(Character).values(project_id=project_id, name=name, character_mode_id=int(mode)).returning(Character.id)
    ).scalar_one()
    return CharacterId(new_id)


def _records(session: Session, *where: ColumnElement[bool]) -> list[CharacterRecord]:
    def count(kind: SeedKind) -> ScalarSelect[int]:
        return (
            select(func.count())
            .where(SeedImage.character_id == Character.id, SeedImage.seed_kind_id == int(kind))
            .scalar_subquery()
        )

    def hero(kind: SeedKind) -> ScalarSelect[int]:
        return (
            select(SeedImage.id)
            .where(SeedImage.character_id == Character.id, SeedImage.seed_kind_id == int(kind), SeedImage.is_hero)
            .scalar_subquery()
        )

    query = (
        select(
            Character.id,
            Character.name,
            Character.project_id,
            Project.name.label("project"),
            Character.character_mode_id,
            count(SeedKind.A).label("seeds_a"),
            count(SeedKind.B).label("seeds_b"),
            hero(SeedKind.A).label("hero_a"),
            hero(SeedKind.B).label("hero_b"),
            Character.created_at,
        )
        .join(Project, Project.id == Character.project_id)
        .where(*where)
        .order_by(Project.name, Character.name)
    )
    return [
        CharacterRecord(
            CharacterId(r.id),
            r.name,
            ProjectId(r.project_id),
            r.project,
            CharacterMode(r.character_mode_id),
            int(r.seeds_a),
            int(r.seeds_b),
            r.hero_a,
            r.hero_b,
            r.created_at,
        )
        for r in session.execute(query)
    ]


def list_characters(session: Session, project: str | None = None) -> list[CharacterRecord]:
    return _records(session, *(() if project is None else (Project.name == project,)))


def get_character(session: Session, character_id: int) -> CharacterRecord:
    found = _records(session, Character.id == character_id)
    if not found:
        raise NotFound(f"There is no character with id {character_id}", "List them with `x121 character list`")
    return found[0]


def find_character(session: Session, name: str, project: str | None = None) -> CharacterRecord:
    """A character by name (and project, when the name is used in several projects)."""
    where = [Character.name == name] + ([Project.name == project] if project is not None else [])
    found = _records(session, *where)
    if not found:
        where_text = f" in project {project!r}" if project is not None else ""
        raise NotFound(f"There is no character {name!r}{where_text}", "List them with `x121 character list`")
    if len(found) > 1:
        projects = ", ".join(c.project for c in found)
        raise InvalidInput(f"Several projects have a character {name!r} ({projects})", "Say which one with --project")
    return found[0]
