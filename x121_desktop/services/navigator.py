"""The project → character → scene tree the navigator shows, as frozen values (one read, four queries),
and its changes as they are committed. A character carries its seed counts and the seed kinds a
generation job is making for it.

`listen(on_change)` starts one LISTEN thread on `x121_scenes` (revision 0014: a project, character or
scene added, removed, renamed or moved, a project's or scene's status changed, a segment added,
removed or its status changed; revision 0016: a seed image added or its hero changed) and calls
`on_change(TreeChanged)` on that thread, also after the connection came back (notices in between
were lost): the UI hands it to its own thread and re-reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from x121_desktop.core.enums import ProjectStatus, SceneStatus, SeedKind, SegmentStatus
from x121_desktop.core.ids import CharacterId, ProjectId, SceneId
from x121_desktop.db.notify import (
    ChannelListener,
    ChannelNotice,
    ListenerHandle,
    ListenerReconnected,
    conninfo_from_engine,
    parse_json_notice,
)
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.seed_generation import pending_seeds
from x121_desktop.services.transactions import explain_refusal

CHANNEL = "x121_scenes"
ATTENTION = (SegmentStatus.FAILED, SegmentStatus.CANCELLED, SegmentStatus.NEEDS_REGEN, SegmentStatus.REJECTED)
"""Segment statuses a scene's line in the tree counts: what waits for a person."""


@dataclass(frozen=True, slots=True)
class SceneNode:
    id: SceneId
    name: str
    status: SceneStatus
    segment_count: int
    attention: tuple[tuple[SegmentStatus, int], ...] = ()
    """(status, how many segments) for the ATTENTION statuses the scene's segments are in, in that order."""


@dataclass(frozen=True, slots=True)
class CharacterNode:
    id: CharacterId
    name: str
    scenes: tuple[SceneNode, ...]
    seeds_a: int = 0
    seeds_b: int = 0
    generating: tuple[SeedKind, ...] = ()
    """The seed kinds a generation job is making for it now (services/seed_generation.py)."""


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


@dataclass(frozen=True, slots=True)
class TreeChanged:
    """What changed: `table` (projects, characters, scenes, segments) and that row's id (a segment's scene's);
    `table` "reconnected" (id None) after the LISTEN connection came back: anything may have changed."""

    table: str
    id: int | None


class NavigatorListener(ListenerHandle):
    """One LISTEN thread on `x121_scenes`; stop() joins it."""

    def __init__(self, conninfo: str, on_change: Callable[[TreeChanged], None]) -> None:
        def hand_over(notice: ChannelNotice | ListenerReconnected) -> None:
            if isinstance(notice, ListenerReconnected):
                on_change(TreeChanged("reconnected", None))
            else:
                on_change(TreeChanged(str(notice.data.get("table", "")), notice.int_field("id")))

        self._listener: ChannelListener[ChannelNotice] = ChannelListener(
            conninfo, {CHANNEL: parse_json_notice(CHANNEL)}, hand_over, name="x121-navigator"
        )


class NavigatorService:
    def __init__(self, sessions: sessionmaker[Session], runtime: Runtime) -> None:
        self._sessions = sessions
        self._runtime = runtime

    async def tree(self, *, include_archived: bool = False) -> NavigatorTree:
        return await self._runtime.run(self._runtime.db_read, _read, self._sessions, include_archived)

    def listen(self, on_change: Callable[[TreeChanged], None]) -> NavigatorListener:
        """A started listener on the sessions' database, as their login (see the module docstring)."""
        engine = self._sessions.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("the navigator's sessions are bound to no engine, so there is nothing to listen to")
        return NavigatorListener(conninfo_from_engine(engine), on_change).start()


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
        text(
            "SELECT c.id, c.project_id, c.name, "
            f"(SELECT count(*) FROM seed_images s WHERE s.character_id = c.id AND s.seed_kind_id = {int(SeedKind.A)}) "
            "AS seeds_a, "
            f"(SELECT count(*) FROM seed_images s WHERE s.character_id = c.id AND s.seed_kind_id = {int(SeedKind.B)}) "
            "AS seeds_b "
            "FROM characters c WHERE c.project_id = ANY(:ids) ORDER BY lower(c.name), c.id"
        ),
        {"ids": wanted},
    ).all()
    generating: dict[int, set[SeedKind]] = {}
    for pending in pending_seeds(session.connection(), running_only=True):
        generating.setdefault(int(pending.character_id), set()).add(pending.kind)
    scenes = session.execute(
        text(
            "SELECT s.id, s.character_id, s.name, s.scene_status_id, "
            "(SELECT count(*) FROM segments g WHERE g.scene_id = s.id) AS segments, "
            "(SELECT array_agg(g.segment_status_id) FROM segments g WHERE g.scene_id = s.id "
            " AND g.segment_status_id = ANY(:attention)) AS attention "
            "FROM scenes s WHERE s.character_id = ANY(:ids) ORDER BY lower(s.name), s.id"
        ),
        {"ids": [c.id for c in characters], "attention": [int(a) for a in ATTENTION]},
    ).all()
    scenes_of: dict[int, list[SceneNode]] = {}
    for s in scenes:
        marked = list(s.attention or ())
        attention = tuple((a, marked.count(int(a))) for a in ATTENTION if int(a) in marked)
        node = SceneNode(SceneId(s.id), s.name, SceneStatus(s.scene_status_id), int(s.segments), attention)
        scenes_of.setdefault(s.character_id, []).append(node)
    characters_of: dict[int, list[CharacterNode]] = {}
    for c in characters:
        making = tuple(sorted(generating.get(c.id, ()), key=int))
        node_c = CharacterNode(
            CharacterId(c.id), c.name, tuple(scenes_of.get(c.id, ())), int(c.seeds_a), int(c.seeds_b), making
        )
        characters_of.setdefault(c.project_id, []).append(node_c)
    return NavigatorTree(
        tuple(
            ProjectNode(ProjectId(p.id), p.name, ProjectStatus(p.project_status_id), tuple(characters_of.get(p.id, ())))
            for p in projects
        )
    )
