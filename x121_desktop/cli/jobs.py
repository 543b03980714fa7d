"""`x121 job …`: submit, inspect, list, cancel and hold jobs in the shared queue; pause a queue.

    x121 job submit WORKFLOW [--version N] --input KEY=VALUE … [--priority N] [--no-cache] [--json]
    x121 job status ID [--events] [--json]
    x121 job cancel ID
    x121 job list [--mine] [--status S] [--limit N] [--json]
    x121 job hold ID… [--json]          put queued jobs on hold (yours; admins: anyone's)
    x121 job release ID… [--json]       release them: queued again, each in the place it had
    x121 job pause [--studio] [--json]  pause your queue (or, admins, the studio's)
    x121 job resume [--studio] [--json] resume it

A job on hold is never claimed; it keeps its place in the queue. While your queue is paused your
queued jobs are on hold and so is every job you submit; `resume` releases what the pause held.
While the studio queue is paused (admins) no job is claimed at all; running jobs finish. `hold`
and `release` exit 1 when any job given was refused (each one is named), after acting on the rest.

`image`/`video` inputs take a file path (copied into the studio's media store). A submission
identical to an earlier succeeded job reuses its outputs (a cache hit) unless `--no-cache`.
Jobs run when a dispatcher (the studio window or `x121 worker`) claims them.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.output import print_json, print_table
from x121_desktop.core.enums import JobStatus
from x121_desktop.core.errors import InvalidInput
from x121_desktop.services.job_board import HoldResult, JobBoardService
from x121_desktop.services.orchestrator.queue import CancelOutcome, JobQueueService, JobView, SubmitRequest

STATUS_CODES = tuple(s.code for s in JobStatus)


def register(sub: Any) -> None:
    job = sub.add_parser("job", help="submit, inspect, list and cancel generation jobs")
    jsub = job.add_subparsers(dest="job_command", metavar="ACTION", required=True)

    submit = jsub.add_parser("submit", help="queue a job for a workflow (or reuse an identical finished one)")
    submit.add_argument("workflow", metavar="WORKFLOW", help="workflow name (`x121 workflow list`)")
    submit.add_argument("--version", type=int, metavar="N", help="workflow version (default: the latest)")
    submit.add_argument(
        "--input", action="append", default=[], metavar="KEY=VALUE", help="a workflow parameter (repeatable)"
    )
    submit.add_argument("--priority", type=int, default=0, metavar="N", help="higher runs first (default 0)")
    submit.add_argument("--no-cache", action="store_true", help="run even if an identical job already succeeded")
    submit.add_argument("--json", action="store_true", help="print JSON")
    submit.set_defaults(handler=_submit)

    status = jsub.add_parser("status", help="one job's state (and its event log)")
    status.add_argument("id", type=int, metavar="ID")
    status.add_argument("--events", action="store_true", help="also print the event log")
    status.add_argument("--json", action="store_true", help="print JSON (always includes events)")
    status.set_defaults(handler=_status)

    cancel = jsub.add_parser("cancel", help="cancel one job (yours; admins: anyone's)")
    cancel.add_argument("id", type=int, metavar="ID")
    cancel.set_defaults(handler=_cancel)

    ls = jsub.add_parser("list", help="jobs, newest first")
    ls.add_argument("--mine", action="store_true", help="only your jobs")
    ls.add_argument("--status", action="append", choices=STATUS_CODES, default=[], help="only this state (repeatable)")
    ls.add_argument("--limit", type=int, default=50, metavar="N", help="at most N jobs (default 50)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=_list)

    for name, helps, handler in (
        ("hold", "put queued jobs on hold: no dispatcher takes them until released", _hold),
        ("release", "release jobs from hold: queued again, each in the place it had", _release),
    ):
        act = jsub.add_parser(name, help=helps)
        act.add_argument("ids", type=int, nargs="+", metavar="ID")
        act.add_argument("--json", action="store_true", help="print JSON")
        act.set_defaults(handler=handler)
    for name, helps, paused in (
        ("pause", "pause your queue: your queued and new jobs are held (--studio: admins pause all claims)", True),
        ("resume", "resume your queue: the jobs its pause held are queued again (--studio: admins)", False),
    ):
        act = jsub.add_parser(name, help=helps)
        act.add_argument("--studio", action="store_true", help="the whole studio's queue (admins only)")
        act.add_argument("--json", action="store_true", help="print JSON")
        act.set_defaults(handler=_pause, paused=paused)


def parse_inputs(pairs: list[str]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--input {pair!r} is not KEY=VALUE", "Write it like --input seed=42")
        inputs[key.strip()] = value
    return inputs


def _line(job: JobView) -> str:
    extra = f", error: {job.error}" if job.error else ""
    cancel = ", cancel requested" if job.cancel_requested and job.status.code not in ("cancelled",) else ""
    return f"job {job.id} {job.status.code} (priority {job.priority}, attempts {job.attempts}{cancel}{extra})"


def _submit(args: argparse.Namespace) -> int:
    request = SubmitRequest(
        workflow=args.workflow,
        inputs=parse_inputs(args.input),
        version=args.version,
        priority=args.priority,
        use_cache=not args.no_cache,
    )
    with studio_from_args(args) as studio:
        result = asyncio.run(JobQueueService(studio).submit(request))
    if args.json:
        print_json(result)
    elif result.cache_hit:
        print(f"Job {result.job.id} reused the outputs of job {result.source_job_id} (cache hit): succeeded.")
    elif result.job.status is JobStatus.HELD:
        print(f"Job {result.job.id} is on hold: your queue is paused (`x121 job resume` releases it).")
    else:
        print(f"Queued job {result.job.id} (prompt id {result.job.prompt_id}).")
    return 0


def _status(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        service = JobQueueService(studio)
        job = asyncio.run(service.status(args.id))
        events = asyncio.run(service.events(args.id)) if args.events or args.json else []
    if args.json:
        print_json({"job": job, "events": events})
        return 0
    print(_line(job))
    if events:
        print_table(
            [(e.at.isoformat(timespec="seconds"), e.kind.code, e.attempt_no or "", e.data) for e in events],
            ["at", "event", "attempt", "data"],
        )
    return 0


def _cancel(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        outcome = asyncio.run(JobQueueService(studio).cancel(args.id))
    sentences = {
        CancelOutcome.CANCELLED: f"Cancelled job {args.id}.",
        CancelOutcome.REQUESTED: f"Asked the dispatcher running job {args.id} to cancel it.",
        CancelOutcome.ALREADY_ENDED: f"Job {args.id} had already ended; nothing changed.",
    }
    print(sentences[outcome])
    return 0


def _list(args: argparse.Namespace) -> int:
    statuses = [JobStatus.from_code(s) for s in args.status]
    with studio_from_args(args) as studio:
        jobs = asyncio.run(JobQueueService(studio).list(mine=args.mine, statuses=statuses, limit=max(1, args.limit)))
    if args.json:
        print_json(jobs)
        return 0
    rows = [(j.id, j.status.code, j.priority, j.owner_id, j.attempts, j.created_at[:19], j.error or "") for j in jobs]
    print_table(rows, ["id", "status", "priority", "owner", "attempts", "created", "error"])
    return 0


def _hold(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        return _held(args, asyncio.run(JobBoardService(studio).hold(args.ids)))


def _release(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        return _held(args, asyncio.run(JobBoardService(studio).release(args.ids)))


def _held(args: argparse.Namespace, result: HoldResult) -> int:
    if args.json:
        changed = "held" if result.hold else "released"
        print_json(
            {
                changed: result.changed,
                "unchanged": result.unchanged,
                "refused": [{"id": job, "reason": reason} for job, reason in result.refused],
            }
        )
    else:
        print(result.sentence)
    return 1 if result.refused else 0


def _pause(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        board = JobBoardService(studio)
        change = asyncio.run(board.pause_studio(args.paused) if args.studio else board.pause_my_queue(args.paused))
    if args.json:
        print_json({"scope": "studio" if change.studio else "user", "paused": change.paused, "jobs": change.jobs})
    else:
        print(change.sentence)
    return 0
