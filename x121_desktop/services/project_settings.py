"""Project settings (`projects.settings`, revision 0016): what everyone working on a project shares.

A jsonb document per project, read and changed by dotted paths (`seed_workflow.b`). Unlike
`user_settings` (services/preferences.py: private to each user), a project setting applies to every
artist and workstation; PostgreSQL lets creators and admins change it (the grants on `projects`).
Keys in use: `seed_workflow.a`, `seed_workflow.b` (services/seed_workflows.py).

Setting a value on a project that does not exist yet creates it, as adding a character does.
Each change is one transaction, with the project row locked while its document is rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import ProjectStatus
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.ids import ProjectId
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.transactions import in_transaction

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProjectSettingsView:
    id: ProjectId
    name: str
    width: int
    height: int
    settings: Mapping[str, Any]

    def value(self, path: Path) -> Any:
        """The value at `path`, None when any part of it is missing."""
        node: Any = self.settings
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return node


def dotted(path: Path) -> str:
    return ".".join(path)


def check_project_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("The project name is blank", "Give a project name")
    return cleaned


def read_project(conn: Connection, name: str, *, lock: bool = False) -> ProjectSettingsView | None:
    row = conn.execute(
        text(
            "SELECT id, name, width, height, settings FROM projects WHERE name = :n" + (" FOR UPDATE" if lock else "")
        ),
        {"n": name},
    ).one_or_none()
    if row is None:
        return None
    return ProjectSettingsView(ProjectId(row.id), row.name, int(row.width), int(row.height), dict(row.settings or {}))


def new_project_frame(conn: Connection) -> tuple[int, int]:
    """(width, height) a new project gets: the columns' defaults."""
    row = conn.execute(
        text(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
            "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
            "WHERE d.adrelid = 'public.projects'::regclass AND a.attname IN ('width', 'height') ORDER BY a.attname DESC"
        )
    ).scalars()
    width, height = (int(str(v)) for v in row)
    return width, height


def read_project_of_character(conn: Connection, character_id: int) -> ProjectSettingsView:
    name = conn.execute(
        text("SELECT p.name FROM characters c JOIN projects p ON p.id = c.project_id WHERE c.id = :c"),
        {"c": character_id},
    ).scalar_one()
    found = read_project(conn, str(name))
    assert found is not None  # the join just found it, in this transaction
    return found


def must_read_project(conn: Connection, name: str) -> ProjectSettingsView:
    found = read_project(conn, name)
    if found is None:
        known = ", ".join(repr(n) for n in conn.execute(text("SELECT name FROM projects ORDER BY name")).scalars())
        raise NotFound(
            f"There is no project named {name!r} (known: {known or 'none yet'})",
            "Check the name with `x121 project list`",
        )
    return found


def _with(settings: Mapping[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of `settings` with `path` set to `value` (removed when None; emptied parents go too)."""
    out = dict(settings)
    head, rest = path[0], path[1:]
    if rest:
        child = out.get(head)
        inner = _with(child if isinstance(child, Mapping) else {}, rest, value)
        if inner:
            out[head] = inner
        else:
            out.pop(head, None)
    elif value is None:
        out.pop(head, None)
    else:
        out[head] = value
    return out


class ProjectSettingsService:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._runtime = studio.runtime

    async def _tx[T](self, write: bool, work: Callable[[Connection], T]) -> T:
        pool = self._runtime.db_writer if write else self._runtime.db_read
        return await self._runtime.run(pool, in_transaction, self._studio, work)

    async def list(self) -> list[ProjectSettingsView]:
        def work(conn: Connection) -> list[ProjectSettingsView]:
            names = conn.execute(
                text("SELECT name FROM projects WHERE project_status_id <> :archived ORDER BY lower(name), id"),
                {"archived": int(ProjectStatus.ARCHIVED)},
            ).scalars()
            return [must_read_project(conn, str(n)) for n in names]

        return await self._tx(False, work)

    async def get(self, project: str) -> ProjectSettingsView:
        name = check_project_name(project)
        return await self._tx(False, lambda conn: must_read_project(conn, name))

    async def set_values(
        self,
        project: str,
        values: Mapping[Path, Any],
        check: Callable[[Connection, ProjectSettingsView], None] | None = None,
    ) -> tuple[ProjectSettingsView, bool]:
        """Set (None: remove) several paths in one transaction; the project is created when new.

        `check(conn, changed)` runs in the same transaction before it commits (and may raise).
        Returns the project as it now is and whether it was created."""
        name = check_project_name(project)

        def work(conn: Connection) -> tuple[ProjectSettingsView, bool]:
            found = read_project(conn, name, lock=True)
            created = found is None
            if found is None:
                conn.execute(
                    text("INSERT INTO projects (name, project_status_id) VALUES (:n, :s)"),
                    {"n": name, "s": int(ProjectStatus.ACTIVE)},
                )
                found = read_project(conn, name, lock=True)
                assert found is not None
            settings: Mapping[str, Any] = found.settings
            for path, value in values.items():
                settings = _with(settings, path, value)
            conn.execute(
                text("UPDATE projects SET settings = CAST(:s AS jsonb) WHERE id = :id"),
                {"s": json.dumps(settings), "id": found.id},
            )
            changed = ProjectSettingsView(found.id, found.name, found.width, found.height, settings)
            if check is not None:
                check(conn, changed)
            return changed, created

        return await self._tx(True, work)
