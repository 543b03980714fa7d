"""CharacterService on a real database and media store: the three starting modes, the seeds it
stores (original + auto-crop hero, with provenance), the generation hand-off, and bad input that
writes nothing."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.fixtures.database import fresh_migrated
from tests.services.seed_fixtures import photos, unique
from x121_desktop.core.enums import CharacterMode, SeedKind, SeedOrigin
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import JobId
from x121_desktop.core.preprocess import read_image
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.characters import AddCharacterRequest, CharacterService
from x121_desktop.services.seeds import SeedGenerationRequest, SeedGenerationTicket
from x121_desktop.services.storage import MediaStore


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


def _counts(studio: Studio) -> tuple[int, int, int, int]:
    with studio.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM characters), "
                "(SELECT count(*) FROM seed_images), (SELECT count(*) FROM files)"
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def test_manual_mode_stores_originals_and_auto_crops(studio: Studio, images: dict[str, Path]) -> None:
    name, project = unique("Ada"), unique("proj")
    result = asyncio.run(
        CharacterService(studio).add(AddCharacterRequest(name, images["astronaut"], images["rocket"], project=project))
    )
    assert result.project_created
    assert result.generation is None
    c = result.character
    assert (c.name, c.project, c.mode, c.seeds_a, c.seeds_b) == (name, project, CharacterMode.MANUAL, 3, 2)
    a_orig, a_crop, a_refined, _b_orig, b_crop = result.seeds
    assert (a_orig.kind, a_orig.origin, a_orig.is_hero) == (SeedKind.A, SeedOrigin.GIVEN, False)
    assert (a_crop.parent_seed_id, a_crop.is_hero) == (a_orig.id, True)
    assert (a_refined.origin, a_refined.parent_seed_id, a_refined.is_hero) == (SeedOrigin.REFINED, a_crop.id, False)
    assert c.hero_a == a_crop.id
    assert c.hero_b == b_crop.id
    assert a_crop.params == {"step": "auto_crop", "box": [0, 0, 512, 288], "aspect": "16:9"}
    assert a_orig.params is not None
    findings = a_orig.params["validation"]["findings"]
    assert [f["check"] for f in findings][:2] == ["resolution", "face_found"]
    assert all(f["severity"] == "passed" for f in findings)
    store = MediaStore(studio.paths.media_root)
    assert store.path_of(a_orig.rel_path).read_bytes() == images["astronaut"].read_bytes()
    assert a_orig.sha256 == hashlib.sha256(images["astronaut"].read_bytes()).hexdigest()
    assert read_image(store.path_of(a_crop.rel_path)).shape == (288, 512, 3)
    assert read_image(store.path_of(b_crop.rel_path)).shape == (360, 640, 3)  # rocket: 640x427, centred
    with studio.engine.connect() as conn:
        retention = (
            conn.execute(
                text("SELECT DISTINCT retention_class_id FROM files WHERE id IN (:a, :b)"),
                {"a": a_orig.file_id, "b": a_crop.file_id},
            )
            .scalars()
            .all()
        )
    assert retention == [1]  # permanent

    listed = asyncio.run(CharacterService(studio).list(project))
    assert [(x.name, x.hero_a, x.hero_b) for x in listed] == [(name, a_crop.id, b_crop.id)]


def test_forward_without_a_usable_seed_workflow_keeps_seed_a_and_says_so(
    studio: Studio, images: dict[str, Path]
) -> None:
    """The default generator is the project's seed workflow; none is imported here, so nothing is queued and the
    sentence names the setting and the fix."""
    name = unique("Fwd")
    result = asyncio.run(CharacterService(studio).add(AddCharacterRequest(name, seed_a=images["astronaut"])))
    assert result.character.mode is CharacterMode.FORWARD
    assert result.character.project == "Default"
    assert result.generation is not None
    assert not result.generation.requested
    assert result.generation.job_id is None
    assert result.generation.kind is SeedKind.B
    assert result.generation.sentence.startswith(
        "Seed B was not generated: project 'Default' has no usable Seed B workflow: its setting seed_workflow.b"
    )
    assert f"x121 seed generate {name} --project Default" in result.generation.sentence
    assert result.character.seeds_b == 0


class _RecordingGenerator:
    """A SeedGenerator as the orchestrator integration will be: here it only hands out job ids."""

    def __init__(self) -> None:
        self.requests: list[SeedGenerationRequest] = []

    async def request_seed(self, request: SeedGenerationRequest) -> SeedGenerationTicket:
        self.requests.append(request)
        assert request.source_path.is_file()
        return SeedGenerationTicket(JobId(9000 + len(self.requests)), f"Seed {request.kind.name} is queued")


def test_forward_and_reverse_ask_the_generator_for_the_other_seed(studio: Studio, images: dict[str, Path]) -> None:
    generator = _RecordingGenerator()
    service = CharacterService(studio, generator)
    fwd = asyncio.run(
        service.add(AddCharacterRequest(unique("F"), seed_a=images["astronaut"], mode=CharacterMode.FORWARD))
    )
    rev = asyncio.run(service.add(AddCharacterRequest(unique("R"), seed_b=images["rocket"])))
    assert rev.character.mode is CharacterMode.REVERSE
    first, second = generator.requests
    hero_a = next(s for s in fwd.seeds if s.is_hero)
    assert (first.kind, first.character_id, first.source_seed_id) == (SeedKind.B, fwd.character.id, hero_a.id)
    assert (second.kind, second.source_seed_id) == (SeedKind.A, rev.seeds[-1].id)
    assert fwd.generation is not None
    assert fwd.generation.requested
    assert fwd.generation.job_id == 9001
    assert rev.generation is not None
    assert rev.generation.sentence == "Seed A is queued"


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        ("coffee", "No face was found"),
        ("tiny", "below the 256 px minimum"),
        ("corrupt", "is truncated"),
    ],
)
def test_bad_seed_a_writes_nothing(studio: Studio, images: dict[str, Path], photo: str, message: str) -> None:
    before = _counts(studio)
    files_before = sorted(p for p in studio.paths.media_root.rglob("*") if p.is_file())
    request = AddCharacterRequest(unique("Bad"), images[photo], images["rocket"], project=unique("bad-project"))
    with pytest.raises(InvalidInput, match=message) as caught:
        asyncio.run(CharacterService(studio).add(request))
    assert "\n" not in caught.value.sentence
    assert _counts(studio) == before
    assert sorted(p for p in studio.paths.media_root.rglob("*") if p.is_file()) == files_before


def test_requests_that_do_not_fit_are_refused(studio: Studio, images: dict[str, Path]) -> None:
    service = CharacterService(studio)
    cases = [
        (AddCharacterRequest("X"), "needs a Seed A or a Seed B"),
        (AddCharacterRequest("X", seed_a=images["astronaut"], mode=CharacterMode.MANUAL), "needs both"),
        (AddCharacterRequest("X", images["astronaut"], images["rocket"], CharacterMode.FORWARD), "takes only --seed-a"),
        (AddCharacterRequest("X", seed_a=images["astronaut"], mode=CharacterMode.REVERSE), "takes only --seed-b"),
        (AddCharacterRequest("  ", seed_a=images["astronaut"]), "not a usable character name"),
    ]
    before = _counts(studio)
    for request, message in cases:
        with pytest.raises(InvalidInput, match=message):
            asyncio.run(service.add(request))
    with pytest.raises(InvalidInput, match="does not exist"):
        asyncio.run(service.add(AddCharacterRequest("X", seed_a=images["astronaut"].with_name("missing.png"))))
    assert _counts(studio) == before


def test_a_duplicate_name_in_a_project_is_refused(studio: Studio, images: dict[str, Path]) -> None:
    name, project = unique("Twin"), unique("twins")
    service = CharacterService(studio)
    asyncio.run(service.add(AddCharacterRequest(name, seed_a=images["astronaut"], project=project)))
    before = _counts(studio)
    with pytest.raises(InvalidInput, match="already has a character named"):
        asyncio.run(service.add(AddCharacterRequest(name, seed_a=images["astronaut"], project=project)))
    assert _counts(studio) == before
    other = asyncio.run(service.add(AddCharacterRequest(name, seed_a=images["astronaut"], project=unique("p2"))))
    assert other.character.name == name  # the same name in another project is fine
    assert asyncio.run(service.list(unique("nowhere"))) == []
