"""Build hook (pyproject.toml holds everything else): the wheel carries the studio's data trees.

migrations/, themes/, keymaps/, resources/, workflows/, scripts/pipeline/ and alembic.ini stay at
the top of the checkout, where people and tools edit them. A wheel build copies each path listed in
pyproject's `[tool.x121.bundled]` into `x121_desktop/_data/`, where x121_desktop/core/bundled.py
looks first. Editable installs copy nothing: they read the checkout. A listed path that is missing
stops the build, so no wheel ships without its migrations. Built from a git checkout, only the files
git tracks are copied (with their working-tree content): a half-written workflow or a screenshot left
in resources/ stays out of the wheel. Outside git (an sdist) MANIFEST.in has already chosen the files.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import FileError

ROOT = Path(__file__).resolve().parent
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def bundled() -> tuple[str, list[str]]:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["x121"]["bundled"]
    return table["into"], table["paths"]


def tracked(root: Path, rel: str) -> list[str] | None:
    """The files under `rel` that git tracks in the checkout at `root` (paths relative to `root`), or None
    when `root` is not a git checkout or git cannot be run (then the whole tree is copied)."""
    if not (root / ".git").exists():
        return None
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--", rel],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [name for name in listed.decode("utf-8").split("\0") if name and (root / name).is_file()]


def copy_bundled(root: Path, rel: str, target: Path) -> None:
    """Copy `root/rel` (a file or a tree) to `target/rel`: only git-tracked files in a git checkout."""
    source, dest = root / rel, target / rel
    if not source.exists():
        raise FileError(f"{rel} (listed in pyproject.toml [tool.x121.bundled]) is missing from {root}")
    files = tracked(root, rel)
    if files is None:
        if source.is_dir():
            shutil.copytree(source, dest, ignore=SKIP)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
        return
    if not files:
        raise FileError(f"{rel} (listed in pyproject.toml [tool.x121.bundled]) has no file git tracks in {root}")
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target / name)


class BuildPyWithData(build_py):
    """build_py, then the data trees copied into the package under build_lib."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        into, paths = bundled()
        target = Path(self.build_lib) / into
        shutil.rmtree(target, ignore_errors=True)  # a stale build/ must not keep deleted files
        for rel in paths:
            copy_bundled(ROOT, rel, target)


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import its functions
    setup(cmdclass={"build_py": BuildPyWithData})
