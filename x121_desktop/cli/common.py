"""What CLI commands share: opening the studio from global options, asking for passwords."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio


def launch_options(args: argparse.Namespace) -> LaunchOptions:
    return LaunchOptions(database_url=getattr(args, "database_url", None), home=getattr(args, "home", None))


def ask_password(where: str) -> str | None:
    """Ask on the terminal; with no terminal (CI, scripts) there is nobody to ask."""
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"Password for {where}: ") or None


def read_password_stdin() -> str:
    line = sys.stdin.readline().rstrip("\n")
    return line


@contextmanager
def studio_from_args(args: argparse.Namespace, *, require_schema: bool = True) -> Iterator[Studio]:
    from x121_desktop.services.auth.credentials import remember_password, stored_password

    studio = open_studio(
        launch_options(args),
        prompt_password=ask_password,
        stored_password=stored_password,
        remember_password=remember_password,
        require_schema=require_schema,
    )
    for notice in studio.database.notices:
        print(f"x121: {notice}", file=sys.stderr)
    try:
        yield studio
    finally:
        studio.close()
