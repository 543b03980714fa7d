"""Seed rows from images: validate and refine (before any write), store the bytes, insert the rows.

Split from seeds.py (which holds the use cases): a given image is validated (`prepare_seed`;
Seed A must pass every portrait check), a Seed A is run through the refinement steps
(`prepare_and_refine`, seed_refinement.py), the bytes go into the media store (`write_blobs`,
before any row refers to them), and one transaction inserts the rows (`insert_prepared`: the
original, its auto-crop as the hero, the REFINED variant). Nothing here commits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from x121_desktop.core.enums import FileKind, RetentionClass, SeedKind, SeedOrigin
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import CharacterId, SeedImageId
from x121_desktop.core.preprocess import (
    DEFAULT_ASPECT,
    SeedReport,
    apply_crop,
    decode_image,
    encode_png,
    validate_foundation,
    validate_portrait,
)
from x121_desktop.db.repositories import characters as chars
from x121_desktop.db.repositories import seeds as repo
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.seed_refinement import Refinement, SeedRefiner
from x121_desktop.services.storage import Blob, MediaStore


@dataclass(frozen=True, slots=True)
class PreparedSeed:
    """A validated image ready to store: its bytes, the crop's PNG when cropping changes it, and
    for a Seed A what the refinement steps made of it (seed_refinement.py)."""

    label: str
    kind: SeedKind
    original: bytes
    suffix: str
    report: SeedReport
    cropped: bytes | None
    refinement: Refinement | None = None


@dataclass(frozen=True, slots=True)
class SeedBlobs:
    """A prepared seed's bytes in the media store: original, crop, refined portrait."""

    original: Blob
    cropped: Blob | None
    refined: Blob | None


def report_params(report: SeedReport) -> dict[str, Any]:
    return {
        "size": [report.width, report.height],
        "faces_found": report.faces_found,
        "findings": [
            {"check": f.check.value, "severity": f.severity.value, "value": f.value, "sentence": f.sentence}
            for f in report.findings
        ],
    }


def refuse(label: str, report: SeedReport) -> InvalidInput:
    failures = "; ".join(f.sentence for f in report.failures)
    return InvalidInput(f"{label} cannot be used: {failures}", "See every check with `x121 seed validate IMAGE`")


def prepare_seed(path: Path, kind: SeedKind, aspect: Fraction, *, strict: bool = True) -> PreparedSeed:
    """Read and validate an image (blocking, cpu). Seed A must pass the portrait checks."""
    label = f"Seed {kind.name} {path.name}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{label} does not exist ({path})", "Check the path of the image") from None
    except OSError as exc:
        raise InvalidInput(f"{label} cannot be read ({exc.strerror or exc})", "Check the file") from None
    image = decode_image(data, label)
    report = validate_portrait(image, aspect) if kind is SeedKind.A else validate_foundation(image, aspect)
    if strict and not report.ok:
        raise refuse(label, report)
    cropped = None if report.crop_is_whole_image else encode_png(apply_crop(image, report.crop))
    return PreparedSeed(label, kind, data, path.suffix or ".png", report, cropped)


async def prepare_and_refine(
    runtime: Runtime,
    refiner: SeedRefiner,
    path: Path,
    kind: SeedKind,
    aspect: Fraction,
    *,
    strict: bool = True,
    crop: bool = True,
) -> PreparedSeed:
    """Validate (cpu), then run the refinement steps on a Seed A that passed every check.

    Raises before anything is stored: a bad image (InvalidInput) or a failed step (ScriptFailed, with its log).
    """
    prepared = await runtime.run(runtime.cpu, lambda: prepare_seed(path, kind, aspect, strict=strict))
    if kind is not SeedKind.A or not prepared.report.ok:
        return prepared
    refinement = await refiner.refine(prepared.original, prepared.report, prepared.label, crop=crop)
    return dataclasses.replace(prepared, refinement=refinement)


def write_blobs(store: MediaStore, prepared: PreparedSeed) -> SeedBlobs:
    """The bytes into the media store (blocking, io), before any row refers to them."""
    original = store.write_bytes(prepared.original, suffix=prepared.suffix)
    cropped = None if prepared.cropped is None else store.write_bytes(prepared.cropped, suffix=".png")
    refinement = prepared.refinement
    refined = None if refinement is None else store.write_bytes(refinement.png, suffix=".png")
    return SeedBlobs(original, cropped, refined)


def insert_prepared(
    session: Session,
    store: MediaStore,
    character_id: CharacterId,
    prepared: PreparedSeed,
    blobs: SeedBlobs,
    *,
    make_hero: bool,
) -> list[SeedImageId]:
    """Rows for a prepared seed (original, crop, refined); the crop (or the original) becomes hero."""
    conn = session.connection()
    original_file = store.record(conn, blobs.original, kind=FileKind.IMAGE, retention=RetentionClass.PERMANENT)
    existing = repo.seed_with_file(session, character_id, prepared.kind, original_file.file_id)
    if existing is not None:
        raise InvalidInput(
            f"{prepared.label} is already seed {existing} of this character",
            "Pick it with `x121 seed hero` instead of adding it again",
        )
    params = {"validation": report_params(prepared.report)}
    ids = [
        repo.add_seed(
            session, repo.NewSeed(character_id, prepared.kind, original_file.file_id, SeedOrigin.GIVEN, params=params)
        )
    ]
    if blobs.cropped is not None:
        crop = prepared.report.crop
        crop_file = store.record(conn, blobs.cropped, kind=FileKind.IMAGE, retention=RetentionClass.PERMANENT)
        crop_params = {
            "step": "auto_crop",
            "box": [crop.left, crop.top, crop.width, crop.height],
            "aspect": f"{prepared.report.aspect.numerator}:{prepared.report.aspect.denominator}",
        }
        new = repo.NewSeed(
            character_id, prepared.kind, crop_file.file_id, SeedOrigin.GIVEN, parent_seed_id=ids[0], params=crop_params
        )
        ids.append(repo.add_seed(session, new))
    if make_hero:
        repo.set_hero(session, character_id, prepared.kind, ids[-1])
    return ids + add_refined(session, store, character_id, prepared, blobs, ids[-1])


def add_refined(
    session: Session, store: MediaStore, character_id: CharacterId, prepared: PreparedSeed, blobs: SeedBlobs,
    parent: SeedImageId,
) -> list[SeedImageId]:  # fmt: skip
    """The REFINED variant (child of the portrait the steps ran on), when there is one."""
    if blobs.refined is None or prepared.refinement is None:
        return []
    refined_file = store.record(
        session.connection(), blobs.refined, kind=FileKind.IMAGE, retention=RetentionClass.PERMANENT
    )
    new = repo.NewSeed(
        character_id, prepared.kind, refined_file.file_id, SeedOrigin.REFINED, parent_seed_id=parent,
        params=prepared.refinement.params,
    )  # fmt: skip
    return [repo.add_seed(session, new)]


def aspect_of(project: chars.ProjectRecord | None) -> Fraction:
    return DEFAULT_ASPECT if project is None else Fraction(project.width, project.height)
