"""`x121 paths [TREE] [--json]`: where this X121 found its shipped data trees, for support.

Each tree comes from the installed package (a wheel) or the checkout (an editable install); a
missing one means a broken install. With TREE, only that path is printed, for scripts:
`x121 workflow import "$(x121 paths workflows)/x121-i2v-modelfree.api.json" --name modelfree`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from x121_desktop import __version__
from x121_desktop.cli.output import print_json, print_table
from x121_desktop.core.bundled import PACKAGE_DIR, DataTree, Origin, locate, locate_all


def register(sub: Any) -> None:
    p = sub.add_parser("paths", help="where this X121 found its migrations, themes, keymaps, workflows, scripts")
    p.add_argument("tree", nargs="?", choices=[t.value for t in DataTree], help="print only this tree's path")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_paths)


def _paths(args: argparse.Namespace) -> int:
    if args.tree is not None:
        found = locate(DataTree(args.tree))
        if found.origin is Origin.MISSING:
            print(f"x121: {found.tree.value} is missing (looked first in {found.path})", file=sys.stderr)
            return 1
        print(found.path)
        return 0
    trees = locate_all()
    if args.json:
        print_json({"version": __version__, "package": PACKAGE_DIR, "trees": trees})
    else:
        print(f"x121 {__version__} from {PACKAGE_DIR}")
        print_table([(t.tree.value, t.origin.value, t.path) for t in trees], ("tree", "found in", "path"))
    return 1 if any(t.origin is Origin.MISSING for t in trees) else 0
