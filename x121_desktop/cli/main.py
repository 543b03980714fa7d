"""The `x121` command line: global options plus one subcommand module per area.

Each module in `COMMAND_MODULES` exposes `register(subparsers)`, which adds its
parsers and sets `handler=` to a function `(argparse.Namespace) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from x121_desktop import __version__
from x121_desktop.core.errors import X121Error

COMMAND_MODULES: tuple[str, ...] = (
    "x121_desktop.cli.db",
    "x121_desktop.cli.users",
    "x121_desktop.cli.media",
    "x121_desktop.cli.seam",
    "x121_desktop.cli.servers",
    "x121_desktop.cli.workflows",
    "x121_desktop.cli.jobs",
    "x121_desktop.cli.worker",
    "x121_desktop.cli.characters",
    "x121_desktop.cli.projects",
    "x121_desktop.cli.scenes",
    "x121_desktop.cli.collab",
    "x121_desktop.cli.paths",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="x121",
        description="X121 Studio. Without a command, opens the studio window.",
    )
    parser.add_argument("--version", action="version", version=f"x121 {__version__}")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="shared studio database (postgresql://user@host:port/db); default: X121_DATABASE_URL, "
        "then settings, then the embedded database",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="studio login to sign in as (default: X121_DATABASE_USER, then the last sign-in on this computer, "
        "then the URL's user name); its password comes from the keyring, else it is asked for on a terminal",
    )
    parser.add_argument("--home", metavar="DIR", help="X121 home folder (default: X121_HOME or the user data dir)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def run(args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is None:
        build_parser().parse_args([args.command, "--help"])
        return 2
    try:
        code: int = handler(args)
    except X121Error as exc:
        print(f"x121: error: {exc.sentence}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("x121: interrupted", file=sys.stderr)
        return 130
    return code


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
