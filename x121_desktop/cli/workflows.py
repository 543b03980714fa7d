"""`x121 workflow import|list|validate`: the studio's workflow library from the command line.

    x121 workflow import FILE --name NAME [--manifest FILE] [--note TEXT] [--server NAME | --object-info FILE] [--json]
    x121 workflow list [--json]
    x121 workflow validate NAME [--version N] (--server NAME | --object-info FILE) [--json]

`validate` exits 0 when the workflow has no errors on that server (warnings are printed), and 6
(a ComfyUI problem) with every finding printed as a sentence otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.output import print_json, print_table
from x121_desktop.core.errors import ComfyError

if TYPE_CHECKING:
    from x121_desktop.services.workflows import ObjectInfoSource

INVALID_EXIT = ComfyError.exit_code


def register(sub: Any) -> None:
    wf = sub.add_parser("workflow", help="ComfyUI workflows: import, list, validate against a server")
    wsub = wf.add_subparsers(dest="workflow_command", metavar="ACTION", required=True)

    imp = wsub.add_parser("import", help="store a workflow file (API or UI format) as a new version")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--name", required=True, help="the workflow's name in the studio")
    imp.add_argument("--manifest", type=Path, metavar="FILE", help="its manifest (default: NAME.manifest.json beside)")
    imp.add_argument("--note", default="", help="what changed in this version")
    _node_list_options(imp, required=False, why="needed to convert a UI-format file; also checks manifest types")
    imp.add_argument("--json", action="store_true", help="print JSON")
    imp.set_defaults(handler=_import)

    lst = wsub.add_parser("list", help="workflows and their versions")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=_list)

    val = wsub.add_parser("validate", help="check a stored version against a server's nodes and models")
    val.add_argument("name", metavar="NAME")
    val.add_argument("--version", type=int, metavar="N", help="version number (default: the latest)")
    _node_list_options(val, required=True, why="the server to check against")
    val.add_argument("--json", action="store_true", help="print JSON")
    val.set_defaults(handler=_validate)


def _node_list_options(parser: argparse.ArgumentParser, *, required: bool, why: str) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--server", metavar="NAME", help=f"a server added with `x121 server add` ({why})")
    group.add_argument("--object-info", type=Path, metavar="FILE", help="a saved /object_info reply instead")


def _source(args: argparse.Namespace) -> ObjectInfoSource:
    from x121_desktop.services.workflows import ObjectInfoSource

    return ObjectInfoSource(server=args.server, file=args.object_info)


def _import(args: argparse.Namespace) -> int:
    from x121_desktop.services.workflows import ImportRequest, WorkflowService

    request = ImportRequest(
        path=args.file, name=args.name, manifest=args.manifest, note=args.note, object_info=_source(args)
    )
    with studio_from_args(args) as studio:
        result = asyncio.run(WorkflowService(studio.sessions, studio.runtime).import_file(request))
    if args.json:
        print_json({**_fields(result), "sentence": result.sentence})
        return 0
    print(result.sentence)
    kind = "UI format, kept for the node editor" if result.format == "ui" else "API format"
    print(f"  format    {kind}")
    if result.manifest is None:
        print("  manifest  none found beside the file (give one with --manifest FILE to fill parameters)")
    else:
        print(f"  manifest  {result.manifest}: {', '.join(result.parameters) or 'no parameters'}")
    print(f"  hash      {result.content_hash}")
    for note in result.conversion_notes:
        print(f"  note: {note}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from x121_desktop.services.workflows import WorkflowService

    with studio_from_args(args) as studio:
        workflows = asyncio.run(WorkflowService(studio.sessions, studio.runtime).list_workflows())
    if args.json:
        print_json([{**_fields(w), "latest": w.latest} for w in workflows])
        return 0
    if not workflows:
        print("No workflows yet. Add one with `x121 workflow import FILE --name NAME`.")
        return 0
    rows = [
        (
            w.name,
            v.version_no,
            "ui+api" if v.has_ui else "api",
            len(v.parameters),
            v.content_hash[:12],
            v.created_by,
            f"{v.created_at:%Y-%m-%d %H:%M}",
            v.note,
        )
        for w in workflows
        for v in w.versions
    ]
    print_table(rows, ["name", "version", "format", "params", "hash", "by", "created", "note"])
    return 0


def _validate(args: argparse.Namespace) -> int:
    from x121_desktop.services.workflows import WorkflowService

    with studio_from_args(args) as studio:
        service = WorkflowService(studio.sessions, studio.runtime)
        report = asyncio.run(service.validate(args.name, _source(args), args.version))
    code = 0 if report.ok else INVALID_EXIT
    if args.json:
        print_json({**_fields(report), "errors": report.errors, "warnings": report.warnings, "ok": report.ok})
        return code
    verdict = "can run" if report.ok else "cannot run"
    print(
        f"{report.workflow} v{report.version_no} {verdict} on {report.against}: "
        f"{_count(report.errors, 'error')}, {_count(report.warnings, 'warning')}."
    )
    for finding in report.findings:
        print(f"  {finding.severity}: {finding.message}")
    return code


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _fields(value: Any) -> dict[str, Any]:
    from x121_desktop.cli.output import to_jsonable

    data = to_jsonable(value)
    assert isinstance(data, dict)
    return data
