"""`x121 character|seed|script …` against a real database, real photos and the shipped scripts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.database import fresh_migrated
from tests.services.seed_fixtures import photos
from x121_desktop.cli.main import main


@pytest.fixture(scope="module")
def db(new_database: Callable[[], str]) -> list[str]:
    url = fresh_migrated(new_database)
    return ["--database-url", url]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return photos(tmp_path_factory.mktemp("photos"))


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_add_list_hero_merge(db: list[str], images: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, b, c = str(images["astronaut"]), str(images["rocket"]), str(images["coffee"])
    assert main([*db, "character", "add", "Eileen", "--seed-a", a, "--seed-b", b, "--project", "Moon"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("character 'Eileen' #")
    assert "in project 'Moon' (new project), manual mode" in out
    assert "HERO" in out

    assert main([*db, "character", "list", "--json"]) == 0
    listed = _json(capsys)
    assert isinstance(listed, list)
    # Seed A: original, auto-crop (hero) and the refined variant the refinement scripts made
    assert [(x["name"], x["project"], x["seeds_a"], x["seeds_b"]) for x in listed] == [("Eileen", "Moon", 3, 2)]

    assert main([*db, "seed", "add", "Eileen", c, "--kind", "b", "--json"]) == 0
    added = _json(capsys)
    assert isinstance(added, dict)
    coffee_crop = added["seeds"][-1]["id"]
    assert main([*db, "seed", "hero", "Eileen", str(coffee_crop)]) == 0
    assert "HERO" in capsys.readouterr().out

    assert main([*db, "seed", "list", "Eileen", "--json"]) == 0
    listing = _json(capsys)
    assert isinstance(listing, dict)
    heroes_b = [s["id"] for s in listing["seeds"] if s["kind"] == 2 and s["is_hero"]]
    assert heroes_b == [coffee_crop]
    rocket_crop = next(
        s["id"] for s in listing["seeds"] if s["kind"] == 2 and s["parent_seed_id"] and s["id"] < coffee_crop
    )

    assert (
        main([*db, "seed", "merge", "Eileen", str(rocket_crop), str(coffee_crop), "--mode", "transfer", "--json"]) == 0
    )
    merged = _json(capsys)
    assert isinstance(merged, dict)
    assert (merged["origin"], merged["parent_seed_id"], merged["merged_from_seed_id"]) == (3, rocket_crop, coffee_crop)
    assert main([*db, "seed", "list", "Eileen"]) == 0
    assert f"(merged, merge, from #{rocket_crop}, with #{coffee_crop})" in capsys.readouterr().out


def test_forward_mode_without_a_seed_workflow_keeps_seed_a_and_names_the_setting(
    db: list[str], images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """No seed workflow is imported here: the character is added with its Seed A, nothing is queued, and one
    sentence on stderr says which project setting to fix and how (tests/cli/test_seed_generation_cli.py runs
    the generation itself on the ComfyUI stand-in)."""
    assert main([*db, "character", "add", "Solo", "--seed-a", str(images["astronaut"])]) == 0
    captured = capsys.readouterr()
    assert "forward mode" in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "Seed B was not generated: project 'Default' has no usable Seed B workflow: its setting seed_workflow.b "
        "names 'x121-seed-modelfree' (the default), and it is not in the workflow library."
    )
    assert "`x121 project set Default --seed-workflow-b NAME`" in lines[0]
    assert lines[0].endswith("Then run `x121 seed generate Solo --project Default`.")
    assert main([*db, "seed", "list", "Solo", "--json"]) == 0
    listing = _json(capsys)
    assert isinstance(listing, dict)
    assert {s["kind"] for s in listing["seeds"]} == {1}
    assert listing["pending"] == []


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        ("coffee", "No face was found in the image"),
        ("tiny", "below the 256 px minimum"),
        ("corrupt", "is truncated"),
    ],
)
def test_bad_images_are_one_sentence_and_write_nothing(
    db: list[str], images: dict[str, Path], capsys: pytest.CaptureFixture[str], photo: str, message: str
) -> None:
    assert main([*db, "character", "add", f"Bad-{photo}", "--seed-a", str(images[photo])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("x121: error: Seed A")
    assert message in err
    assert len(err.splitlines()) == 1
    assert main([*db, "character", "list", "--json"]) == 0
    assert f"Bad-{photo}" not in json.dumps(_json(capsys))


def test_seed_validate_text_and_json(images: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "validate", str(images["astronaut"])]) == 0
    out = capsys.readouterr().out
    assert "passes every check" in out
    assert "ok   sharpness" in out
    assert "crop 512x288 at (0, 0) for aspect 16:9" in out
    assert main(["seed", "validate", str(images["coffee"]), "--json"]) == 2
    report = _json(capsys)
    assert isinstance(report, dict)
    assert report["ok"] is False
    checks = {f["check"]: f["severity"] for f in report["report"]["findings"]}
    assert checks["face_found"] == "failed"
    assert checks["sharpness"] == "skipped"
    assert main(["seed", "validate", str(images["corrupt"])]) == 2
    assert "is truncated" in capsys.readouterr().err
    assert main(["seed", "validate", str(images["astronaut"]), "--aspect", "wide"]) == 2
    assert "is not an aspect ratio" in capsys.readouterr().err


def test_script_run_and_failures(
    images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["script", "list"]) == 0
    listing = capsys.readouterr().out
    assert "symmetry" in listing
    assert "skin_texture" in listing
    assert main(["script", "run", "symmetry", "--input", f"face={images['astronaut']}", "--json"]) == 0
    result = _json(capsys)
    assert isinstance(result, dict)
    assert result["exit_status"] == 0
    assert 0.0 <= result["documents"]["report"]["score"] <= 1.0

    assert main(["script", "run", "symmetry", "--input", f"face={images['corrupt']}"]) == 2
    assert "is truncated" in capsys.readouterr().err
    assert main(["script", "run", "symmetry"]) == 2
    assert "required input face is missing" in capsys.readouterr().err
    assert main(["script", "run", "nope"]) == 5

    scripts = tmp_path / "scripts"
    folder = scripts / "slow"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(
        'format = "x121.script-manifest"\nversion = 1\nname = "slow"\nruntime = "shell"\nentry = "run.sh"\n'
        "timeout_s = 30\n",
        encoding="utf-8",
    )
    (folder / "run.sh").write_text('echo "starting the slow part"\nsleep 20\n', encoding="utf-8")
    bad = scripts / "bad"
    bad.mkdir()
    (bad / "manifest.toml").write_text(
        (folder / "manifest.toml").read_text().replace('"slow"', '"bad"'), encoding="utf-8"
    )
    (bad / "run.sh").write_text('echo "no model file found" >&2\nexit 4\n', encoding="utf-8")
    monkeypatch.setenv("X121_SCRIPTS_PATH", str(scripts))
    assert main(["script", "run", "slow", "--timeout", "0.5"]) == 7
    err = capsys.readouterr().err
    assert "ran past its 0.5 s time limit and was stopped" in err
    assert "starting the slow part" in err
    assert main(["script", "run", "bad"]) == 7
    err = capsys.readouterr().err
    assert err.startswith("x121: error: Script 'bad' exited with status 4.")
    assert "no model file found" in err
