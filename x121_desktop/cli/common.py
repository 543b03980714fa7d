"""What CLI commands share: opening the studio from global options, asking for passwords.

The CLI signs in as the window does (services/auth/resolve.py): by default as the last person who signed in
on this computer, with the password the keyring keeps; `--user NAME` (or X121_DATABASE_USER) names another
login; a password is asked for on a terminal and never read from argv.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from x121_desktop.services.bootstrap import LaunchOptions, PasswordPrompt, Studio

if TYPE_CHECKING:
    from x121_desktop.services.auth.resolve import LoginPlan


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


def login_plan(args: argparse.Namespace) -> LoginPlan:
    """Who this command signs in as: --user, X121_DATABASE_USER, else the window's rule."""
    from x121_desktop.services.auth.resolve import plan_login

    return plan_login(launch_options(args), getattr(args, "user", None))


def terminal_prompt() -> PasswordPrompt | None:
    """`ask_password` on a terminal; None for scripts and CI (they get a sentence saying what to do)."""
    return ask_password if sys.stdin.isatty() else None


@contextmanager
def studio_from_args(
    args: argparse.Namespace, *, require_schema: bool = True, plan: LoginPlan | None = None
) -> Iterator[Studio]:
    from x121_desktop.services.auth.resolve import open_planned

    chosen = plan if plan is not None else login_plan(args)
    notice = chosen.notice()
    if notice is not None:
        print(f"x121: {notice}.", file=sys.stderr)
    studio = open_planned(launch_options(args), chosen, ask=terminal_prompt(), require_schema=require_schema)
    for notice in studio.database.notices:
        print(f"x121: {notice}", file=sys.stderr)
    try:
        yield studio
    finally:
        studio.close()
