"""Which workflow generates a character's missing seed: per project, per kind, with a bundled default.

Forward mode generates Seed B from Seed A, Reverse mode Seed A from Seed B. The workflow for each is
the project setting `seed_workflow.b` / `seed_workflow.a` (`projects.settings`, revision 0016; set
with `x121 project set PROJECT --seed-workflow-b NAME`); a kind the project leaves unset uses
`DEFAULT_SEED_WORKFLOW`, the bundled model-free `workflows/x121-seed-modelfree` (core ComfyUI nodes
only: it runs on any server and makes no new content). One request may name another workflow
(`x121 character add … --seed-workflow NAME`, `x121 seed generate … --workflow NAME`).

A seed workflow is usable when it is in the workflow library (`x121 workflow import`) and its
manifest takes the source seed as an image parameter (`source_image`; else `seed_image_a` for
Forward, `seed_image_b` for Reverse; else its one image parameter), has an image output and needs
no other parameter without a default. The project frame (`width`, `height`) and a fresh random
`seed` are given when the manifest declares them. Anything else is one sentence that names the
setting and the fix (`SeedWorkflowUnusable`).

`ProjectSeedGenerator` is the `SeedGenerator` the CLI and the UI hand `CharacterService`: it
resolves the recipe for the character's project and queues the job through `JobSeedGenerator`.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from x121_desktop.comfy.templates import Manifest, ParamType, parse_manifest
from x121_desktop.core.enums import SeedKind
from x121_desktop.core.errors import ConfigError, NotFound, X121Error
from x121_desktop.core.ids import ProjectId, WorkflowVersionId
from x121_desktop.db.repositories import scenes as scene_repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.project_settings import (
    Path,
    ProjectSettingsService,
    ProjectSettingsView,
    dotted,
    new_project_frame,
    read_project,
    read_project_of_character,
)
from x121_desktop.services.seed_generation import JobSeedGenerator
from x121_desktop.services.seeds import SeedGenerationRequest, SeedGenerationTicket
from x121_desktop.services.transactions import in_transaction

DEFAULT_SEED_WORKFLOW = "x121-seed-modelfree"
"""The bundled model-free seed workflow's library name (workflows/x121-seed-modelfree.api.json)."""
SOURCE_PARAMETER = "source_image"
SEED_RANGE = 2**32
IMPORT_DEFAULT = (
    f'x121 workflow import "$(x121 paths workflows)/{DEFAULT_SEED_WORKFLOW}.api.json" --name {DEFAULT_SEED_WORKFLOW}'
)


def setting_path(kind: SeedKind) -> Path:
    return ("seed_workflow", kind.code)


def setting_name(kind: SeedKind) -> str:
    """`seed_workflow.b`: the project setting naming the workflow that generates this kind."""
    return dotted(setting_path(kind))


def option_name(kind: SeedKind) -> str:
    return f"--seed-workflow-{kind.code}"


def source_kind(kind: SeedKind) -> SeedKind:
    """The seed a `kind` is generated from (B from A, A from B)."""
    return SeedKind.A if kind is SeedKind.B else SeedKind.B


class SeedWorkflowUnusable(ConfigError):
    """A project's seed workflow (or the one given) cannot generate a seed."""


@dataclass(frozen=True, slots=True)
class SeedWorkflowChoice:
    """The workflow a project uses for one kind, and where that choice comes from."""

    kind: SeedKind
    workflow: str
    origin: str
    """`given` (this request), `project` (the project setting), `default` (the bundled workflow), or
    `setting` (being set as the project setting now)."""

    @property
    def said(self) -> str:
        if self.origin == "given":
            return f"the given seed workflow {self.workflow!r}"
        return f"{self.workflow!r}" + (" (the default)" if self.origin == "default" else "")


@dataclass(frozen=True, slots=True)
class SeedRecipe:
    """What one seed generation submits: the workflow version, where the source goes, the fixed inputs."""

    choice: SeedWorkflowChoice
    version_id: WorkflowVersionId
    version_no: int
    image_parameter: str
    params: Mapping[str, object]


def choice_for(project: ProjectSettingsView, kind: SeedKind, given: str | None = None) -> SeedWorkflowChoice:
    if given is not None and given.strip():
        return SeedWorkflowChoice(kind, given.strip(), "given")
    named = project.value(setting_path(kind))
    if isinstance(named, str) and named.strip():
        return SeedWorkflowChoice(kind, named, "project")
    return SeedWorkflowChoice(kind, DEFAULT_SEED_WORKFLOW, "default")


def _unusable(project: ProjectSettingsView, choice: SeedWorkflowChoice, why: str) -> SeedWorkflowUnusable:
    """One sentence: which workflow, why it cannot generate the seed, and what to do (by where it came from)."""
    kind, name, setting = choice.kind, choice.workflow, setting_name(choice.kind)
    choose = f"`x121 project set {shlex.quote(project.name)} {option_name(kind)} NAME`"
    if choice.origin == "given":
        return SeedWorkflowUnusable(
            f"The seed workflow {name!r} cannot generate Seed {kind.name} for project {project.name!r}: {why}",
            f"Choose an imported workflow (see `x121 workflow list`), or none to use the project's {setting}.",
        )
    if choice.origin == "setting":
        return SeedWorkflowUnusable(
            f"Workflow {name!r} cannot generate Seed {kind.name} for project {project.name!r}, "
            f"so {setting} was not changed: {why}",
            f"Import it first with `x121 workflow import FILE --name {name}`, or give an imported one "
            "(see `x121 workflow list`).",
        )
    fix = (
        f"Import the bundled one with `{IMPORT_DEFAULT}`, or choose another with {choose}."
        if name == DEFAULT_SEED_WORKFLOW
        else f"Import it with `x121 workflow import FILE --name {name}`, or choose another with {choose}."
    )
    return SeedWorkflowUnusable(
        f"Project {project.name!r} has no usable Seed {kind.name} workflow: its setting {setting} names "
        f"{choice.said}, and {why}",
        fix,
    )


def image_parameter(manifest: Manifest, kind: SeedKind) -> str | None:
    """The manifest parameter that takes the source seed (see the module docstring), or None."""
    images = [p.name for p in manifest.parameters.values() if p.type is ParamType.IMAGE]
    for preferred in (SOURCE_PARAMETER, f"seed_image_{source_kind(kind).code}"):
        if preferred in images:
            return preferred
    return images[0] if len(images) == 1 else None


def recipe(conn: Connection, project: ProjectSettingsView, choice: SeedWorkflowChoice) -> SeedRecipe:
    """The recipe for `choice` on `project`, or SeedWorkflowUnusable saying why and what to do."""
    try:
        version_id, version_no, raw = scene_repo.workflow_version(conn, choice.workflow, None)
    except NotFound:
        raise _unusable(project, choice, "it is not in the workflow library") from None
    if not raw:
        raise _unusable(project, choice, f"its v{version_no} has no manifest saying where the source seed goes")
    try:
        manifest = parse_manifest(raw, f"the manifest of {choice.workflow} v{version_no}")
    except X121Error as exc:
        raise _unusable(project, choice, f"the manifest of its v{version_no} does not load ({exc.problem})") from None
    source = image_parameter(manifest, choice.kind)
    if source is None:
        raise _unusable(
            project, choice, f"its v{version_no} has no image parameter {SOURCE_PARAMETER!r} for the source seed"
        )
    if not any(o.kind == "image" for o in manifest.outputs.values()):
        raise _unusable(project, choice, f"its v{version_no} declares no image output in its manifest")
    params: dict[str, object] = {}
    for name, value in (("width", project.width), ("height", project.height)):
        if name in manifest.parameters and manifest.parameters[name].type is ParamType.INT:
            params[name] = value
    if "seed" in manifest.parameters and manifest.parameters["seed"].type is ParamType.INT:
        params["seed"] = secrets.randbelow(SEED_RANGE)
    missing = [
        p.name
        for p in manifest.parameters.values()
        if p.required and p.name != source and p.name not in params and p.default is None and p.default_from is None
    ]
    if missing:
        raise _unusable(
            project,
            choice,
            f"its v{version_no} needs parameter {missing[0]!r} (required, no default), which a seed generation "
            "does not give",
        )
    return SeedRecipe(choice, version_id, version_no, source, params)


def recipe_for_character(conn: Connection, character_id: int, kind: SeedKind, given: str | None = None) -> SeedRecipe:
    project = read_project_of_character(conn, character_id)
    return recipe(conn, project, choice_for(project, kind, given))


def check_given_workflow(conn: Connection, project: str, kind: SeedKind, workflow: str) -> None:
    """Raise SeedWorkflowUnusable when `workflow`, given for one request, cannot generate `kind` on the
    project (a project not created yet is checked with the frame size new projects get)."""
    found = read_project(conn, project)
    if found is None:
        width, height = new_project_frame(conn)
        found = ProjectSettingsView(ProjectId(0), project, width, height, {})
    recipe(conn, found, choice_for(found, kind, workflow))


class ProjectSeedGenerator:
    """`services.seeds.SeedGenerator`: the character's project's seed workflow, queued as a SEED_GENERATE job."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio

    async def recipe(self, character_id: int, kind: SeedKind, given: str | None = None) -> SeedRecipe:
        runtime = self._studio.runtime
        return await runtime.run(
            runtime.db_read, in_transaction, self._studio,
            lambda conn: recipe_for_character(conn, character_id, kind, given),
        )  # fmt: skip

    async def request_seed(self, request: SeedGenerationRequest) -> SeedGenerationTicket:
        found = await self.recipe(request.character_id, request.kind, request.workflow)
        generator = JobSeedGenerator(
            self._studio,
            found.choice.workflow,
            image_parameter=found.image_parameter,
            params=found.params,
            version=found.version_no,
        )
        return await generator.request_seed(request)


@dataclass(frozen=True, slots=True)
class SeedWorkflowSettings:
    """A project with the seed workflow it uses for each kind."""

    project: str
    choices: tuple[SeedWorkflowChoice, ...]


class SeedWorkflowService:
    """Read and change a project's seed workflows; a workflow is checked before it is set."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._settings = ProjectSettingsService(studio)

    async def list(self) -> list[SeedWorkflowSettings]:
        return [_settings_of(p) for p in await self._settings.list()]

    async def get(self, project: str) -> SeedWorkflowSettings:
        return _settings_of(await self._settings.get(project))

    async def set(self, project: str, workflows: Mapping[SeedKind, str | None]) -> tuple[SeedWorkflowSettings, bool]:
        """Set the seed workflow of each kind given (None: back to the default); each must be usable."""
        values: dict[Path, Any] = {
            setting_path(kind): (name.strip() or None) if name is not None else None for kind, name in workflows.items()
        }

        def check(conn: Connection, changed: ProjectSettingsView) -> None:
            for kind in workflows:
                choice = choice_for(changed, kind)
                if choice.origin == "project":
                    recipe(conn, changed, SeedWorkflowChoice(kind, choice.workflow, "setting"))

        changed, created = await self._settings.set_values(project, values, check)
        return _settings_of(changed), created


def _settings_of(project: ProjectSettingsView) -> SeedWorkflowSettings:
    return SeedWorkflowSettings(project.name, tuple(choice_for(project, kind) for kind in (SeedKind.B, SeedKind.A)))
