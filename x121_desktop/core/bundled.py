"""Where the studio's shipped data trees are: inside the installed package first, else in the checkout.

migrations/, themes/, keymaps/, resources/, workflows/, scripts/pipeline/ and alembic.ini live at the
top of the repository, where people and tools edit them. A wheel carries copies under
``x121_desktop/_data/`` (setup.py copies the trees listed in pyproject's ``[tool.x121.bundled]``);
an editable install or a bare checkout has only the repository's. Every runtime lookup of those trees
goes through `data_path`, and `x121 paths` prints what `locate_all` found, for support.

Pure: pathlib only, nothing is created or cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from x121_desktop.core.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PACKAGE_DATA = PACKAGE_DIR / "_data"
CHECKOUT = PACKAGE_DIR.parent


class DataTree(StrEnum):
    """A shipped tree (or file), named by its path relative to the checkout and to `PACKAGE_DATA`."""

    ALEMBIC_INI = "alembic.ini"
    MIGRATIONS = "migrations"
    THEMES = "themes"
    KEYMAPS = "keymaps"
    RESOURCES = "resources"
    WORKFLOWS = "workflows"
    PIPELINE_SCRIPTS = "scripts/pipeline"


class Origin(StrEnum):
    PACKAGE = "package"  # inside the installed package (a wheel)
    CHECKOUT = "checkout"  # the repository the package was imported from (editable install, tests)
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Located:
    """Where one tree was found; when missing, `path` is the first place it was looked for."""

    tree: DataTree
    origin: Origin
    path: Path


def is_checkout(root: Path) -> bool:
    """A source checkout has pyproject.toml beside the package; site-packages does not."""
    return (root / "pyproject.toml").is_file() and (root / "x121_desktop").is_dir()


def locate(tree: DataTree, *, package_data: Path = PACKAGE_DATA, checkout: Path = CHECKOUT) -> Located:
    packaged = package_data / tree.value
    if packaged.exists():
        return Located(tree, Origin.PACKAGE, packaged)
    checked_out = checkout / tree.value
    if is_checkout(checkout) and checked_out.exists():
        return Located(tree, Origin.CHECKOUT, checked_out)
    return Located(tree, Origin.MISSING, packaged)


def locate_all(*, package_data: Path = PACKAGE_DATA, checkout: Path = CHECKOUT) -> tuple[Located, ...]:
    return tuple(locate(tree, package_data=package_data, checkout=checkout) for tree in DataTree)


def data_path(tree: DataTree, *, package_data: Path = PACKAGE_DATA, checkout: Path = CHECKOUT) -> Path:
    """The tree's path, or ConfigError saying the install is incomplete."""
    found = locate(tree, package_data=package_data, checkout=checkout)
    if found.origin is Origin.MISSING:
        raise ConfigError(
            f"X121's bundled {tree.value} is missing: neither {package_data / tree.value} nor "
            f"{checkout / tree.value} exists",
            "Reinstall X121 Studio from a complete wheel or checkout",
        )
    return found.path


def display_path(path: Path) -> str:
    """How a person sees a shipped file in a message (`themes/neon-dark.json`); other files in full."""
    resolved = path.resolve()
    roots = (PACKAGE_DATA, CHECKOUT) if is_checkout(CHECKOUT) else (PACKAGE_DATA,)
    for root in roots:
        if resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix()
    return str(path)
