"""Queries for the workflows aggregate (workflows, workflow_versions). Never commits.

Rows come back as frozen records, never ORM objects. Versions are append-only: a new
version is numbered after the workflow row is locked (`FOR UPDATE`), so two workstations
importing at once get consecutive numbers instead of a unique-constraint failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, null, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from x121_desktop.db.models.servers import ComfyServer
from x121_desktop.db.models.users import User
from x121_desktop.db.models.workflows import Workflow, WorkflowVersion


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One stored version, without its documents."""

    id: int
    version_no: int
    content_hash: str
    has_ui: bool
    parameter_names: tuple[str, ...]
    note: str
    created_by: str
    """The author's login role name."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WorkflowRecord:
    id: int
    name: str
    description: str
    is_archived: bool
    versions: tuple[VersionRecord, ...]
    """Oldest first."""


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version with its documents (jsonb as read: plain dicts)."""

    workflow_id: int
    workflow_name: str
    version_no: int
    content_hash: str
    api_json: Mapping[str, Any]
    ui_json: Mapping[str, Any] | None
    manifest: Mapping[str, Any]


def lock_or_create_workflow(session: Session, name: str) -> int:
    """The id of workflow `name`, created if new, locked until the transaction ends."""
    session.execute(insert(Workflow).values(name=name).on_conflict_do_nothing(index_elements=[Workflow.name]))
    return int(session.execute(select(Workflow.id).where(Workflow.name == name).with_for_update()).scalar_one())


def version_with_hash(session: Session, workflow_id: int, content_hash: str) -> int | None:
    """The number of the version of this workflow that has exactly this content, if any."""
    found = session.execute(
        select(WorkflowVersion.version_no).where(
            WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.content_hash == content_hash
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


def latest_version_no(session: Session, workflow_id: int) -> int:
    """The highest version number of the workflow, 0 when it has none."""
    latest = session.execute(
        select(func.max(WorkflowVersion.version_no)).where(WorkflowVersion.workflow_id == workflow_id)
    ).scalar_one()
    return int(latest or 0)


def add_version(
    session: Session,
    *,
    workflow_id: int,
    version_no: int,
    content_hash: str,
    api_json: Mapping[str, Any],
    ui_json: Mapping[str, Any] | None,
    manifest: Mapping[str, Any],
    note: str,
) -> int:
    """Insert one version (created_by defaults to the signed-in user) and return its id."""
    stmt = (
        insert(WorkflowVersion)
        .values(
            workflow_id=workflow_id,
            version_no=version_no,
            content_hash=content_hash,
            api_json=dict(api_json),
            ui_json=null() if ui_json is None else dict(ui_json),  # SQL NULL, not JSON 'null'
            manifest=dict(manifest),
            note=note,
        )
        .returning(WorkflowVersion.id)
    )
    return int(session.execute(stmt).scalar_one())


def list_workflows(session: Session, *, include_archived: bool = True) -> tuple[WorkflowRecord, ...]:
    """Every workflow by name, each with its versions (oldest first)."""
    query = select(Workflow).order_by(Workflow.name)
    if not include_archived:
        query = query.where(Workflow.is_archived.is_(False))
    workflows = session.execute(query).scalars().all()
    rows = session.execute(
        select(
            WorkflowVersion.id,
            WorkflowVersion.workflow_id,
            WorkflowVersion.version_no,
            WorkflowVersion.content_hash,
            WorkflowVersion.ui_json.is_not(None),
            WorkflowVersion.manifest["parameters"],
            WorkflowVersion.note,
            User.role_name,
            WorkflowVersion.created_at,
        )
        .join(User, User.id == WorkflowVersion.created_by)
        .order_by(WorkflowVersion.workflow_id, WorkflowVersion.version_no)
    ).all()
    versions: dict[int, list[VersionRecord]] = {}
    for vid, wid, number, digest, has_ui, params, note, author, created in rows:
        names = tuple(sorted(params)) if isinstance(params, Mapping) else ()
        versions.setdefault(wid, []).append(
            VersionRecord(vid, number, digest, bool(has_ui), names, note, author, created)
        )
    return tuple(
        WorkflowRecord(w.id, w.name, w.description, w.is_archived, tuple(versions.get(w.id, ()))) for w in workflows
    )


def get_version(session: Session, name: str, version_no: int | None = None) -> StoredVersion | None:
    """Version `version_no` of workflow `name` (the latest when None), or None when there is none."""
    query = (
        select(Workflow.id, Workflow.name, WorkflowVersion)
        .join(WorkflowVersion, WorkflowVersion.workflow_id == Workflow.id)
        .where(Workflow.name == name)
    )
    if version_no is None:
        query = query.order_by(WorkflowVersion.version_no.desc()).limit(1)
    else:
        query = query.where(WorkflowVersion.version_no == version_no)
    row = session.execute(query).one_or_none()
    if row is None:
        return None
    wid, wname, version = row
    return StoredVersion(
        workflow_id=int(wid),
        workflow_name=str(wname),
        version_no=version.version_no,
        content_hash=version.content_hash,
        api_json=version.api_json,
        ui_json=version.ui_json,
        manifest=version.manifest,
    )


def version_numbers(session: Session, name: str) -> tuple[int, ...] | None:
    """The version numbers of workflow `name`, or None when no workflow has that name."""
    wid = session.execute(select(Workflow.id).where(Workflow.name == name)).scalar_one_or_none()
    if wid is None:
        return None
    numbers = session.execute(
        select(WorkflowVersion.version_no)
        .where(WorkflowVersion.workflow_id == wid)
        .order_by(WorkflowVersion.version_no)
    ).scalars()
    return tuple(int(n) for n in numbers)


def workflow_names(session: Session) -> tuple[str, ...]:
    return tuple(session.execute(select(Workflow.name).order_by(Workflow.name)).scalars())


def server_base_url(session: Session, server_name: str) -> str | None:
    """The base URL of the ComfyUI server registered as `server_name` (`x121 server add`), if any."""
    found = session.execute(select(ComfyServer.base_url).where(ComfyServer.name == server_name)).scalar_one_or_none()
    return None if found is None else str(found)
