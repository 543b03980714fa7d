"""SeedService on a real database and media store: B variations, one hero per kind, merges with
lineage, generated seeds with provenance, and the permanence PostgreSQL enforces."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.fixtures.database import fresh_migrated
from tests.services.seed_fixtures import photos, unique
from x121_desktop.core.enums import SeedKind, SeedOrigin
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.ids import WorkflowVersionId
from x121_desktop.core.preprocess import Check, MergeMode, merge_images, read_image
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.characters import AddCharacterRequest, CharacterService
from x121_desktop.services.script_engine import ScriptEngine
from x121_desktop.services.seed_refinement import SeedRefiner
from x121_desktop.services.seeds import GeneratedSeed, SeedService


@pytest.fixture(scope="module")
def db_url(new_database: Callable[[], str]) -> str:
    url = fresh_migrated(new_database)
    return url


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture
def studio(db_url: str, tmp_path: Path) -> Iterator[Studio]:
    built = open_studio(LaunchOptions(database_url=db_url, home=str(tmp_path / "home")))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> ScriptEngine:
    """One script engine (builds cached once) for the module's refinement steps."""
    return ScriptEngine(tmp_path_factory.mktemp("scripts-cache"))


def _character(studio: Studio, images: dict[str, Path], engine: ScriptEngine, *, with_b: bool = True) -> str:
    name = unique("Char")
    seed_b = images["rocket"] if with_b else None
    refiner = SeedRefiner.for_studio(studio, engine)
    asyncio.run(CharacterService(studio, refiner=refiner).add(AddCharacterRequest(name, images["astronaut"], seed_b)))
    return name


def test_b_variations_and_one_hero_per_kind(studio: Studio, images: dict[str, Path], engine: ScriptEngine) -> None:
    name = _character(studio, images, engine)
    service = SeedService(studio)
    added = asyncio.run(service.add(name, images["coffee"], SeedKind.B))
    assert [s.origin for s in added.seeds] == [SeedOrigin.GIVEN, SeedOrigin.GIVEN]
    assert not any(s.is_hero for s in added.seeds)  # the rocket crop stays the hero
    assert added.report is not None
    assert added.report.finding(Check.FACE_FOUND).severity.value == "warning"
    _, seeds = asyncio.run(service.list(name))
    assert [s.kind for s in seeds].count(SeedKind.B) == 4
    new_hero = asyncio.run(service.set_hero(name, added.seeds[-1].id))
    assert new_hero.is_hero
    _, seeds = asyncio.run(service.list(name))
    heroes = {k: [s.id for s in seeds if s.kind is k and s.is_hero] for k in SeedKind}
    assert heroes[SeedKind.B] == [added.seeds[-1].id]
    assert len(heroes[SeedKind.A]) == 1  # the A hero did not move
    again = asyncio.run(service.set_hero(name, added.seeds[-1].id))  # idempotent
    assert again.is_hero
    with pytest.raises(InvalidInput, match="already seed"):
        asyncio.run(service.add(name, images["coffee"], SeedKind.B))


def test_hero_of_another_characters_seed_is_refused(
    studio: Studio, images: dict[str, Path], engine: ScriptEngine
) -> None:
    mine, other = _character(studio, images, engine), _character(studio, images, engine)
    service = SeedService(studio)
    _, theirs = asyncio.run(service.list(other))
    with pytest.raises(InvalidInput, match="belongs to another character"):
        asyncio.run(service.set_hero(mine, theirs[0].id))
    with pytest.raises(NotFound, match="no seed image 99999"):
        asyncio.run(service.set_hero(mine, 99999))
    with pytest.raises(NotFound, match="no character"):
        asyncio.run(service.list(unique("ghost")))


def test_merge_blend_and_transfer_keep_their_lineage(
    studio: Studio, images: dict[str, Path], engine: ScriptEngine
) -> None:
    name = _character(studio, images, engine)
    service = SeedService(studio)
    coffee = asyncio.run(service.add(name, images["coffee"], SeedKind.B)).seeds[-1]
    _, seeds = asyncio.run(service.list(name))
    rocket = next(s for s in seeds if s.kind is SeedKind.B and s.is_hero)
    blend = asyncio.run(service.merge(name, rocket.id, coffee.id, MergeMode.BLEND))
    assert (blend.origin, blend.kind, blend.parent_seed_id, blend.merged_from_seed_id) == (
        SeedOrigin.MERGED,
        SeedKind.B,
        rocket.id,
        coffee.id,
    )
    assert blend.params == {"step": "merge", "mode": "blend", "amount": 0.5, "inputs": [rocket.id, coffee.id]}
    store = SeedService(studio).store
    first, second = read_image(store.path_of(rocket.rel_path)), read_image(store.path_of(coffee.rel_path))
    expected = merge_images(first, second, MergeMode.BLEND, 0.5)
    assert np.array_equal(read_image(store.path_of(blend.rel_path)), expected)
    transfer = asyncio.run(service.merge(name, rocket.id, coffee.id, MergeMode.TRANSFER, amount=0.8))
    assert transfer.params is not None
    assert transfer.params["mode"] == "transfer"
    assert not np.array_equal(read_image(store.path_of(transfer.rel_path)), expected)
    assert not blend.is_hero
    assert not transfer.is_hero

    a_hero = next(s for s in seeds if s.kind is SeedKind.A and s.is_hero)
    with pytest.raises(InvalidInput, match="Merge two variations of the same kind"):
        asyncio.run(service.merge(name, a_hero.id, coffee.id, MergeMode.BLEND))
    with pytest.raises(InvalidInput, match="cannot be merged with itself"):
        asyncio.run(service.merge(name, coffee.id, coffee.id, MergeMode.BLEND))
    with pytest.raises(InvalidInput, match="already exists"):
        asyncio.run(service.merge(name, rocket.id, coffee.id, MergeMode.BLEND))


def test_generated_seed_keeps_its_provenance_and_becomes_hero(
    studio: Studio, images: dict[str, Path], engine: ScriptEngine
) -> None:
    name = _character(studio, images, engine, with_b=False)
    service = SeedService(studio)
    character, seeds = asyncio.run(service.list(name))
    with studio.engine.begin() as conn:
        wid = conn.execute(text("INSERT INTO workflows (name) VALUES (:n) RETURNING id"), {"n": unique("seed-b")})
        version = conn.execute(
            text(
                "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, manifest) "
                "VALUES (:w, 1, repeat('e', 64), '{}'::jsonb, '{}'::jsonb) RETURNING id"
            ),
            {"w": wid.scalar_one()},
        ).scalar_one()
    generated = GeneratedSeed(
        character.id,
        SeedKind.B,
        images["rocket"],
        WorkflowVersionId(version),
        None,
        {"prompt": "a launch pad at dusk", "steps": 20},
        424242,
        parent_seed_id=seeds[-1].id,
    )
    stored = asyncio.run(service.record_generated(generated))
    (seed,) = stored.seeds
    assert (seed.origin, seed.kind, seed.workflow_version_id, seed.seed) == (
        SeedOrigin.GENERATED,
        SeedKind.B,
        version,
        424242,
    )
    assert seed.parent_seed_id == seeds[-1].id
    assert seed.params is not None
    assert seed.params["prompt"] == "a launch pad at dusk"
    assert "validation" in seed.params
    assert seed.is_hero  # the character had no Seed B


def test_seeds_are_permanent_in_the_database(studio: Studio, images: dict[str, Path], engine: ScriptEngine) -> None:
    name = _character(studio, images, engine)
    _, seeds = asyncio.run(SeedService(studio).list(name))
    with pytest.raises(DBAPIError, match="permanent"), studio.engine.begin() as conn:
        conn.execute(text("DELETE FROM seed_images WHERE id = :i"), {"i": seeds[0].id})
    with pytest.raises(DBAPIError, match="permanent"), studio.engine.begin() as conn:
        conn.execute(text("UPDATE seed_images SET params = '{}'::jsonb WHERE id = :i"), {"i": seeds[0].id})


def test_validate_needs_no_database(studio: Studio, images: dict[str, Path]) -> None:
    service = SeedService(studio)
    report = asyncio.run(service.validate(images["astronaut"], Fraction(1, 1)))
    assert report.ok
    assert (report.crop.width, report.crop.height) == (352, 352)
    assert not asyncio.run(service.validate(images["coffee"])).ok
    assert asyncio.run(service.validate(images["coffee"], portrait=False)).ok
    with pytest.raises(InvalidInput, match="truncated"):
        asyncio.run(service.validate(images["corrupt"]))
