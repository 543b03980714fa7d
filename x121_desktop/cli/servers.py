"""`x121 server …`: the ComfyUI servers this studio sends jobs to.

    x121 server add URL --name NAME [--slots 1] [--queued-slots 1] [--json]   register a server (admins only)
    x121 server list [--json]                    every registered server, from the database
    x121 server check NAME [--json]              ask the server: version, node types, devices/VRAM, models
    x121 server test NAME [--timeout S] [--json] run a tiny core-node workflow on it, end to end, timed

`check` stores what it found (status, system stats, node types and model files) and exits
non-zero with one sentence when the server cannot be reached or is not a ComfyUI. `test`
(services/server_probe.py) uploads a picture, runs LoadImage → ImageScale → SaveImage with our own
prompt_id, follows the WebSocket, reads the history and downloads the output, printing each step's
time; it exits non-zero naming the first step that failed and what to check. It stores nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.output import print_json, print_table
from x121_desktop.services.server_probe import STEPS, ProbeReport, probe_server
from x121_desktop.services.servers import ServerCheck, ServerService, ServerView

GIB = 1024**3
EXIT_UNREACHABLE = 6


def register(sub: Any) -> None:
    server = sub.add_parser("server", help="ComfyUI servers: register, list, check")
    ssub = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)

    add = ssub.add_parser("add", help="register a ComfyUI server (admins only)")
    add.add_argument("url", metavar="URL", help="where ComfyUI listens, e.g. http://10.0.0.5:8188")
    add.add_argument("--name", required=True, metavar="NAME", help="the name jobs and commands use")
    add.add_argument("--slots", type=int, default=1, metavar="N", help="jobs it runs at once (default 1)")
    add.add_argument(
        "--queued-slots", type=int, default=1, metavar="N", help="jobs kept waiting in its own queue (default 1)"
    )
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(handler=_add)

    ls = ssub.add_parser("list", help="every registered server with its last known state")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=_list)

    check = ssub.add_parser("check", help="contact a server; store and show its version, nodes, devices, models")
    check.add_argument("name", metavar="NAME")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(handler=_check)

    test = ssub.add_parser("test", help="run a tiny core-node workflow on a server end to end, each step timed")
    test.add_argument("name", metavar="NAME")
    test.add_argument("--timeout", type=float, default=120.0, metavar="S", help="for the run (default 120)")
    test.add_argument("--json", action="store_true", help="print JSON")
    test.set_defaults(handler=_test)


def _gib(n: int) -> str:
    return f"{n / GIB:.1f} GiB"


def _devices(view: ServerView) -> str:
    return ", ".join(f"{d.name} ({_gib(d.vram_free)} free of {_gib(d.vram_total)})" for d in view.devices) or "-"


def _add(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        service = ServerService(studio.sessions, studio.runtime)
        view = asyncio.run(service.add(args.name, args.url, slots=args.slots, queued_slots=args.queued_slots))
    if args.json:
        print_json(view)
    else:
        print(f"Registered ComfyUI server {view.name!r} at {view.url}. Check it with `x121 server check {view.name}`.")
    return 0


def _list(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        views = asyncio.run(ServerService(studio.sessions, studio.runtime).list())
    if args.json:
        print_json(list(views))
        return 0
    if not views:
        print("No ComfyUI servers are registered. Add one with `x121 server add URL --name NAME`.")
        return 0
    rows = [
        (
            v.name,
            v.url,
            v.status.code,
            "yes" if v.enabled else "no",
            v.comfyui_version or "-",
            v.node_count,
            v.last_seen_at.isoformat(timespec="seconds") if v.last_seen_at else "never",
        )
        for v in views
    ]
    print_table(rows, ("NAME", "URL", "STATUS", "ENABLED", "COMFYUI", "NODES", "LAST SEEN"))
    return 0


def _check(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        result = asyncio.run(ServerService(studio.sessions, studio.runtime).check(args.name))
    if args.json:
        print_json(_check_json(result))
    else:
        _print_check(result)
    return 0 if result.reachable else EXIT_UNREACHABLE


def _check_json(result: ServerCheck) -> dict[str, Any]:
    s = result.server
    return {
        "name": s.name,
        "url": s.url,
        "reachable": result.reachable,
        "problem": result.problem,
        "status": s.status.code,
        "version": s.comfyui_version,
        "node_count": s.node_count,
        "devices": list(s.devices),
        "model_counts": dict(s.model_counts),
        "last_seen_at": s.last_seen_at,
    }


def _print_check(result: ServerCheck) -> None:
    if not result.reachable:
        print(f"x121: {result.sentence}", file=sys.stderr)
        return
    s = result.server
    print(result.sentence)
    print(f"  version  ComfyUI {s.comfyui_version}")
    print(f"  nodes    {s.node_count} node types")
    print(f"  devices  {_devices(s)}")
    models = ", ".join(f"{folder} {n}" for folder, n in s.model_counts) or "none"
    print(f"  models   {models}")


def _test(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        servers = ServerService(studio.sessions, studio.runtime)
        report = asyncio.run(probe_server(servers, studio.runtime, args.name, timeout_s=args.timeout))
    if args.json:
        print_json(_test_json(args.name, report))
    else:
        _print_test(args.name, report)
    return 0 if report.ok else EXIT_UNREACHABLE


def _test_json(name: str, report: ProbeReport) -> dict[str, Any]:
    return {
        "name": name,
        "url": report.url,
        "ok": report.ok,
        "steps": [{"step": s.name, "ms": round(s.ms, 1), "detail": s.detail} for s in report.steps],
        "failed_step": report.failed_step,
        "problem": report.problem,
    }


def _print_test(name: str, report: ProbeReport) -> None:
    for step in report.steps:
        print(f"  ok    {step.name:<10} {step.ms:8.1f} ms  {step.detail}")
    if report.ok:
        print(f"{name} ({report.url}) ran the test workflow end to end in {report.total_ms:.0f} ms.")
        return
    left = STEPS[STEPS.index(report.failed_step) + 1 :] if report.failed_step in STEPS else ()
    print(f"  FAIL  {report.failed_step}")
    for skipped in left:
        print(f"  -     {skipped:<10} not run")
    print(f"x121: {report.problem}", file=sys.stderr)
