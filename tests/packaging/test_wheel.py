"""SLOW (about 15 s at load 3 on the 2-core dev box): build the wheel, install it, run it outside the checkout.

The build works offline (`pip wheel --no-deps --no-build-isolation --no-index`, the venv's setuptools).
The wheel goes into a bare `--target` folder, and a fresh `python` (this venv's, for the dependencies)
runs with that folder first on PYTHONPATH and its cwd outside the repository. So every data tree must
come from `x121_desktop/_data/` inside the installed package: migrations build an embedded PostgreSQL,
themes, keymaps, the QSS template and workflows load, and the C++ symmetry script compiles and runs.
The sources are snapshotted first so other people's edits during the build do not race it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from x121_desktop.core.bundled import DataTree

pytestmark = pytest.mark.slow

DATA = "x121_desktop/_data"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "build", "*.egg-info")
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input")


@dataclass(frozen=True)
class Built:
    src: Path  # snapshot the wheel was built from
    wheel: Path
    site: Path  # `pip install --target` folder
    outside: Path  # a cwd outside the repository


def _run(cmd: list[str] | tuple[str, ...], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _snapshot(dest: Path) -> Path:
    bundled = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["x121"]["bundled"]
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    for rel in ("x121_desktop", *bundled["paths"]):
        source = REPO / rel
        if source.is_dir():
            shutil.copytree(source, dest / rel, ignore=SKIP)
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    return dest


def _wheel_from(source: Path, out: Path) -> Path:
    _run((*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(source)), out)
    (wheel,) = out.glob("x121_desktop-*.whl")
    return wheel


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("wheel")
    for name in ("src", "dist", "cwd"):
        (root / name).mkdir()
    wheel = _wheel_from(_snapshot(root / "src"), root / "dist")
    _run((*PIP, "install", "--no-deps", "--no-index", "-q", "--target", str(root / "site"), str(wheel)), root)
    return Built(root / "src", wheel, root / "site", root / "cwd")


def _env(built: Built, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X121_", "PYTHON"))}
    env.update(PYTHONPATH=str(built.site), X121_HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    return env


def _x121(built: Built, home: Path, *args: str) -> str:
    return _run((sys.executable, "-m", "x121_desktop", *args), built.outside, _env(built, home))


def _tree_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_wheel_carries_every_data_tree_byte_for_byte(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as whl:
        shipped = {n.removeprefix(f"{DATA}/"): whl.read(n) for n in whl.namelist() if n.startswith(f"{DATA}/")}
        names = whl.namelist()
    expected: dict[str, bytes] = {}
    for tree in DataTree:
        source = built.src / tree.value
        if source.is_file():
            expected[tree.value] = source.read_bytes()
        else:
            expected.update({f"{tree.value}/{k}": v for k, v in _tree_files(source).items()})
    assert shipped.keys() == expected.keys()
    assert shipped == expected
    assert any(n.startswith(f"{DATA}/migrations/versions/0001_") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    modules = {n for n in names if n.endswith(".py") and not n.startswith(DATA)}
    assert modules == {f"x121_desktop/{p}" for p in _tree_files(built.src / "x121_desktop") if p.endswith(".py")}


PROBE = r"""
import json, sys
from pathlib import Path
import numpy as np
import x121_desktop
from x121_desktop.actions import build_registry, load_keymap
from x121_desktop.actions.keymap import available_keymaps
from x121_desktop.comfy.convert import load_workflow
from x121_desktop.comfy.templates import load_manifest
from x121_desktop.core.bundled import DataTree, data_path, locate_all
from x121_desktop.core.preprocess import encode_png
from x121_desktop.db.migrate import head_revision, known_revisions
from x121_desktop.services.script_engine import ScriptEngine, ScriptRequest
from x121_desktop.theming import available_themes, bundled_template, load_theme, render_template_file

registry = build_registry()
themes = {name: load_theme(path).name for name, path in available_themes().items()}
qss = render_template_file(bundled_template(), load_theme(available_themes()["obsidian-dark"]))
keymaps = {name: len(load_keymap(name, registry).bindings) for name in available_keymaps()}
folder = data_path(DataTree.WORKFLOWS)
manifests = sorted(p.name for p in folder.glob("*.manifest.json") if load_manifest(p))
workflows = sorted(p.name for p in folder.glob("*.api.json") if load_workflow(p))

rng = np.random.default_rng(7)
left = rng.integers(0, 255, (150, 75, 3), dtype=np.uint8)
face = Path(sys.argv[1]) / "mirrored.png"
face.write_bytes(encode_png(np.ascontiguousarray(np.concatenate([left, left[:, ::-1]], axis=1))))
engine = ScriptEngine(Path(sys.argv[1]) / "cache")
report = engine.run_blocking(ScriptRequest("symmetry", {"face": str(face)})).documents["report"]

print(json.dumps({
    "package": x121_desktop.__file__,
    "trees": {t.tree.value: [t.origin.value, str(t.path)] for t in locate_all()},
    "themes": themes, "qss_chars": len(qss), "keymaps": keymaps,
    "manifests": manifests, "workflows": workflows,
    "revisions": sorted(known_revisions()), "head": head_revision(),
    "scripts": engine.names(), "symmetry": report["score"],
}))
"""


@pytest.fixture(scope="module")
def probe(built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("probe")
    out = _run((sys.executable, "-c", PROBE, str(work)), built.outside, _env(built, work / "home"))
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def test_the_installed_package_finds_every_tree_inside_itself(built: Built, probe: dict[str, Any]) -> None:
    package = built.site / "x121_desktop"
    assert Path(probe["package"]) == package / "__init__.py"
    assert probe["trees"] == {t.value: ["package", str(package / "_data" / t.value)] for t in DataTree}


def test_installed_themes_keymaps_template_and_workflows_load(built: Built, probe: dict[str, Any]) -> None:
    src = built.src
    assert sorted(probe["themes"]) == sorted(p.stem for p in (src / "themes").glob("*.json"))
    assert probe["qss_chars"] > 1000
    assert sorted(probe["keymaps"]) == sorted(p.stem for p in (src / "keymaps").glob("*.json"))
    assert all(count > 0 for count in probe["keymaps"].values())
    assert probe["manifests"] == sorted(p.name for p in (src / "workflows").glob("*.manifest.json"))
    assert probe["workflows"] == sorted(p.name for p in (src / "workflows").glob("*.api.json"))


def test_installed_pipeline_scripts_are_found_and_the_cpp_one_compiles_on_first_use(probe: dict[str, Any]) -> None:
    assert probe["scripts"] == ["skin_texture", "symmetry"]
    assert probe["symmetry"] > 0.99  # a mirrored image is symmetric: the g++-built program really ran


def test_alembic_finds_every_shipped_revision(built: Built, probe: dict[str, Any]) -> None:
    files = sorted(p.name.split("_", 1)[0] for p in (built.src / "migrations" / "versions").glob("[0-9]*_*.py"))
    assert probe["revisions"] == files
    assert probe["head"] == files[-1]


def test_installed_x121_builds_an_embedded_database_with_the_shipped_migrations(built: Built, pg_tmp: Path) -> None:
    home = pg_tmp / "home"  # pg_tmp: reachable by the embedded server's OS user
    _x121(built, home, "db", "upgrade")  # the embedded database of a new home is created and migrated
    status = json.loads(_x121(built, home, "db", "status", "--json"))
    head = max(p.name.split("_", 1)[0] for p in (built.src / "migrations" / "versions").glob("[0-9]*_*.py"))
    assert status["embedded"] is True
    assert status["schema_revision"] == status["schema_head"] == head
    assert status["up_to_date"] is True


def test_x121_paths_reports_the_installed_package(built: Built, pg_tmp: Path) -> None:
    report = json.loads(_x121(built, pg_tmp, "paths", "--json"))
    assert report["package"] == str(built.site / "x121_desktop")
    assert {t["tree"]: t["origin"] for t in report["trees"]} == dict.fromkeys((t.value for t in DataTree), "package")
    assert _x121(built, pg_tmp, "paths", "migrations").strip() == str(built.site / "x121_desktop/_data/migrations")


def test_an_sdist_builds_the_same_wheel_data(built: Built, tmp_path: Path) -> None:
    """`python -m build` makes the wheel from the sdist: MANIFEST.in must carry the same trees."""
    code = "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    name = _run((sys.executable, "-c", code, str(tmp_path)), built.src).strip().splitlines()[-1]
    with tarfile.open(tmp_path / name) as sdist:
        sdist.extractall(tmp_path / "sdist", filter="data")
    (unpacked,) = (tmp_path / "sdist").iterdir()
    again = _wheel_from(unpacked, tmp_path)
    with zipfile.ZipFile(built.wheel) as first, zipfile.ZipFile(again) as second:
        assert sorted(n for n in second.namelist() if n.startswith(DATA)) == sorted(
            n for n in first.namelist() if n.startswith(DATA)
        )
