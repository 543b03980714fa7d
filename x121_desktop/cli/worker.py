"""`x121 worker [--servers a,b] [--once] [--max-jobs N]`: the dispatcher without a window.

Runs until SIGINT/SIGTERM (or, with --once, until the queue has nothing it can place). On a
signal it stops claiming, gives back claimed jobs that have not reached a server yet, and follows
submitted ones for the grace period; any still running after that keep their prompt on the server
and are adopted (not re-run) by another dispatcher once their lease expires. A summary line goes
to stderr, or JSON to stdout with --json.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.output import print_json


def register(sub: Any) -> None:
    worker = sub.add_parser("worker", help="run queued jobs on ComfyUI servers without a window")
    worker.add_argument("--servers", metavar="A,B", help="use only these registered servers (names or URLs)")
    worker.add_argument("--once", action="store_true", help="stop when nothing queued can be placed")
    worker.add_argument("--max-jobs", type=int, metavar="N", help="stop claiming after N jobs")
    worker.add_argument("--lease", type=float, default=10.0, metavar="S", help="lease seconds (default 10)")
    worker.add_argument("--grace", type=float, default=30.0, metavar="S", help="shutdown grace seconds (default 30)")
    worker.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    worker.set_defaults(handler=_worker)


def _worker(args: argparse.Namespace) -> int:
    from x121_desktop.services.orchestrator.dispatcher import Dispatcher

    servers = [s for s in args.servers.split(",") if s.strip()] if args.servers else None
    with studio_from_args(args) as studio:
        dispatcher = Dispatcher(
            studio,
            servers=servers,
            lease_s=args.lease,
            max_jobs=args.max_jobs,
            once=args.once,
            grace_s=args.grace,
        )

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await dispatcher.run(stop)

        print(f"x121 worker {dispatcher.holder}: dispatching", file=sys.stderr, flush=True)
        asyncio.run(main())
    stats = dispatcher.stats
    summary = {
        "holder": dispatcher.holder,
        "claimed": stats.claimed,
        "finished": stats.finished,
        "refused": stats.refused,
    }
    if args.json:
        print_json(summary)
    else:
        done = ", ".join(f"{n} {k}" for k, n in sorted(stats.finished.items())) or "nothing finished"
        print(f"x121 worker: claimed {stats.claimed}; {done}; refused {stats.refused}", file=sys.stderr)
    return 0
