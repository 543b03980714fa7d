"""Which files of the data trees a wheel carries (setup.py `copy_bundled`), on real git checkouts in a temp folder.

From a git checkout only what git tracks goes in, with its working-tree content, so an untracked draft or
screenshot never ships; outside git (an unpacked sdist, already filtered by MANIFEST.in) the whole tree does.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from setuptools.errors import FileError

from tests.conftest import REPO


def _setup_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("x121_setup_py", REPO / "setup.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its setup() runs only as __main__
    return module


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "themes" / "sub").mkdir(parents=True)
    (root / "themes" / "dark.json").write_text("committed")
    (root / "themes" / "sub" / "light.json").write_text("committed")
    (root / "alembic.ini").write_text("ini")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "data")
    (root / "themes" / "dark.json").write_text("edited, not committed")
    (root / "themes" / "draft.json").write_text("untracked")
    (root / "themes" / "staged.json").write_text("added, not committed")
    _git(root, "add", "themes/staged.json")
    (root / "drafts").mkdir()
    (root / "drafts" / "x.json").write_text("untracked tree")
    return root


def test_a_git_checkout_ships_only_tracked_files_with_their_working_tree_content(
    checkout: Path, tmp_path: Path
) -> None:
    setup = _setup_module()
    target = tmp_path / "data"
    for rel in ("themes", "alembic.ini"):
        setup.copy_bundled(checkout, rel, target)
    assert _files(target) == {
        "alembic.ini": "ini",
        "themes/dark.json": "edited, not committed",
        "themes/staged.json": "added, not committed",
        "themes/sub/light.json": "committed",
    }
    with pytest.raises(FileError, match=r"drafts .* has no file git tracks"):
        setup.copy_bundled(checkout, "drafts", target)
    with pytest.raises(FileError, match=r"gone .* is missing"):
        setup.copy_bundled(checkout, "gone", target)


def test_outside_git_the_whole_tree_ships(checkout: Path, tmp_path: Path) -> None:
    setup = _setup_module()
    unpacked = tmp_path / "sdist"
    subprocess.run(["cp", "-r", str(checkout), str(unpacked)], check=True)
    subprocess.run(["rm", "-rf", str(unpacked / ".git")], check=True)
    target = tmp_path / "data"
    setup.copy_bundled(unpacked, "themes", target)
    assert set(_files(target)) == {
        "themes/dark.json",
        "themes/draft.json",
        "themes/staged.json",
        "themes/sub/light.json",
    }
