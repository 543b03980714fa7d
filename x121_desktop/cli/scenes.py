"""`x121 scene …`, `x121 segment …` and `x121 take …`: scenes as chains, headless.

x121 scene create CHARACTER NAME --workflow W --duration MIN-MAX [--prompt P]
                 [--seed-policy fixed|increment|random|inherit] [--seed N] [--likeness-weight X]
                 [--mode simple|advanced] [--param KEY=VALUE …]
                 [--segment-frames MIN-MAX] [--frame-rule 4n+1] [--segment-prompt N=TEXT …]
                 [--segment-param N:KEY=VALUE …] [--fps R] [--json]
x121 scene generate CHARACTER/NAME [--wait [--dispatch [--servers A,B]] [--timeout S]] [--json]
x121 scene status [CHARACTER/NAME] [--json]
x121 scene assemble CHARACTER/NAME -o OUT [--draft] [--json]
x121 scene direct [--once]                     direct every scene in progress (beside `x121 worker`s)
x121 scene cancel CHARACTER/NAME [--json]      cancel your queued and running jobs of the scene's run
x121 segment regenerate CHARACTER/NAME N[-M] [--heal-only|--rechain] [--wait [--dispatch]] [--json]
x121 segment restitch CHARACTER/NAME N [--wait [--dispatch]]   heal-only for a stale boundary
x121 take approve|reject|flag TAKE [--final] [--note TEXT] [--json]
x121 take restore TAKE [--json]

`--wait` follows the scene until its chain is complete or waits for a person; the jobs run on
whatever dispatchers serve the queue (`x121 worker`), or in this process with `--dispatch`
(on the registered ComfyUI servers, real or not: there is no other code path).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.jobs import parse_inputs
from x121_desktop.cli.output import print_json, to_jsonable
from x121_desktop.cli.scene_output import show as _show
from x121_desktop.core.enums import SeedPolicy, StitchMode, Verdict
from x121_desktop.core.errors import InvalidInput, X121Error
from x121_desktop.core.pipeline.chain import ChainLimits
from x121_desktop.core.pipeline.values import parse_duration, parse_frame_rule, parse_rate, parse_scene_ref, parse_span
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.scene_director import AdvanceReport, SceneDirector
from x121_desktop.services.scenes import CreateSceneRequest, Downstream, SceneService

VERDICTS = {"approve": Verdict.APPROVE, "reject": Verdict.REJECT, "flag": Verdict.FLAG}


def register(sub: Any) -> None:
    scene = sub.add_parser("scene", help="create, generate, inspect and assemble scenes (chains of segments)")
    ssub = scene.add_subparsers(dest="scene_command", metavar="ACTION", required=True)
    create = ssub.add_parser("create", help="create a scene and plan its segments")
    create.add_argument("character", metavar="CHARACTER")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--workflow", required=True, metavar="W", help="imported workflow name")
    create.add_argument("--version", type=int, metavar="N", help="workflow version (default: latest)")
    create.add_argument("--duration", required=True, metavar="MIN-MAX", help="seconds (4-6) or frames (41-45f)")
    create.add_argument("--fps", metavar="R", help="frame rate (default: the project's)")
    create.add_argument("--prompt", default="", help="prompt for every segment")
    create.add_argument("--negative-prompt", default="")
    create.add_argument("--segment-prompt", action="append", default=[], metavar="N=TEXT", help="prompt of segment N")
    create.add_argument("--seed-policy", choices=[p.code for p in SeedPolicy], default="fixed")
    create.add_argument("--seed", type=int, default=0, metavar="N", help="base seed (default 0)")
    create.add_argument("--likeness-weight", type=float, default=0.35, metavar="X")
    create.add_argument("--mode", choices=["simple", "advanced"], default="simple", help="stitching mode")
    create.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="fixed workflow parameter")
    create.add_argument("--segment-param", action="append", default=[], metavar="N:KEY=VALUE",
                        help="workflow parameter of segment N only")  # fmt: skip
    create.add_argument("--segment-frames", metavar="MIN-MAX", help="frames per segment (default: the manifest's)")
    create.add_argument("--frame-rule", metavar="RULE", help="valid segment lengths, e.g. 4n+1 (default: any)")
    create.add_argument("--project", metavar="P")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_create)
    generate = ssub.add_parser("generate", help="generate the scene's chain (segment 1 from Seed A, then each cut)")
    _ref_args(generate)
    _wait_args(generate)
    generate.set_defaults(handler=_generate)
    status = ssub.add_parser("status", help="a scene's segments, takes and seams (or all scenes)")
    status.add_argument("ref", nargs="?", metavar="CHARACTER/NAME")
    status.add_argument("--project", metavar="P")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)
    assemble = ssub.add_parser("assemble", help="assemble the current takes into final/ with a JSON sidecar")
    _ref_args(assemble)
    assemble.add_argument("-o", "--output", type=Path, metavar="OUT", help="also write the master here")
    assemble.add_argument("--draft", action="store_true", help="without final approval; only to OUT")
    assemble.set_defaults(handler=_assemble)
    direct = ssub.add_parser("direct", help="direct every scene in progress until stopped")
    direct.add_argument("--once", action="store_true", help="advance each scene once and stop")
    direct.set_defaults(handler=_direct)
    cancel = ssub.add_parser("cancel", help="cancel your queued and running jobs of the scene and stop its chain")
    _ref_args(cancel)
    cancel.set_defaults(handler=_cancel)

    _register_segment(sub)
    _register_take(sub)


def _register_segment(sub: Any) -> None:
    segment = sub.add_parser("segment", help="regenerate or re-stitch segments of a scene")
    gsub = segment.add_subparsers(dest="segment_command", metavar="ACTION", required=True)
    regen = gsub.add_parser("regenerate", help="new takes for segments N[-M] (1-based)")
    _ref_args(regen)
    regen.add_argument("segments", metavar="N[-M]")
    how = regen.add_mutually_exclusive_group()
    how.add_argument("--heal-only", action="store_true", help="re-measure (and heal) the next boundary only")
    how.add_argument("--rechain", action="store_true", help="regenerate every later segment from the new cut")
    _wait_args(regen)
    regen.set_defaults(handler=_regenerate)
    restitch = gsub.add_parser("restitch", help="heal-only for the boundary before a stale segment N")
    _ref_args(restitch)
    restitch.add_argument("segment", type=int, metavar="N")
    _wait_args(restitch)
    restitch.set_defaults(handler=_restitch)


def _register_take(sub: Any) -> None:
    take = sub.add_parser("take", help="review takes: approve, reject, flag, restore")
    tsub = take.add_subparsers(dest="take_command", metavar="ACTION", required=True)
    for name in VERDICTS:
        p = tsub.add_parser(name, help=f"{name} a take" + (" (--final: final approval)" if name == "approve" else ""))
        p.add_argument("take", type=int, metavar="TAKE")
        if name == "approve":
            p.add_argument("--final", action="store_true", help="final approval (creators and admins)")
        p.add_argument("--note", default="")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=_review, verdict=name)
    restore = tsub.add_parser("restore", help="make an earlier take current again")
    restore.add_argument("take", type=int, metavar="TAKE")
    restore.add_argument("--json", action="store_true")
    restore.set_defaults(handler=_restore)


def _ref_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ref", metavar="CHARACTER/NAME")
    p.add_argument("--project", metavar="P")
    p.add_argument("--json", action="store_true")


def _wait_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="follow until the chain is complete or needs a person")
    p.add_argument("--dispatch", action="store_true", help="with --wait: run the jobs in this process")
    p.add_argument("--servers", metavar="A,B", help="with --dispatch: only these registered servers")
    p.add_argument("--timeout", type=float, default=1800.0, metavar="S")


# ------------------------------------------------------------------ scene


def _create(args: argparse.Namespace) -> int:
    prompts: dict[int, str] = {}
    for key, text in parse_inputs(args.segment_prompt).items():
        if not key.isdigit() or int(key) < 1:
            raise InvalidInput(f"--segment-prompt {key}=… does not name a segment", "Write it as N=TEXT, N from 1")
        prompts[int(key) - 1] = text
    segment_params: dict[int, dict[str, object]] = {}
    for item in args.segment_param:
        number, sep, pair = item.partition(":")
        if not sep or not number.strip().isdigit() or int(number) < 1:
            raise InvalidInput(f"--segment-param {item!r} does not name a segment", "Write it as N:KEY=VALUE, N from 1")
        segment_params.setdefault(int(number) - 1, {}).update(parse_inputs([pair]))
    limits = None
    if args.segment_frames or args.frame_rule:
        if not args.segment_frames:
            raise InvalidInput("--frame-rule needs --segment-frames", "Give both, e.g. --segment-frames 9-17")
        span = parse_span(args.segment_frames, "segment length")
        rule = parse_frame_rule(args.frame_rule or "n")
        limits = ChainLimits(span.min_frames, span.max_frames, rule.step, rule.offset)
    with studio_from_args(args) as studio:
        rate = parse_rate(args.fps) if args.fps else None
        probe_rate = rate or _default_rate(studio, args)
        request = CreateSceneRequest(
            character=args.character, name=args.name, workflow=args.workflow, workflow_version=args.version,
            duration=parse_duration(args.duration, probe_rate), rate=rate, prompt=args.prompt,
            negative_prompt=args.negative_prompt, segment_prompts=prompts,
            seed_policy=SeedPolicy.from_code(args.seed_policy), base_seed=args.seed,
            likeness_weight=args.likeness_weight, mode=StitchMode.from_code(args.mode),
            params=parse_inputs(args.param), segment_params=segment_params, limits=limits, project=args.project,
        )  # fmt: skip
        view = asyncio.run(SceneService(studio).create(request))
    _show(view, args.json)
    for note in view.notes:
        print(f"x121: note: {note}", file=sys.stderr)
    return 0


def _default_rate(studio: Studio, args: argparse.Namespace) -> Any:
    from fractions import Fraction

    from sqlalchemy import text

    with studio.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.fps_num, p.fps_den FROM characters c JOIN projects p ON p.id = c.project_id "
                "WHERE c.name = :c ORDER BY (p.name = :p) DESC LIMIT 1"
            ),
            {"c": args.character, "p": args.project or ""},
        ).first()
    return Fraction(24) if row is None else Fraction(int(row.fps_num), int(row.fps_den))


async def _drive(studio: Studio, scene_id: int, args: argparse.Namespace) -> AdvanceReport:
    director = SceneDirector(studio)
    if not args.wait:
        return await director.advance(scene_id)
    if not args.dispatch:
        return await director.settle(scene_id, timeout=args.timeout)
    from x121_desktop.services.orchestrator.dispatcher import Dispatcher

    servers = [s for s in args.servers.split(",") if s.strip()] if args.servers else None
    stop = asyncio.Event()
    dispatching = asyncio.create_task(Dispatcher(studio, servers=servers, grace_s=5.0).run(stop))
    settling = asyncio.create_task(director.settle(scene_id, timeout=args.timeout))
    try:
        await asyncio.wait({dispatching, settling}, return_when=asyncio.FIRST_COMPLETED)
        if dispatching.done() and not settling.done():
            settling.cancel()
            dispatching.result()  # raises why the dispatcher stopped
        return await settling
    finally:
        stop.set()
        await asyncio.gather(dispatching, return_exceptions=True)


def _follow(studio: Studio, scene_id: int, args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(_drive(studio, scene_id, args))
    except TimeoutError as exc:
        raise X121Error(
            f"The scene was still generating after --timeout {args.timeout:g} s",
            "Nothing was cancelled; follow it with `x121 scene status`, or wait again with a longer --timeout",
        ) from exc
    view = asyncio.run(SceneService(studio).view(scene_id))
    _show(view, args.json, report)
    for sentence in report.failed:
        print(f"x121: {sentence}", file=sys.stderr)
    failed = [s for s in view.segments if s.status.code == "failed"]
    for seg in failed if not report.failed else []:
        take = next((t for t in reversed(view.takes) if t.segment_id == seg.id), None)
        why = view.job_errors.get(take.id, "no reason recorded") if take else "no take"
        print(f"x121: segment {seg.position + 1} failed: {why}", file=sys.stderr)
    if report.waiting and not report.busy:
        segs = ", ".join(map(str, report.waiting))
        print(f"x121: segment(s) {segs} wait for a person (see `x121 scene status {view.scene.ref}`)", file=sys.stderr)
    return 1 if report.failed or failed else 0


def _generate(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        service = SceneService(studio)
        scene_id = asyncio.run(service.find(parse_scene_ref(args.ref), args.project))
        asyncio.run(service.start(scene_id))
        return _follow(studio, scene_id, args)


def _status(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        service = SceneService(studio)
        if args.ref is None:
            scenes = asyncio.run(service.list())
            if args.json:
                print_json([{"id": s.id, "ref": str(s.ref), "status": s.status.code} for s in scenes])
            for s in [] if args.json else scenes:
                print(f"{s.ref}  {s.status.code}  {s.workflow} v{s.workflow_version}")
            return 0
        scene_id = asyncio.run(service.find(parse_scene_ref(args.ref), args.project))
        _show(asyncio.run(service.view(scene_id)), args.json)
    return 0


def _assemble(args: argparse.Namespace) -> int:
    from x121_desktop.services.assembly import AssemblyService

    with studio_from_args(args) as studio:
        scene_id = asyncio.run(SceneService(studio).find(parse_scene_ref(args.ref), args.project))
        result = asyncio.run(AssemblyService(studio).assemble(scene_id, args.output, draft=args.draft))
    if args.json:
        print_json(result)
    else:
        print(f"assembled {result.frame_count} frames (planned {result.planned_frames}) by {result.method}")
        print(f"  {result.master}\n  {result.sidecar}" + "".join(f"\n  {p}" for p in result.copies))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from x121_desktop.services.scene_cancel import SceneCancelService

    with studio_from_args(args) as studio:
        scene_id = asyncio.run(SceneService(studio).find(parse_scene_ref(args.ref), args.project))
        report = asyncio.run(SceneCancelService(studio).cancel(scene_id))
    if args.json:
        print_json({**to_jsonable(report), "sentence": report.sentence()})
    else:
        print(report.sentence())
    return 0


def _direct(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        director = SceneDirector(studio)

        async def main() -> None:
            stop = asyncio.Event()
            if args.once:
                stop.set()
                from x121_desktop.core.enums import SceneStatus
                from x121_desktop.db.repositories import scenes as repo
                from x121_desktop.services.transactions import in_transaction

                ids = in_transaction(studio, lambda c: repo.scenes_with_status(c, [SceneStatus.IN_PROGRESS]))
                for scene_id in ids:
                    await director.advance(scene_id)
                return
            import signal

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await director.run(stop)

        asyncio.run(main())
    return 0


# ------------------------------------------------------------------ segment, take


def _range(text: str) -> tuple[int, int]:
    first, sep, last = text.partition("-")
    if not first.isdigit() or (sep and not last.isdigit()) or int(first) < 1:
        raise InvalidInput(f"{text!r} is not a segment number or range", "Write N or N-M, counting from 1")
    low, high = int(first), int(last) if sep else int(first)
    if high < low:
        raise InvalidInput(f"The range {text} runs backwards", "Write N-M with N <= M")
    return low - 1, high - 1


def _regenerate(args: argparse.Namespace) -> int:
    first, last = _range(args.segments)
    how = Downstream.HEAL if args.heal_only else Downstream.RECHAIN if args.rechain else Downstream.OFFER
    with studio_from_args(args) as studio:
        service = SceneService(studio)
        scene_id = asyncio.run(service.find(parse_scene_ref(args.ref), args.project))
        asyncio.run(service.regenerate(scene_id, first, last, how))
        return _follow(studio, scene_id, args)


def _restitch(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        service = SceneService(studio)
        scene_id = asyncio.run(service.find(parse_scene_ref(args.ref), args.project))
        asyncio.run(service.restitch(scene_id, args.segment - 1))
        return _follow(studio, scene_id, args)


def _review(args: argparse.Namespace) -> int:
    from x121_desktop.services.takes import TakeReviewService

    final = bool(getattr(args, "final", False))
    with studio_from_args(args) as studio:
        result = asyncio.run(TakeReviewService(studio).review(args.take, VERDICTS[args.verdict], final=final,
                                                              note=args.note))  # fmt: skip
    if args.json:
        print_json(result)
    else:
        what = "final approval" if final else result.verdict.code
        print(f"take {result.take_id}: {what} recorded; scene {result.scene_status.code}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        view = asyncio.run(SceneService(studio).restore(args.take))
    _show(view, args.json)
    return 0
