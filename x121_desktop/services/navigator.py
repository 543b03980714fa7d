"""The project → character → scene tree the navigator shows, as frozen values (one read, three queries)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from x121_desktop.core.enums import ProjectStatus, SceneStatus
from x121_desktop.core.ids import CharacterId, ProjectId, SceneId
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.transactions import explain_refusal


@dataclass(frozen=True, slots=True)
class SceneNode:
    id: SceneId
    name: str
    status: SceneStatus
    segment_count: int


@dataclass(frozen=True, slots=True)
class CharacterNode:
    id: CharacterId
    name: str
    scenes: tuple[SceneNode, ...]


@dataclass(frozen=True, slots=True)
class ProjectNode:
    id: ProjectId
    name: str
    status: ProjectStatus
    characters: tuple[CharacterNode, ...]


@dataclass(frozen=True, slots=True)
class NavigatorTree:
    projects: tuple[ProjectNode, ...]

    def find_scene(self, scene_id: SceneId) -> tuple[ProjectNode, CharacterNode, SceneNode] | None:
        for project in self.projects:
            for character in project.characters:
                for scene in character.scenes:
                    if scene.id == scene_id:
                        return project, character, scene
        return None

    @property
    def counts(self) -> tuple[int, int, int]:
        characters = [c for p in self.projects for c in p.characters]
        return len(self.projects), len(characters), sum(len(c.scenes) for c in characters)


class NavigatorService:
    def __init__(self, sessions: sessionmaker[Session], runtime: Runtime) -> None:
        self._sessions = sessions
        self._runtime = runtime

    async def tree(self, *, include_archived: bool = False) -> NavigatorTree:
        return await self._runtime.run(self._runtime.db_read, _read, self._sessions, include_archived)


def _read(sessions: sessionmaker[Session], include_archived: bool) -> NavigatorTree:
    try:
        with sessions.begin() as session:
            return _tree(session, include_archived)
    except DBAPIError as exc:
        raise explain_refusal(exc, "read the project list") from exc


def _tree(session: Session, include_archived: bool) -> NavigatorTree:
    where = "" if include_archived else f"WHERE project_status_id <> {int(ProjectStatus.ARCHIVED)}"
    projects = session.execute(
        text(f"SELECT id, name, project_status_id FROM projects {where} ORDER BY lower(name), id")
    ).all()
    wanted = [p.id for p in projects]
    characters = session.execute(
        text("SELECT id, project_id, name FROM characters WHERE project_id = ANY(:ids) ORDER BY lower(name), id"),
        {"ids": wanted},
    ).all()
    scenes = session.execute(
        text(
            "SELECT s.id, s.character_id, s.name, s.scene_status_id, "
            "(SELECT count(*) FROM segments g WHERE g.scene_id = s.id) AS segments "
            "FROM scenes s WHERE s.character_id = ANY(:ids) ORDER BY lower(s.name), s.id"
        ),
        {"ids": [c.id for c in characters]},
    ).all()
    scenes_of: dict[int, list[SceneNode]] = {}
    for s in scenes:
        node = SceneNode(SceneId(s.id), s.name, SceneStatus(s.scene_status_id), int(s.segments))
        scenes_of.setdefault(s.character_id, []).append(node)
    characters_of: dict[int, list[CharacterNode]] = {}
    for c in characters:
        node_c = CharacterNode(CharacterId(c.id), c.name, tuple(scenes_of.get(c.id, ())))
        characters_of.setdefault(c.project_id, []).append(node_c)
    return NavigatorTree(
        tuple(
            ProjectNode(ProjectId(p.id), p.name, ProjectStatus(p.project_status_id), tuple(characters_of.get(p.id, ())))
            for p in projects
        )
    )
