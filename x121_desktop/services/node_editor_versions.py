"""Versions from the node editor: "Save version" stores the open document as a workflow version.

The version is stored exactly as `services/workflows.py` imports files: the API JSON made by the
bridge's converter, the UI document beside it, the manifest (kept from the previous version unless a
new one is given) and a content hash over API JSON + manifest, so saving identical content adds no
version. The author is the signed-in role (the database fills `created_by`). Any earlier version can
be opened again, and `scene_uses` says which scenes run which version (`scenes.workflow_version_id`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from x121_desktop.comfy.convert import WorkflowFormat, ui_to_api
from x121_desktop.comfy.templates import parse_manifest, validate_manifest
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.graph.document import dump_document, load_document
from x121_desktop.core.graph.from_api import document_from_api
from x121_desktop.db.models.projects import Character
from x121_desktop.db.models.scenes import Scene
from x121_desktop.db.models.workflows import Workflow, WorkflowVersion
from x121_desktop.db.repositories import workflows as repo
from x121_desktop.services.workflows import (
    PreparedImport,
    WorkflowView,
    _store,
    check_name,
    content_hash,
    workflow_transaction,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from x121_desktop.comfy.object_info import ObjectInfo
    from x121_desktop.core.graph.catalog import NodeCatalog
    from x121_desktop.core.graph.model import WorkflowDocument
    from x121_desktop.services.runtime import Runtime
    from x121_desktop.services.workflows import WorkflowService


@dataclass(frozen=True, slots=True)
class SavedVersion:
    name: str
    version_no: int
    created: bool
    """False: identical content is already stored as `version_no`; nothing was added."""
    content_hash: str

    @property
    def sentence(self) -> str:
        if not self.created:
            return f"Workflow {self.name!r} is unchanged, still version {self.version_no}."
        return f"Saved workflow {self.name!r} as version {self.version_no}."


@dataclass(frozen=True, slots=True)
class SceneUse:
    """A scene that runs one version of a workflow."""

    version_no: int
    scene_id: int
    scene_name: str
    character_name: str


def prepare_document(
    document: WorkflowDocument, info: ObjectInfo, manifest: Mapping[str, Any], name: str
) -> PreparedImport:
    """Convert and check the open document as an import would (runs in a worker thread)."""

    conversion = ui_to_api(document, info, name)
    manifest_json = dict(manifest)
    parameters: tuple[str, ...] = ()
    if manifest_json:
        parsed = parse_manifest(manifest_json, f"the manifest of {name}")
        problems = validate_manifest(parsed, conversion.prompt, info)
        if problems:
            first = problems[0].message.rstrip(".")
            raise InvalidInput(
                f"The manifest no longer fits workflow {name!r}: {first}",
                "Expose the parameter on an existing input again, or remove it from the manifest, then save.",
            )
        parameters = tuple(parsed.parameters)
    return PreparedImport(
        format=WorkflowFormat.UI,
        api_json=conversion.prompt,
        ui_json=dump_document(document),
        manifest_json=manifest_json,
        manifest_source=None,
        parameters=parameters,
        conversion_notes=conversion.notes,
        content_hash=content_hash(conversion.prompt, manifest_json),
    )


def _scene_uses(session: Session, name: str) -> tuple[SceneUse, ...]:
    rows = session.execute(
        select(WorkflowVersion.version_no, Scene.id, Scene.name, Character.name)
        .join(Workflow, Workflow.id == WorkflowVersion.workflow_id)
        .join(Scene, Scene.workflow_version_id == WorkflowVersion.id)
        .join(Character, Character.id == Scene.character_id)
        .where(Workflow.name == name)
        .order_by(WorkflowVersion.version_no, Character.name, Scene.name)
    ).all()
    return tuple(SceneUse(int(v), int(i), str(s), str(c)) for v, i, s, c in rows)


class WorkflowVersionsService:
    """Save, list and open workflow versions for the editor, as the signed-in role."""

    def __init__(self, sessions: sessionmaker[Session], runtime: Runtime, workflows: WorkflowService) -> None:
        self._sessions, self._runtime, self._workflows = sessions, runtime, workflows

    async def save_version(
        self,
        name: str,
        document: WorkflowDocument,
        info: ObjectInfo | None,
        *,
        note: str = "",
        manifest: Mapping[str, Any] | None = None,
    ) -> SavedVersion:
        """Store the document as the next version; `manifest` None keeps the latest version's manifest."""
        name = check_name(name)
        if info is None:
            raise InvalidInput(
                "Saving a version needs a server's node list to convert the workflow with",
                "Load the node list from a server or a file first.",
            )
        if manifest is None:
            latest = await self._read(f"read workflow {name!r}", lambda s: repo.get_version(s, name))
            manifest = {} if latest is None else latest.manifest
        prepared = await self._runtime.run(self._runtime.cpu, prepare_document, document, info, manifest, name)
        _, number, created = await self._runtime.run(
            self._runtime.db_writer,
            workflow_transaction,
            self._sessions,
            f"save workflow {name!r}",
            lambda s: _store(s, name, note, prepared),
        )
        return SavedVersion(name, number, created, prepared.content_hash)

    async def history(self, name: str) -> WorkflowView:
        for view in await self._workflows.list_workflows():
            if view.name == name:
                return view
        raise NotFound(f"There is no workflow named {name!r}", "Save a version of it first.")

    async def manifest(self, name: str, version_no: int | None = None) -> Mapping[str, Any]:
        stored = await self._read(f"read workflow {name!r}", lambda s: repo.get_version(s, name, version_no))
        return {} if stored is None else stored.manifest

    async def open_version(self, name: str, version_no: int, catalog: NodeCatalog) -> WorkflowDocument:
        """The document of an earlier version (its UI document; API-only versions are laid out anew)."""
        stored = await self._read(f"read workflow {name!r}", lambda s: repo.get_version(s, name, version_no))
        if stored is None:
            raise NotFound(
                f"Workflow {name!r} has no version {version_no}", "Pick one of the versions listed in the editor."
            )
        if stored.ui_json is not None:
            return load_document(stored.ui_json, f"{name} v{version_no}")
        return document_from_api(stored.api_json, catalog)[0]

    async def scene_uses(self, name: str) -> tuple[SceneUse, ...]:
        return await self._read(f"list the scenes using {name!r}", lambda s: _scene_uses(s, name))

    async def _read[T](self, doing: str, work: Callable[[Session], T]) -> T:
        return await self._runtime.run(self._runtime.db_read, workflow_transaction, self._sessions, doing, work)
