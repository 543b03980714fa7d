"""`x121 project …`: projects and the settings their artists share.

x121 project list [--json]
x121 project show PROJECT [--json]
x121 project set PROJECT [--seed-workflow-b W] [--seed-workflow-a W] [--json]

The seed workflows generate a character's Seed B in Forward mode (`--seed-workflow-b`) and its
Seed A in Reverse mode (`--seed-workflow-a`); `default` goes back to the bundled model-free one
(services/seed_workflows.py). A workflow is checked before it is set: it must be imported and its
manifest must take the source seed. `set` creates the project when it is new, as `character add` does.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.output import print_json, print_table
from x121_desktop.core.enums import SeedKind
from x121_desktop.core.errors import InvalidInput
from x121_desktop.services.seed_workflows import (
    DEFAULT_SEED_WORKFLOW,
    SeedWorkflowService,
    SeedWorkflowSettings,
    option_name,
    setting_name,
)

RESET = "default"


def register(sub: Any) -> None:
    project = sub.add_parser("project", help="projects and their shared settings (seed workflows)")
    psub = project.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    ls = psub.add_parser("list", help="projects with their seed workflows")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=_project_list)
    show = psub.add_parser("show", help="one project's settings")
    show.add_argument("project", metavar="PROJECT")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_project_show)
    put = psub.add_parser("set", help="change a project's settings (the project is created when new)")
    put.add_argument("project", metavar="PROJECT")
    for kind, mode in ((SeedKind.B, "Forward"), (SeedKind.A, "Reverse")):
        put.add_argument(
            option_name(kind),
            metavar="W",
            help=f"imported workflow making Seed {kind.name} in {mode} mode ({setting_name(kind)}; "
            f"{RESET!r}: the bundled {DEFAULT_SEED_WORKFLOW})",
        )
    put.add_argument("--json", action="store_true", help="print JSON")
    put.set_defaults(handler=_project_set)


def _print(settings: SeedWorkflowSettings) -> None:
    print(f"project {settings.project!r}")
    for choice in settings.choices:
        origin = {"project": "set for the project", "default": "the default: model-free"}[choice.origin]
        print(f"  {setting_name(choice.kind):<16} {choice.workflow} ({origin})")


def _project_list(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        rows = asyncio.run(SeedWorkflowService(studio).list())
    if args.json:
        print_json(rows)
        return 0
    table = [(r.project, *(f"{c.workflow}{'' if c.origin == 'project' else ' *'}" for c in r.choices)) for r in rows]
    print_table(table, ("PROJECT", "SEED B WORKFLOW", "SEED A WORKFLOW"))
    if any(c.origin == "default" for r in rows for c in r.choices):
        print(f"* not set: the bundled model-free default ({DEFAULT_SEED_WORKFLOW})")
    return 0


def _project_show(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        settings = asyncio.run(SeedWorkflowService(studio).get(args.project))
    if args.json:
        print_json(settings)
    else:
        _print(settings)
    return 0


def _project_set(args: argparse.Namespace) -> int:
    given = {kind: getattr(args, option_name(kind).lstrip("-").replace("-", "_")) for kind in (SeedKind.B, SeedKind.A)}
    changes = {kind: None if value.strip() == RESET else value for kind, value in given.items() if value is not None}
    if not changes:
        raise InvalidInput(
            "Nothing to set", f"Give {option_name(SeedKind.B)} W and/or {option_name(SeedKind.A)} W ('{RESET}' resets)"
        )
    with studio_from_args(args) as studio:
        settings, created = asyncio.run(SeedWorkflowService(studio).set(args.project, changes))
    if args.json:
        print_json({"settings": settings, "created": created})
        return 0
    if created:
        print(f"created project {settings.project!r}")
    _print(settings)
    return 0
