"""The data-tree locator (x121_desktop.core.bundled), its build lists and `x121 paths`; fast, no build.

test_wheel.py builds and installs a real wheel; here the package-first, checkout-second order is
checked on real folders, and the lists the build reads are checked against `DataTree`.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO
from x121_desktop.actions.keymap import bundled_keymaps_dir
from x121_desktop.cli.main import main
from x121_desktop.core.bundled import (
    CHECKOUT,
    PACKAGE_DATA,
    DataTree,
    Origin,
    data_path,
    display_path,
    locate,
    locate_all,
)
from x121_desktop.core.errors import ConfigError
from x121_desktop.db.migrate import known_revisions
from x121_desktop.services.script_engine import BUILTIN_SCRIPTS
from x121_desktop.theming import bundled_template, bundled_themes_dir

TREES = {t.value for t in DataTree}


def test_pyproject_and_manifest_in_list_exactly_the_located_trees() -> None:
    bundled = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["x121"]["bundled"]
    assert set(bundled["paths"]) == TREES
    assert REPO / bundled["into"] == PACKAGE_DATA
    lines = [ln.split() for ln in (REPO / "MANIFEST.in").read_text(encoding="utf-8").splitlines()]
    listed = {words[1] for words in lines if words and words[0] in {"include", "graft"}}
    assert listed == TREES


def test_in_this_checkout_every_tree_comes_from_the_checkout() -> None:
    assert CHECKOUT == REPO
    assert not PACKAGE_DATA.exists()  # only a wheel has it; a stray copy here would shadow the live trees
    assert [(t.tree, t.origin, t.path) for t in locate_all()] == [
        (t, Origin.CHECKOUT, REPO / t.value) for t in DataTree
    ]
    assert bundled_themes_dir() == REPO / "themes"
    assert bundled_keymaps_dir() == REPO / "keymaps"
    assert bundled_template() == REPO / "resources" / "qss" / "studio.qss.tmpl"
    assert BUILTIN_SCRIPTS == REPO / "scripts" / "pipeline"
    assert known_revisions() == {
        p.name.split("_", 1)[0] for p in (REPO / "migrations" / "versions").glob("[0-9]*_*.py")
    }


def _checkout(root: Path) -> Path:
    (root / "x121_desktop").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "x121-desktop"\n', encoding="utf-8")
    return root


def test_the_package_copy_wins_over_the_checkout(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "repo")
    package_data = checkout / "x121_desktop" / "_data"
    for root in (checkout, package_data):
        (root / "themes").mkdir(parents=True)
    (checkout / "keymaps").mkdir()
    roots = {"package_data": package_data, "checkout": checkout}
    assert locate(DataTree.THEMES, **roots).origin is Origin.PACKAGE
    assert locate(DataTree.THEMES, **roots).path == package_data / "themes"
    assert locate(DataTree.KEYMAPS, **roots).origin is Origin.CHECKOUT
    assert data_path(DataTree.KEYMAPS, **roots) == checkout / "keymaps"


def test_a_folder_beside_site_packages_is_not_taken_for_the_checkout(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "x121_desktop" / "_data").mkdir(parents=True)
    (site / "migrations").mkdir()  # some other distribution's top-level folder
    found = locate(DataTree.MIGRATIONS, package_data=site / "x121_desktop" / "_data", checkout=site)
    assert found.origin is Origin.MISSING
    assert found.path == site / "x121_desktop" / "_data" / "migrations"


def test_a_missing_tree_is_one_sentence_naming_both_places(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "repo")
    with pytest.raises(ConfigError) as caught:
        data_path(DataTree.PIPELINE_SCRIPTS, package_data=checkout / "x121_desktop" / "_data", checkout=checkout)
    assert caught.value.sentence == (
        f"X121's bundled scripts/pipeline is missing: neither {checkout}/x121_desktop/_data/scripts/pipeline nor "
        f"{checkout}/scripts/pipeline exists. Reinstall X121 Studio from a complete wheel or checkout"
    )


def test_messages_show_shipped_files_relative_and_others_in_full(tmp_path: Path) -> None:
    assert display_path(REPO / "keymaps" / "avid.json") == "keymaps/avid.json"
    assert display_path(PACKAGE_DATA / "themes" / "neon-dark.json") == "themes/neon-dark.json"
    assert display_path(tmp_path / "mine.json") == str(tmp_path / "mine.json")


def test_x121_paths_prints_each_tree_and_where_it_was_found(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"x121 0.1.0 from {REPO / 'x121_desktop'}"
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert rows == {t.value: ["checkout", str(REPO / t.value)] for t in DataTree}

    assert main(["paths", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["trees"] == [{"tree": t.value, "origin": "checkout", "path": str(REPO / t.value)} for t in DataTree]

    assert main(["paths", "scripts/pipeline"]) == 0
    assert capsys.readouterr().out == f"{REPO / 'scripts' / 'pipeline'}\n"
