"""Build hook (pyproject.toml holds everything else): the wheel carries the studio's data trees.

migrations/, themes/, keymaps/, resources/, workflows/, scripts/pipeline/ and alembic.ini stay at
the top of the checkout, where people and tools edit them. A wheel build copies each path listed in
pyproject's `[tool.x121.bundled]` into `x121_desktop/_data/`, where x121_desktop/core/bundled.py
looks first. Editable installs copy nothing: they read the checkout. A listed path that is missing
stops the build, so no wheel ships without its migrations.
"""

from __future__ import annotations

import shutil
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
            source, dest = ROOT / rel, target / rel
            if source.is_dir():
                shutil.copytree(source, dest, ignore=SKIP)
            elif source.is_file():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
            else:
                raise FileError(f"{rel} (listed in pyproject.toml [tool.x121.bundled]) is missing from {ROOT}")


setup(cmdclass={"build_py": BuildPyWithData})
