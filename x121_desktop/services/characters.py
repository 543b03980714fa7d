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
The seed to generate is then requested through a `SeedGenerator`; where none is wired yet the
result says so in one sentence and the character keeps its given seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sqlalchemy.orm import Session

from x121_desktop.core.enums import CharacterMode, SeedKind
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import JobId
from x121_desktop.core.preprocess import SeedReport
from x121_desktop.db.engine import unit_of_work
from x121_desktop.db.repositories import characters as repo
from x121_desktop.db.repositories import seeds as seed_repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.seed_refinement import SeedRefiner
from x121_desktop.services.seed_rows import aspect_of, insert_prepared, prepare_and_refine, write_blobs
from x121_desktop.services.seeds import SeedGenerationRequest, SeedGenerator, SeedView
from x121_desktop.services.storage import MediaStore

CharacterView = repo.CharacterRecord
"""A character as the UI and CLI show it."""

MAX_NAME = 64
NOT_WIRED = (
    "Seed {kind} was not generated: seed generation through the job queue is not wired into X121 yet, "
    "so add one yourself with `x121 seed add {name} IMAGE --kind {code}`"
)


@dataclass(frozen=True, slots=True)
class AddCharacterRequest:
    name: str
    seed_a: Path | None = None
    seed_b: Path | None = None
    mode: CharacterMode | None = None
    project: str | None = None


@dataclass(frozen=True, slots=True)
class GenerationOutcome:
    kind: SeedKind
    requested: bool
    """False when no generator is wired: nothing was queued."""
    sentence: str
    job_id: JobId | None = None


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
        self._generator = generator
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
        generation = await self._generate(character, mode, seeds, aspect)
        reports = tuple((p.kind, p.report) for p in prepared)
        return AddCharacterResult(character, seeds, reports, created, generation)

    async def _generate(
        self, character: CharacterView, mode: CharacterMode, seeds: tuple[SeedView, ...], aspect: Fraction
    ) -> GenerationOutcome | None:
        if mode is CharacterMode.MANUAL:
            return None
        missing = SeedKind.B if mode is CharacterMode.FORWARD else SeedKind.A
        source = next(s for s in seeds if s.is_hero)
        if self._generator is None:
            text = NOT_WIRED.format(kind=missing.name, name=character.name, code=missing.code)
            return GenerationOutcome(missing, False, text + ".")
        request = SeedGenerationRequest(
            character.id, character.name, missing, source.id, self._store.path_of(source.rel_path), aspect
        )
        ticket = await self._generator.request_seed(request)
        return GenerationOutcome(missing, True, ticket.sentence, ticket.job_id)
