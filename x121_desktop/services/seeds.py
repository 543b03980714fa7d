"""Seed images: validate, register (original + auto-crop), list, pick the hero, merge, record generated.

Every seed is permanent (PostgreSQL rejects deleting or overwriting one), and so is its file (a
reused row of equal bytes with a weaker retention class is raised to PERMANENT as the seed is
inserted, `repositories.seeds.add_seed`, revision 0017), so each change adds a row: a given image
is stored as it came (origin GIVEN, with its validation findings in `params`), and when the
auto-crop changes it, the crop is stored too as its child (GIVEN, `parent_seed_id` = the original,
`params.step = "auto_crop"` with the box), and the crop is the hero. Merges are MERGED children of
their first input (`merged_from_seed_id` = the second).
Generated seeds carry workflow version, job, parameters and seed.

A new validated Seed A also gets a REFINED variant from the refinement scripts, run before the
transaction (seed_refinement.py; the rows themselves are made in seed_rows.py). Blocking work
runs on the studio's executors: decoding and validation on `cpu`, file writes on `io`, then one
transaction on `db_writer`. Bytes are in the media store before their rows
commit (a failed transaction leaves only orphan files, which the janitor removes).

Generation (Forward: B from A; Reverse: A from B) goes through the `SeedGenerator` protocol:
services/seed_workflows.py picks the project's seed workflow and services/seed_generation.py
submits it as a SEED_GENERATE job; once the job finished, its collector calls
`SeedService.record_generated` (which records a job's image once, whoever collects it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from x121_desktop.core.enums import FileKind, RetentionClass, SeedKind, SeedOrigin
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import CharacterId, JobId, SeedImageId, WorkflowVersionId
from x121_desktop.core.preprocess import (
    DEFAULT_ASPECT,
    MergeMode,
    SeedReport,
    encode_png,
    merge_images,
    read_image,
    validate_foundation,
    validate_portrait,
)
from x121_desktop.db.engine import unit_of_work
from x121_desktop.db.repositories import characters as chars
from x121_desktop.db.repositories import seeds as repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.seed_refinement import SeedRefiner
from x121_desktop.services.seed_rows import (
    add_refined,
    aspect_of,
    insert_prepared,
    prepare_and_refine,
    report_params,
    write_blobs,
)
from x121_desktop.services.storage import MediaStore

SeedView = repo.SeedRecord
"""A seed as the UI and CLI show it."""


@dataclass(frozen=True, slots=True)
class SeedGenerationRequest:
    """Generate the missing seed of `kind` for a character from its hero of the other kind."""

    character_id: CharacterId
    character_name: str
    kind: SeedKind
    source_seed_id: SeedImageId
    source_path: Path
    aspect: Fraction
    workflow: str | None = None
    """The workflow to generate it with; None: the project's seed workflow (services/seed_workflows.py)."""


@dataclass(frozen=True, slots=True)
class SeedGenerationTicket:
    job_id: JobId
    sentence: str
    recorded: bool = False
    """True when the seed is already recorded (a cached result): nothing is left to render or collect."""


class SeedGenerator(Protocol):
    """Implemented by the orchestrator integration: queue the job that generates one seed."""

    async def request_seed(self, request: SeedGenerationRequest) -> SeedGenerationTicket: ...


@dataclass(frozen=True, slots=True)
class GeneratedSeed:
    """A finished generation, as the orchestrator integration reports it."""

    character_id: CharacterId
    kind: SeedKind
    image: Path
    workflow_version_id: WorkflowVersionId | None
    job_id: JobId | None
    params: Mapping[str, Any]
    seed: int | None
    parent_seed_id: SeedImageId | None = None


@dataclass(frozen=True, slots=True)
class StoredSeeds:
    seeds: tuple[SeedView, ...]
    """The rows added (original first, then its crop)."""
    report: SeedReport | None


class SeedService:
    """Seed use cases as the signed-in user; PostgreSQL enforces who may write (creators, admins)."""

    def __init__(self, studio: Studio, refiner: SeedRefiner | None = None) -> None:
        self._studio = studio
        self._runtime = studio.runtime
        self.store = MediaStore(studio.paths.media_root)
        self.refiner = refiner or SeedRefiner.for_studio(studio)

    async def _tx[T](self, write: bool, work: Callable[[Session], T]) -> T:
        pool = self._runtime.db_writer if write else self._runtime.db_read

        def run() -> T:
            with unit_of_work(self._studio.sessions) as session:
                return work(session)

        return await self._runtime.run(pool, run)

    async def validate(self, path: Path, aspect: Fraction = DEFAULT_ASPECT, *, portrait: bool = True) -> SeedReport:
        """Every check on one image (no database); a corrupt or missing file raises."""

        def work() -> SeedReport:
            image = read_image(path)
            return validate_portrait(image, aspect) if portrait else validate_foundation(image, aspect)

        return await self._runtime.run(self._runtime.cpu, work)

    async def list(self, character: str, project: str | None = None) -> tuple[chars.CharacterRecord, list[SeedView]]:
        def work(session: Session) -> tuple[chars.CharacterRecord, list[SeedView]]:
            found = chars.find_character(session, character, project)
            return found, repo.list_seeds(session, found.id)

        return await self._tx(False, work)

    async def add(
        self, character: str, path: Path, kind: SeedKind, *, project: str | None = None, make_hero: bool = False
    ) -> StoredSeeds:
        """Add a given image as a new variant (and its auto-crop); hero when asked or when it is the first."""
        record, aspect = await self._tx(False, lambda s: _character_and_aspect(s, character, project))
        prepared = await prepare_and_refine(self._runtime, self.refiner, path, kind, aspect)
        blobs = await self._runtime.run(self._runtime.io, write_blobs, self.store, prepared)

        def work(session: Session) -> StoredSeeds:
            chars.lock_character(session, record.id)
            first = not any(s.kind is kind for s in repo.list_seeds(session, record.id))
            ids = insert_prepared(session, self.store, record.id, prepared, blobs, make_hero=make_hero or first)
            return StoredSeeds(tuple(repo.get_seed(session, i) for i in ids), prepared.report)

        return await self._tx(True, work)

    async def set_hero(self, character: str, seed_id: int, project: str | None = None) -> SeedView:
        def work(session: Session) -> SeedView:
            found = chars.find_character(session, character, project)
            chars.lock_character(session, found.id)
            seed = repo.get_seed(session, seed_id)
            if seed.character_id != found.id:
                raise InvalidInput(
                    f"Seed {seed_id} belongs to another character, not {found.name!r}",
                    f"List {found.name}'s seeds with `x121 seed list {found.name}`",
                )
            repo.set_hero(session, found.id, seed.kind, seed.id)
            return repo.get_seed(session, seed.id)

        return await self._tx(True, work)

    async def merge(
        self,
        character: str,
        first_id: int,
        second_id: int,
        mode: MergeMode,
        *,
        amount: float | None = None,
        project: str | None = None,
    ) -> SeedView:
        """A new variant from two of the character's seeds of one kind (blend or colour transfer)."""
        if first_id == second_id:
            raise InvalidInput("A seed cannot be merged with itself", "Give two different seed ids")

        def load(session: Session) -> tuple[chars.CharacterRecord, SeedView, SeedView]:
            found = chars.find_character(session, character, project)
            first, second = repo.get_seed(session, first_id), repo.get_seed(session, second_id)
            for seed in (first, second):
                if seed.character_id != found.id:
                    raise InvalidInput(
                        f"Seed {seed.id} belongs to another character, not {found.name!r}",
                        f"List {found.name}'s seeds with `x121 seed list {found.name}`",
                    )
            if first.kind is not second.kind:
                raise InvalidInput(
                    f"Seed {first.id} is a Seed {first.kind.name} and seed {second.id} a Seed {second.kind.name}",
                    "Merge two variations of the same kind",
                )
            return found, first, second

        found, first, second = await self._tx(False, load)
        share = mode.default_amount if amount is None else amount

        def compute() -> bytes:
            a = read_image(self.store.path_of(first.rel_path))
            b = read_image(self.store.path_of(second.rel_path))
            return encode_png(merge_images(a, b, mode, share))

        png = await self._runtime.run(self._runtime.cpu, compute)
        blob = await self._runtime.run(self._runtime.io, self.store.write_bytes, png, suffix=".png")

        def work(session: Session) -> SeedView:
            chars.lock_character(session, found.id)
            stored = self.store.record(
                session.connection(), blob, kind=FileKind.IMAGE, retention=RetentionClass.PERMANENT
            )
            existing = repo.seed_with_file(session, found.id, first.kind, stored.file_id)
            if existing is not None:
                raise InvalidInput(
                    f"This merge gives exactly seed {existing}, which already exists", "Pick it, or merge differently"
                )
            params = {"step": "merge", "mode": mode.value, "amount": share, "inputs": [first.id, second.id]}
            new = repo.NewSeed(
                found.id,
                first.kind,
                stored.file_id,
                SeedOrigin.MERGED,
                parent_seed_id=first.id,
                merged_from_seed_id=second.id,
                params=params,
            )
            return repo.get_seed(session, repo.add_seed(session, new))

        return await self._tx(True, work)

    async def record_generated(self, generated: GeneratedSeed) -> StoredSeeds:
        """Keep a generated variant with its provenance; it becomes hero when its kind has none.

        Generated images are kept even when a check fails (the findings are stored with it), so
        nothing a job produced is lost; the hero is only moved to one that passes. Nothing is added
        when the job's image is already recorded (by another client, or as an identical seed). The
        image's bytes usually have a row already (the job's output, WORKING): the seed reuses it and
        raises it to PERMANENT in the same transaction.
        """

        def aspect(session: Session) -> Fraction:
            record = chars.get_character(session, generated.character_id)
            project = chars.find_project(session, record.project)
            return aspect_of(project)

        ratio = await self._tx(False, aspect)
        path, kind = generated.image, generated.kind
        prepared = await prepare_and_refine(self._runtime, self.refiner, path, kind, ratio, strict=False, crop=False)
        prepared = dataclasses.replace(prepared, cropped=None)  # a generated image is kept as it came
        blobs = await self._runtime.run(self._runtime.io, write_blobs, self.store, prepared)

        def work(session: Session) -> StoredSeeds:
            chars.lock_character(session, generated.character_id)
            if generated.job_id is not None and repo.seeds_of_job(session, generated.job_id):
                return StoredSeeds((), None)  # another client recorded this job's image meanwhile
            conn = session.connection()
            stored = self.store.record(conn, blobs.original, kind=FileKind.IMAGE, retention=RetentionClass.PERMANENT)
            if repo.seed_with_file(session, generated.character_id, generated.kind, stored.file_id) is not None:
                return StoredSeeds((), None)  # the job made an image the character already has
            params = {**generated.params, "validation": report_params(prepared.report)}
            new = repo.NewSeed(
                generated.character_id,
                generated.kind,
                stored.file_id,
                SeedOrigin.GENERATED,
                parent_seed_id=generated.parent_seed_id,
                workflow_version_id=generated.workflow_version_id,
                job_id=generated.job_id,
                params=params,
                seed=generated.seed,
            )
            seed_id = repo.add_seed(session, new)
            has_hero = any(
                s.is_hero and s.kind is generated.kind for s in repo.list_seeds(session, generated.character_id)
            )
            if not has_hero and prepared.report.ok:
                repo.set_hero(session, generated.character_id, generated.kind, seed_id)
            ids = [seed_id, *add_refined(session, self.store, generated.character_id, prepared, blobs, seed_id)]
            return StoredSeeds(tuple(repo.get_seed(session, i) for i in ids), prepared.report)

        return await self._tx(True, work)


def _character_and_aspect(session: Session, name: str, project: str | None) -> tuple[chars.CharacterRecord, Fraction]:
    record = chars.find_character(session, name, project)
    return record, aspect_of(chars.find_project(session, record.project))
