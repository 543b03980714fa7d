"""Workflow library: import workflow files as numbered versions, list them, validate one against a server.

Import reads a ComfyUI workflow in either format, keeps the UI document when given (for the node
editor), converts it to the API format (UI files need a server's node list: `/object_info` of a
registered server or a saved copy), loads its manifest (given, or `<name>.manifest.json` beside the
file) and checks that the manifest fits the workflow. Everything is checked before the database is
touched, so bad input stores nothing. The content hash covers the canonical API JSON and the
manifest: importing the same content again adds no version.

Validation checks a stored version against one server's `/object_info` (fetched live from a
server registered with `x121 server add`, or read from a file) and returns frozen findings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.convert import LoadedWorkflow, WorkflowFormat, parse_workflow, read_json, to_api
from x121_desktop.comfy.object_info import ObjectInfo
from x121_desktop.comfy.templates import Manifest, parse_manifest, validate_manifest
from x121_desktop.comfy.validate import Severity, validate_prompt
from x121_desktop.core.errors import DatabaseError, InvalidInput, NotFound, PermissionDenied, X121Error
from x121_desktop.core.graph.document import dump_document
from x121_desktop.db.repositories import workflows as repo
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.transactions import session_transaction

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_KIND = "manifest"


@dataclass(frozen=True, slots=True)
class ObjectInfoSource:
    """Where a server's node list comes from: a registered server (fetched live) or a saved file."""

    server: str | None = None
    file: Path | None = None


@dataclass(frozen=True, slots=True)
class ImportRequest:
    path: Path
    name: str
    manifest: Path | None = None
    """None: use `<name>.manifest.json` beside the workflow file when there is one."""
    note: str = ""
    object_info: ObjectInfoSource = ObjectInfoSource()


@dataclass(frozen=True, slots=True)
class ImportResult:
    name: str
    workflow_id: int
    version_no: int
    created: bool
    """False: the same content was already stored as `version_no`; nothing was added."""
    content_hash: str
    format: str
    """`api` or `ui` (the UI document is kept beside the API JSON)."""
    manifest: str | None
    """The manifest file used, None when the workflow has none."""
    parameters: tuple[str, ...]
    conversion_notes: tuple[str, ...]

    @property
    def sentence(self) -> str:
        if not self.created:
            return f"Workflow {self.name!r} is unchanged, still version {self.version_no}."
        return f"Imported workflow {self.name!r} as version {self.version_no}."


@dataclass(frozen=True, slots=True)
class VersionView:
    version_no: int
    content_hash: str
    has_ui: bool
    parameters: tuple[str, ...]
    note: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WorkflowView:
    name: str
    description: str
    archived: bool
    versions: tuple[VersionView, ...]

    @property
    def latest(self) -> int | None:
        return self.versions[-1].version_no if self.versions else None


@dataclass(frozen=True, slots=True)
class FindingView:
    """One validation finding as a sentence; `kind` is a comfy.validate FindingKind value or `manifest`."""

    kind: str
    severity: str
    message: str
    node_id: str | None = None
    node_type: str | None = None
    title: str | None = None
    input_name: str | None = None


@dataclass(frozen=True, slots=True)
class ValidationReport:
    workflow: str
    version_no: int
    against: str
    """The node list used: `server NAME (URL)` or the file path."""
    findings: tuple[FindingView, ...]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == Severity.ERROR.value)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == Severity.WARNING.value)

    @property
    def ok(self) -> bool:
        return self.errors == 0


@dataclass(frozen=True, slots=True)
class PreparedImport:
    """A workflow file, checked and converted, ready to store."""

    format: WorkflowFormat
    api_json: dict[str, Any]
    ui_json: dict[str, Any] | None
    manifest_json: dict[str, Any]
    manifest_source: str | None
    parameters: tuple[str, ...]
    conversion_notes: tuple[str, ...]
    content_hash: str


class ManifestMismatch(InvalidInput):
    """A manifest does not fit its workflow; `problems` holds every sentence."""

    def __init__(self, workflow: Path, problems: tuple[str, ...]) -> None:
        self.problems = problems
        first = problems[0].rstrip(".")
        more = len(problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(
            f"The manifest does not fit {workflow.name}: {first}{tail}",
            "Fix the manifest, or give the one that belongs to this workflow with --manifest FILE.",
        )


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(api_json: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    """sha256 of the canonical API JSON and manifest (what a run depends on; UI layout is not part of it)."""
    return hashlib.sha256(canonical_json({"api": api_json, "manifest": manifest})).hexdigest()


def manifest_beside(path: Path) -> Path:
    """`x.api.json` and `x.json` both look for `x.manifest.json`."""
    stem = path.name.removesuffix(".json").removesuffix(".JSON").removesuffix(".api")
    return path.with_name(stem + MANIFEST_SUFFIX)


def check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise InvalidInput("The workflow name is empty", "Give a name with --name NAME.")
    return clean


def prepare_import(path: Path, manifest_path: Path | None, info: ObjectInfo | None) -> PreparedImport:
    """Read, convert and check a workflow file and its manifest; raises one sentence on bad input."""
    raw = read_json(path)
    workflow: LoadedWorkflow = parse_workflow(raw, str(path))
    if workflow.document is not None and info is None:
        raise InvalidInput(
            f"{path} is a UI-format workflow; converting it to the API format needs a server's node list",
            "Give --server NAME (a server added with `x121 server add`) or --object-info FILE.",
        )
    catalog = info if info is not None else ObjectInfo(nodes={}, source="no node list")
    conversion = to_api(workflow, catalog)
    ui_json = dump_document(workflow.document) if workflow.document is not None else None
    chosen = manifest_path if manifest_path is not None else manifest_beside(path)
    manifest_json: dict[str, Any] = {}
    manifest: Manifest | None = None
    if manifest_path is not None or chosen.is_file():
        loaded = read_json(chosen)
        manifest = parse_manifest(loaded, str(chosen))
        manifest_json = dict(loaded)
        problems = validate_manifest(manifest, conversion.prompt, catalog)
        if problems:
            raise ManifestMismatch(path, tuple(p.message for p in problems))
    return PreparedImport(
        format=workflow.format,
        api_json=conversion.prompt,
        ui_json=ui_json,
        manifest_json=manifest_json,
        manifest_source=None if manifest is None else str(chosen),
        parameters=() if manifest is None else tuple(manifest.parameters),
        conversion_notes=conversion.notes,
        content_hash=content_hash(conversion.prompt, manifest_json),
    )


def validate_version(stored: repo.StoredVersion, info: ObjectInfo, against: str) -> ValidationReport:
    """Findings for a stored version's API JSON, plus its manifest checked against this server's nodes."""
    findings = [
        FindingView(f.kind.value, f.severity.value, f.message, f.node_id, f.node_type, f.title, f.input_name)
        for f in validate_prompt(stored.api_json, info)
    ]
    if stored.manifest:
        label = f"the manifest of {stored.workflow_name} v{stored.version_no}"
        try:
            manifest = parse_manifest(stored.manifest, label)
        except X121Error as exc:
            findings.append(FindingView(MANIFEST_KIND, Severity.ERROR.value, exc.sentence))
        else:
            findings.extend(
                FindingView(MANIFEST_KIND, Severity.ERROR.value, _sentence(p.message))
                for p in validate_manifest(manifest, stored.api_json, info)
            )
    return ValidationReport(stored.workflow_name, stored.version_no, against, tuple(findings))


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _explain(exc: DBAPIError, doing: str) -> X121Error:
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(orig or exc)).strip().splitlines()[0]
    if getattr(orig, "sqlstate", None) == "42501":
        return PermissionDenied(
            f"The database refused to {doing}: {message}",
            "Only creators and admins can change workflows; ask one of them, or an admin to change your role.",
        )
    return DatabaseError(f"Could not {doing}: {message}", "")


def workflow_transaction[T](sessions: sessionmaker[Session], doing: str, work: Callable[[Session], T]) -> T:
    """One user operation = one transaction (`services.transactions`); refusals say who may change workflows."""
    return session_transaction(sessions, doing, work, _explain)


def _store(session: Session, name: str, note: str, prepared: PreparedImport) -> tuple[int, int, bool]:
    workflow_id = repo.lock_or_create_workflow(session, name)
    same = repo.version_with_hash(session, workflow_id, prepared.content_hash)
    if same is not None:
        return workflow_id, same, False
    number = repo.latest_version_no(session, workflow_id) + 1
    repo.add_version(
        session,
        workflow_id=workflow_id,
        version_no=number,
        content_hash=prepared.content_hash,
        api_json=prepared.api_json,
        ui_json=prepared.ui_json,
        manifest=prepared.manifest_json,
        note=note,
    )
    return workflow_id, number, True


def _view(record: repo.WorkflowRecord) -> WorkflowView:
    versions = tuple(
        VersionView(v.version_no, v.content_hash, v.has_ui, v.parameter_names, v.note, v.created_by, v.created_at)
        for v in record.versions
    )
    return WorkflowView(record.name, record.description, record.is_archived, versions)


class WorkflowService:
    """Import, list and validate workflows as the signed-in role; PostgreSQL decides who may write."""

    def __init__(self, sessions: sessionmaker[Session], runtime: Runtime) -> None:
        self._sessions = sessions
        self._runtime = runtime

    async def import_file(self, request: ImportRequest) -> ImportResult:
        name = check_name(request.name)
        info = await self._object_info_or_none(request.object_info)
        prepared = await self._runtime.run(self._runtime.cpu, prepare_import, request.path, request.manifest, info)

        def work(session: Session) -> tuple[int, int, bool]:
            return _store(session, name, request.note, prepared)

        workflow_id, number, created = await self._runtime.run(
            self._runtime.db_writer, workflow_transaction, self._sessions, f"import workflow {name!r}", work
        )
        return ImportResult(
            name=name,
            workflow_id=workflow_id,
            version_no=number,
            created=created,
            content_hash=prepared.content_hash,
            format=prepared.format.value,
            manifest=prepared.manifest_source,
            parameters=prepared.parameters,
            conversion_notes=prepared.conversion_notes,
        )

    async def list_workflows(self) -> tuple[WorkflowView, ...]:
        records = await self._read("list workflows", repo.list_workflows)
        return tuple(_view(r) for r in records)

    async def validate(self, name: str, source: ObjectInfoSource, version_no: int | None = None) -> ValidationReport:
        stored = await self._read(f"read workflow {name!r}", lambda s: _must_get_version(s, name, version_no))
        info, against = await self._object_info(source)
        return await self._runtime.run(self._runtime.cpu, validate_version, stored, info, against)

    async def _object_info_or_none(self, source: ObjectInfoSource) -> ObjectInfo | None:
        if source.server is None and source.file is None:
            return None
        return (await self._object_info(source))[0]

    async def _object_info(self, source: ObjectInfoSource) -> tuple[ObjectInfo, str]:
        if source.file is not None and source.server is not None:
            raise InvalidInput("Both a server and an /object_info file were given", "Give only one of the two.")
        if source.file is not None:
            return await self._runtime.run(self._runtime.io, ObjectInfo.from_file, source.file), str(source.file)
        if source.server is None:
            raise InvalidInput(
                "No node list to validate against",
                "Give --server NAME (a server added with `x121 server add`) or --object-info FILE.",
            )
        server = source.server
        base_url = await self._read(f"look up server {server!r}", lambda s: repo.server_base_url(s, server))
        if base_url is None:
            raise NotFound(
                f"There is no ComfyUI server named {server!r}",
                "List them with `x121 server list`, or add it with `x121 server add URL --name NAME`.",
            )
        against = f"server {server} ({base_url})"

        def fetch() -> ObjectInfo:  # HTTP and parsing ~500 kB stay off the event loop
            return ObjectInfo.from_dict(ComfyClient(base_url).object_info(), source=against)

        return await self._runtime.run(self._runtime.io, fetch), against

    async def _read[T](self, doing: str, work: Callable[[Session], T]) -> T:
        return await self._runtime.run(self._runtime.db_read, workflow_transaction, self._sessions, doing, work)


def _must_get_version(session: Session, name: str, version_no: int | None) -> repo.StoredVersion:
    stored = repo.get_version(session, name, version_no)
    if stored is not None:
        return stored
    numbers = repo.version_numbers(session, name)
    if numbers is None:
        known = ", ".join(repo.workflow_names(session)[:10]) or "none yet"
        raise NotFound(
            f"There is no workflow named {name!r} (known: {known})",
            "Check the name with `x121 workflow list`, or import it with `x121 workflow import FILE --name NAME`.",
        )
    have = ", ".join(str(n) for n in numbers) or "none"
    raise NotFound(
        f"Workflow {name!r} has no version {version_no} (it has {have})",
        "Pick one of those with --version N, or leave --version out for the latest.",
    )
