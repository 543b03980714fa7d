"""Characters: add one in a starting mode with its given seeds, list them.

Starting modes (CharacterMode):
* **Manual**: Seed A (portrait) and Seed B (foundation/style) are both given.
* **Forward**: Seed A is given; Seed B is generated from it.
* **Reverse**: Seed B is given; Seed A is generated from it.
Without `mode`, it follows from the seeds given (both: manual; A only: forward; B only: reverse).

Adding validates every given seed first (Seed A must pass every portrait check) and runs the
refinement steps on Seed A (symmetry, skin texture: services/seed_refinement.py), so a bad image
or a failed step writes nothing. Then one transaction creates the character (and its project
when new) with the seeds: each original and, when the auto-crop changes it, the crop as the
hero, and for Seed A the REFINED variant with the steps' provenance (services/seeds.py).
The seed to generate is then requested through a `SeedGenerator` (by default the project's seed
workflow as a SEED_GENERATE job: services/seed_workflows.py); when it cannot be requested (the
project has no usable seed workflow, the queue refuses) the character keeps its given seed and the
result says why and what to do in one sentence. A seed workflow given with the request is checked
before anything is written. `generate` requests another generated seed for an existing character.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sqlalchemy.orm import Session

from x121_desktop.core.enums import CharacterMode, SeedKind
from x121_desktop.core.errors import InvalidInput, X121Error
from x121_desktop.core.ids import JobId
from x121_desktop.core.preprocess import SeedReport
from x121_desktop.db.engine import unit_of_work
from x121_desktop.db.repositories import characters as repo
from x121_desktop.db.repositories import seeds as seed_repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.seed_refinement import SeedRefiner
from x121_desktop.services.seed_rows import aspect_of, insert_prepared, prepare_and_refine, write_blobs
from x121_desktop.services.seed_workflows import ProjectSeedGenerator, check_given_workflow, source_kind
from x121_desktop.services.seeds import SeedGenerationRequest, SeedGenerator, SeedView
from x121_desktop.services.storage import MediaStore
from x121_desktop.services.transactions import in_transaction

CharacterView = repo.CharacterRecord
"""A character as the UI and CLI show it."""

MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class AddCharacterRequest:
    name: str
    seed_a: Path | None = None
    seed_b: Path | None = None
    mode: CharacterMode | None = None
    project: str | None = None
    seed_workflow: str | None = None
    """Forward/Reverse: generate the other seed with this workflow instead of the project's seed workflow."""


@dataclass(frozen=True, slots=True)
class GenerationOutcome:
    kind: SeedKind
    requested: bool
    """False when it could not be requested (the sentence says why): nothing was queued."""
    sentence: str
    job_id: JobId | None = None
    recorded: bool = False
    """True when the seed came from a cached result and is recorded already."""


@dataclass(frozen=True, slots=True)
class AddCharacterResult:
    character: CharacterView
    seeds: tuple[SeedView, ...]
    reports: tuple[tuple[SeedKind, SeedReport], ...]
    project_created: bool
    generation: GenerationOutcome | None


def resolve_mode(request: AddCharacterRequest) -> CharacterMode:
    """The starting mode, checked against the seeds given (one sentence when they do not fit)."""
    a, b = request.seed_a is not None, request.seed_b is not None
    mode = request.mode
    if mode is None:
        if not a and not b:
            raise InvalidInput("A character needs a Seed A or a Seed B image", "Give --seed-a IMAGE (and --seed-b)")
        return CharacterMode.MANUAL if a and b else CharacterMode.FORWARD if a else CharacterMode.REVERSE
    needs = {
        CharacterMode.MANUAL: (True, True, "Manual mode needs both --seed-a and --seed-b"),
        CharacterMode.FORWARD: (True, False, "Forward mode takes only --seed-a (Seed B is generated from it)"),
        CharacterMode.REVERSE: (False, True, "Reverse mode takes only --seed-b (Seed A is generated from it)"),
    }
    want_a, want_b, rule = needs[mode]
    if (a, b) != (want_a, want_b):
        raise InvalidInput(rule, "Give the seeds the mode needs, or choose another --mode")
    return mode


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME or any(ch in cleaned for ch in "\n\r\t/"):
        raise InvalidInput(f"{name!r} is not a usable character name", f"Use up to {MAX_NAME} characters, no '/'")
    return cleaned


class CharacterService:
    def __init__(
        self, studio: Studio, generator: SeedGenerator | None = None, refiner: SeedRefiner | None = None
    ) -> None:
        self._studio = studio
        self._runtime = studio.runtime
        self._generator: SeedGenerator = generator if generator is not None else ProjectSeedGenerator(studio)
        self._store = MediaStore(studio.paths.media_root)
        self._refiner = refiner or SeedRefiner.for_studio(studio)

    async def _tx[T](self, write: bool, work: Callable[[Session], T]) -> T:
        pool = self._runtime.db_writer if write else self._runtime.db_read

        def run() -> T:
            with unit_of_work(self._studio.sessions) as session:
                return work(session)

        return await self._runtime.run(pool, run)

    async def list(self, project: str | None = None) -> list[CharacterView]:
        return await self._tx(False, lambda s: repo.list_characters(s, project))

    async def add(self, request: AddCharacterRequest) -> AddCharacterResult:
        name = check_name(request.name)
        mode = resolve_mode(request)
        if request.seed_workflow is not None and mode is CharacterMode.MANUAL:
            raise InvalidInput(
                "A seed workflow was given, but in manual mode both seeds are given and nothing is generated",
                "Leave --seed-workflow out, or give only the seed to generate the other from",
            )
        project_name = (request.project or repo.DEFAULT_PROJECT).strip()
        if not project_name:
            raise InvalidInput("The project name is blank", "Give --project NAME")

        def before(session: Session) -> Fraction:
            project = repo.find_project(session, project_name)
            if project is not None and any(c.name == name for c in repo.list_characters(session, project_name)):
                raise InvalidInput(
                    f"Project {project_name!r} already has a character named {name!r}", "Choose another name"
                )
            return aspect_of(project)

        aspect = await self._tx(False, before)
        if request.seed_workflow is not None:
            kind, chosen = _generated_kind(mode), request.seed_workflow
            await self._runtime.run(
                self._runtime.db_read, in_transaction, self._studio,
                lambda conn: check_given_workflow(conn, project_name, kind, chosen),
            )  # fmt: skip
        given = [(k, p) for k, p in ((SeedKind.A, request.seed_a), (SeedKind.B, request.seed_b)) if p is not None]
        # Validated, and a Seed A refined, before anything is stored (a failed step writes nothing).
        prepared = [await prepare_and_refine(self._runtime, self._refiner, p, k, aspect) for k, p in given]
        blobs = [await self._runtime.run(self._runtime.io, write_blobs, self._store, p) for p in prepared]

        def work(session: Session) -> tuple[CharacterView, tuple[SeedView, ...], bool]:
            project = repo.find_project(session, project_name)
            created = project is None
            if project is None:
                project = repo.create_project(session, project_name)
            character_id = repo.add_character(session, project.id, name, mode)
            ids = []
            for item, blob in zip(prepared, blobs, strict=True):
                ids += insert_prepared(session, self._store, character_id, item, blob, make_hero=True)
            seeds = tuple(seed_repo.get_seed(session, i) for i in ids)
            return repo.get_character(session, character_id), seeds, created

        character, seeds, created = await self._tx(True, work)
        generation = await self._generate(character, mode, seeds, aspect, request.seed_workflow)
        reports = tuple((p.kind, p.report) for p in prepared)
        return AddCharacterResult(character, seeds, reports, created, generation)

    async def _generate(
        self,
        character: CharacterView,
        mode: CharacterMode,
        seeds: tuple[SeedView, ...],
        aspect: Fraction,
        workflow: str | None,
    ) -> GenerationOutcome | None:
        if mode is CharacterMode.MANUAL:
            return None
        missing = _generated_kind(mode)
        source = next(s for s in seeds if s.is_hero)
        request = SeedGenerationRequest(
            character.id, character.name, missing, source.id, self._store.path_of(source.rel_path), aspect, workflow
        )
        try:
            ticket = await self._generator.request_seed(request)
        except X121Error as exc:
            text = exc.sentence[:1].lower() + exc.sentence[1:].rstrip(".") + "."
            retry = f"x121 seed generate {shlex.quote(character.name)} --project {shlex.quote(character.project)}"
            sentence = f"Seed {missing.name} was not generated: {text} Then run `{retry}`."
            return GenerationOutcome(missing, False, sentence)
        return GenerationOutcome(missing, True, ticket.sentence, ticket.job_id, ticket.recorded)

    async def generate(
        self, name: str, *, project: str | None = None, kind: SeedKind | None = None, workflow: str | None = None
    ) -> GenerationOutcome:
        """Request one more generated seed for a character, from its hero of the other kind.

        `kind` defaults to the one its mode generates (B in Forward, A in Reverse); raises the reason
        as one sentence when it cannot be requested."""

        def read(session: Session) -> tuple[CharacterView, SeedView, Fraction]:
            found = repo.find_character(session, name, project)
            wanted = kind if kind is not None else _generated_kind(found.mode, found.name)
            hero_id = found.hero_a if wanted is SeedKind.B else found.hero_b
            if hero_id is None:
                have = "A" if wanted is SeedKind.B else "B"
                raise InvalidInput(
                    f"{found.name!r} has no hero Seed {have} to generate a Seed {wanted.name} from",
                    f"Add one with `x121 seed add {found.name} IMAGE --kind {have.lower()}`",
                )
            return found, seed_repo.get_seed(session, hero_id), aspect_of(repo.find_project(session, found.project))

        character, source, aspect = await self._tx(False, read)
        wanted = source_kind(source.kind)
        request = SeedGenerationRequest(
            character.id, character.name, wanted, source.id, self._store.path_of(source.rel_path), aspect, workflow
        )
        ticket = await self._generator.request_seed(request)
        return GenerationOutcome(wanted, True, ticket.sentence, ticket.job_id, ticket.recorded)


def _generated_kind(mode: CharacterMode, name: str = "") -> SeedKind:
    if mode is CharacterMode.MANUAL:
        raise InvalidInput(
            f"{name!r} is in manual mode, so no seed kind is generated by default",
            "Say which with --kind a or --kind b",
        )
    return SeedKind.B if mode is CharacterMode.FORWARD else SeedKind.A
