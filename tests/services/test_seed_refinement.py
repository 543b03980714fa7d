"""The refinement steps on every new Seed A, on a real database: the shipped C++ symmetry and Python
skin-texture scripts run through the script engine when a character is added, a Seed A is added
or a generated Seed A is recorded; the refined portrait is kept as a REFINED variant with each
step's provenance; a step that exits non-zero or times out is reported with its log and the
registration writes nothing at all."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from tests.seam_fixtures import photo
from tests.services.seed_fixtures import photos, unique, write_png
from tests.services.test_seeds import db_url, engine, studio
from x121_desktop.core.enums import RetentionClass, SeedKind, SeedOrigin
from x121_desktop.core.preprocess import read_image
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.characters import AddCharacterRequest, CharacterService
from x121_desktop.services.script_engine import BUILTIN_SCRIPTS, ScriptEngine, ScriptFailed
from x121_desktop.services.seed_refinement import SKIN_TEXTURE, SYMMETRY, SeedRefiner, script_digest
from x121_desktop.services.seeds import GeneratedSeed, SeedService, SeedView

__all__ = ["db_url", "engine", "studio"]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    found = photos(folder)
    astronaut = photo("astronaut")
    found["mirrored"] = write_png(folder, "mirrored.png", astronaut[:, ::-1])
    found["brighter"] = write_png(folder, "brighter.png", np.clip(astronaut * 1.1, 0, 255).astype(np.uint8))
    return found


def _check_refined(studio: Studio, engine: ScriptEngine, refined: SeedView, parent: SeedView) -> None:
    assert (refined.kind, refined.origin, refined.parent_seed_id, refined.is_hero) == (
        SeedKind.A, SeedOrigin.REFINED, parent.id, False,
    )  # fmt: skip
    params = refined.params
    assert params is not None
    assert params["step"] == "refinement"
    symmetry, skin = params[SYMMETRY], params[SKIN_TEXTURE]
    assert symmetry["script"] == {"name": "symmetry", "runtime": "cpp", "entry": "symmetry.cpp",
                                  "sha256": script_digest(engine.find(SYMMETRY))}  # fmt: skip
    assert skin["script"] == {"name": "skin_texture", "runtime": "python", "entry": "skin_texture.py",
                              "sha256": script_digest(engine.find(SKIN_TEXTURE))}  # fmt: skip
    report = symmetry["result"]["report"]
    assert 0.0 <= report["score"] <= 1.0
    assert report["symmetric"] is (report["score"] >= report["threshold"])
    assert skin["inputs"]["strength"] == "0.6"
    assert skin["result"]["stats"]["skin_fraction"] > 0.01  # the astronaut's face and neck
    for step in (symmetry, skin):
        assert step["exit_status"] == 0
        assert (Path(step["run_dir"]) / "log.txt").is_file()  # the run and its log are kept
    store = SeedService(studio).store
    before, after = read_image(store.path_of(parent.rel_path)), read_image(store.path_of(refined.rel_path))
    assert before.shape == after.shape
    change = np.abs(before.astype(np.int16) - after.astype(np.int16))
    assert 0 < change.mean() < 3  # skin evened, the picture otherwise the same
    with studio.engine.connect() as conn:
        retention = conn.execute(text("SELECT retention_class_id FROM files WHERE id = :f"), {"f": refined.file_id})
        assert retention.scalar_one() == RetentionClass.PERMANENT


def test_adding_a_character_refines_seed_a_and_keeps_the_crop_as_hero(
    studio: Studio, engine: ScriptEngine, images: dict[str, Path]
) -> None:
    service = CharacterService(studio, refiner=SeedRefiner.for_studio(studio, engine))
    result = asyncio.run(service.add(AddCharacterRequest(unique("Ada"), images["astronaut"], images["rocket"])))
    kinds = [(s.kind, s.origin) for s in result.seeds]
    assert kinds == [(SeedKind.A, SeedOrigin.GIVEN), (SeedKind.A, SeedOrigin.GIVEN), (SeedKind.A, SeedOrigin.REFINED),
                     (SeedKind.B, SeedOrigin.GIVEN), (SeedKind.B, SeedOrigin.GIVEN)]  # fmt: skip
    _, crop, refined = result.seeds[:3]
    assert result.character.hero_a == crop.id
    _check_refined(studio, engine, refined, crop)


def test_seed_add_and_a_generated_seed_a_are_refined_too(
    studio: Studio, engine: ScriptEngine, images: dict[str, Path]
) -> None:
    name = unique("Ada")
    refiner = SeedRefiner.for_studio(studio, engine)
    asyncio.run(CharacterService(studio, refiner=refiner).add(AddCharacterRequest(name, images["astronaut"])))
    seeds = SeedService(studio, refiner=refiner)
    added = asyncio.run(seeds.add(name, images["mirrored"], SeedKind.A))
    assert [s.origin for s in added.seeds] == [SeedOrigin.GIVEN, SeedOrigin.GIVEN, SeedOrigin.REFINED]
    _check_refined(studio, engine, added.seeds[2], added.seeds[1])

    character, _ = asyncio.run(seeds.list(name))
    generated = GeneratedSeed(character.id, SeedKind.A, images["brighter"], None, None, {"prompt": "p"}, 7)
    recorded = asyncio.run(seeds.record_generated(generated))
    made, refined = recorded.seeds
    assert made.origin is SeedOrigin.GENERATED
    _check_refined(studio, engine, refined, made)  # the generated image as it came (no crop), refined
    b_only = asyncio.run(seeds.add(name, images["coffee"], SeedKind.B))
    assert SeedOrigin.REFINED not in {s.origin for s in b_only.seeds}  # Seed B has no refinement steps


FAILING = {
    "skin_texture": (
        'args = ["{image}", "{result}", "{stats}", "{strength}"]\n'
        '[inputs.image]\ntype = "image"\nformat = "png"\n[inputs.strength]\ntype = "float"\ndefault = 0.6\n'
        '[outputs.result]\ntype = "image"\npath = "skin_texture.png"\n'
        '[outputs.stats]\ntype = "json"\npath = "skin_texture.json"\n',
        "echo 'skin model not found: cannot normalize'\nexit 3\n",
        10,
        "Script 'skin_texture' exited with status 3",
        "skin model not found: cannot normalize",
    ),
    "symmetry": (
        'args = ["{face}", "{report}", "{threshold}"]\n'
        '[inputs.face]\ntype = "image"\nformat = "pgm"\n[inputs.threshold]\ntype = "float"\ndefault = 0.6\n'
        '[outputs.report]\ntype = "json"\npath = "symmetry.json"\n',
        "echo 'measuring the face'\nsleep 30\n",
        1,
        "Script 'symmetry' ran past its 1 s time limit and was stopped",
        "measuring the face",
    ),
}


def _shadow(root: Path, name: str, tail: str, body: str, timeout: float) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    head = f'format = "x121.script-manifest"\nversion = 1\nname = "{name}"\nruntime = "shell"\nentry = "run.sh"\n'
    (folder / "manifest.toml").write_text(f"{head}timeout_s = {timeout}\n{tail}", encoding="utf-8")
    (folder / "run.sh").write_text(textwrap.dedent(body), encoding="utf-8")


def _everything(studio: Studio) -> tuple[object, ...]:
    with studio.engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM characters), (SELECT count(*) FROM seed_images), "
                "(SELECT count(*) FROM files), (SELECT count(*) FROM projects)"
            )
        ).one()
    media = sorted(p for p in studio.paths.media_root.rglob("*") if p.is_file())
    return (*counts, media)


@pytest.mark.parametrize("broken", sorted(FAILING))
def test_a_failing_or_timed_out_step_is_reported_with_its_log_and_registers_nothing(
    studio: Studio, images: dict[str, Path], tmp_path: Path, broken: str
) -> None:
    tail, body, timeout, sentence, logged = FAILING[broken]
    _shadow(tmp_path / "scripts", broken, tail, body, timeout)
    engine = ScriptEngine(tmp_path / "cache", [tmp_path / "scripts", BUILTIN_SCRIPTS])
    refiner = SeedRefiner.for_studio(studio, engine)
    before = _everything(studio)
    request = AddCharacterRequest(unique("Ada"), images["astronaut"], images["rocket"], project=unique("p"))
    with pytest.raises(ScriptFailed) as failed:
        asyncio.run(CharacterService(studio, refiner=refiner).add(request))
    assert failed.value.problem == sentence
    assert logged in failed.value.log_tail
    assert failed.value.log_path is not None
    assert failed.value.log_path.is_file()
    assert _everything(studio) == before  # no character, project, seed, file row or media file

    name = unique("Ada")  # adding a Seed A to an existing character is refused the same way
    asyncio.run(CharacterService(studio, refiner=refiner).add(AddCharacterRequest(name, seed_b=images["rocket"])))
    before = _everything(studio)
    with pytest.raises(ScriptFailed):
        asyncio.run(SeedService(studio, refiner=refiner).add(name, images["mirrored"], SeedKind.A))
    assert _everything(studio) == before
