"""`x121 character …`, `x121 seed …` and `x121 script …`.

x121 character add NAME [--seed-a IMG] [--seed-b IMG] [--mode forward|reverse|manual] [--project P]
                       [--seed-workflow W] [--json]
x121 character list [--project P] [--json]
x121 seed validate IMG [--aspect 16:9] [--foundation] [--json]     (no database needed)
x121 seed list CHARACTER [--project P] [--json]
x121 seed add CHARACTER IMG --kind a|b [--hero] [--project P] [--json]
x121 seed hero CHARACTER SEED_ID [--project P]
x121 seed merge CHARACTER A B [--mode blend|transfer] [--amount X] [--project P] [--json]
x121 seed generate CHARACTER [--kind a|b] [--workflow W] [--project P] [--json]   (cli/seed_generation.py)
x121 seed collect [--json]
x121 script list
x121 script run NAME --input KEY=VALUE … [--timeout S] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.jobs import parse_inputs
from x121_desktop.cli.output import print_json, print_table
from x121_desktop.cli.seed_generation import pending_line, print_outcome, seed_line
from x121_desktop.cli.seed_generation import register as register_seed_generation
from x121_desktop.core.enums import CharacterMode, SeedKind
from x121_desktop.core.preprocess import (
    MergeMode,
    SeedReport,
    Severity,
    parse_aspect,
    read_image,
    validate_foundation,
    validate_portrait,
)
from x121_desktop.services.characters import AddCharacterRequest, CharacterService, CharacterView
from x121_desktop.services.script_engine import ScriptEngine, ScriptFailed, ScriptRequest
from x121_desktop.services.seed_generation import PendingSeed, SeedCollector
from x121_desktop.services.seeds import SeedService, SeedView
from x121_desktop.settings.paths import resolve_home

MODES = tuple(m.code for m in CharacterMode)
MARK = {Severity.PASSED: "ok", Severity.WARNING: "warn", Severity.FAILED: "FAIL", Severity.SKIPPED: "-"}


def register(sub: Any) -> None:
    _register_character(sub)
    _register_seed(sub)
    _register_script(sub)


def _register_character(sub: Any) -> None:
    character = sub.add_parser("character", help="add and list characters (Seed A portrait, Seed B foundation)")
    csub = character.add_subparsers(dest="character_command", metavar="ACTION", required=True)
    add = csub.add_parser("add", help="add a character with its seed images")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--seed-a", type=Path, metavar="IMG", help="the portrait (checked and auto-cropped)")
    add.add_argument("--seed-b", type=Path, metavar="IMG", help="the foundation/style image")
    add.add_argument("--mode", choices=MODES, help="default: manual with both seeds, forward with A, reverse with B")
    add.add_argument("--project", metavar="P", help="project (created when new; default 'Default')")
    add.add_argument(
        "--seed-workflow", metavar="W", help="forward/reverse: generate the other seed with W, not the project's"
    )
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(handler=_character_add)
    ls = csub.add_parser("list", help="characters with their seed counts and heroes")
    ls.add_argument("--project", metavar="P")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=_character_list)


def _register_seed(sub: Any) -> None:
    seed = sub.add_parser("seed", help="validate, list, add, pick and merge seed images")
    ssub = seed.add_subparsers(dest="seed_command", metavar="ACTION", required=True)
    validate = ssub.add_parser("validate", help="check an image as a seed (no database needed)")
    validate.add_argument("image", type=Path, metavar="IMG")
    validate.add_argument("--aspect", default="16:9", help="crop aspect, e.g. 16:9, 9:16, 1280x720 (default 16:9)")
    validate.add_argument("--foundation", action="store_true", help="check as a Seed B (no face needed)")
    validate.add_argument("--json", action="store_true", help="print JSON")
    validate.set_defaults(handler=_seed_validate)
    ls = ssub.add_parser("list", help="a character's seeds with lineage and provenance")
    ls.add_argument("character", metavar="CHARACTER")
    ls.add_argument("--project", metavar="P")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=_seed_list)
    add = ssub.add_parser("add", help="add a given image as a new seed variant")
    add.add_argument("character", metavar="CHARACTER")
    add.add_argument("image", type=Path, metavar="IMG")
    add.add_argument("--kind", choices=("a", "b"), required=True, help="a: portrait, b: foundation/style")
    add.add_argument("--hero", action="store_true", help="make it the hero (the first of its kind always is)")
    add.add_argument("--project", metavar="P")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(handler=_seed_add)
    hero = ssub.add_parser("hero", help="make one seed the hero of its kind")
    hero.add_argument("character", metavar="CHARACTER")
    hero.add_argument("seed_id", type=int, metavar="SEED_ID")
    hero.add_argument("--project", metavar="P")
    hero.set_defaults(handler=_seed_hero)
    merge = ssub.add_parser("merge", help="merge two seed variations into a new one")
    merge.add_argument("character", metavar="CHARACTER")
    merge.add_argument("first", type=int, metavar="A", help="seed id: the content (transfer) or first image")
    merge.add_argument("second", type=int, metavar="B", help="seed id: the colours (transfer) or second image")
    merge.add_argument("--mode", choices=[m.value for m in MergeMode], default="blend")
    merge.add_argument("--amount", type=float, help="0..1 (default 0.5 for blend, 1 for transfer)")
    merge.add_argument("--project", metavar="P")
    merge.add_argument("--json", action="store_true", help="print JSON")
    merge.set_defaults(handler=_seed_merge)
    register_seed_generation(ssub)


def _register_script(sub: Any) -> None:
    script = sub.add_parser("script", help="run pipeline scripts (shell, Python, C++)")
    ssub = script.add_subparsers(dest="script_command", metavar="ACTION", required=True)
    ls = ssub.add_parser("list", help="the scripts the engine can find")
    ls.set_defaults(handler=_script_list)
    run = ssub.add_parser("run", help="run one script with its declared inputs")
    run.add_argument("name", metavar="NAME")
    run.add_argument("--input", action="append", default=[], metavar="KEY=VALUE", help="an input (repeatable)")
    run.add_argument("--timeout", type=float, metavar="S", help="time limit in seconds (default: the manifest's)")
    run.add_argument("--json", action="store_true", help="print JSON")
    run.set_defaults(handler=_script_run)


# ------------------------------------------------------------------ characters


def _character_add(args: argparse.Namespace) -> int:
    request = AddCharacterRequest(
        name=args.name,
        seed_a=args.seed_a,
        seed_b=args.seed_b,
        mode=None if args.mode is None else CharacterMode.from_code(args.mode),
        project=args.project,
        seed_workflow=args.seed_workflow,
    )
    with studio_from_args(args) as studio:
        result = asyncio.run(CharacterService(studio).add(request))
    if args.json:
        print_json(result)
        return 0
    c = result.character
    created = " (new project)" if result.project_created else ""
    print(f"character {c.name!r} #{c.id} in project {c.project!r}{created}, {c.mode.code} mode")
    for seed in result.seeds:
        print(f"  {seed_line(seed)}")
    if result.generation is not None:
        print_outcome(result.generation)
    return 0


def _character_list(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        rows = asyncio.run(CharacterService(studio).list(args.project))
    if args.json:
        print_json(rows)
        return 0
    table = [
        (c.id, c.project, c.name, c.mode.code, c.seeds_a, c.seeds_b, c.hero_a or "-", c.hero_b or "-") for c in rows
    ]
    print_table(table, ("ID", "PROJECT", "NAME", "MODE", "A", "B", "HERO A", "HERO B"))
    return 0


# ------------------------------------------------------------------ seeds


def _print_report(report: SeedReport, label: str) -> None:
    verdict = "passes every check" if report.ok else f"fails {len(report.failures)} check(s)"
    print(f"{label}: {report.width}x{report.height}, {verdict}")
    for f in report.findings:
        print(f"  {MARK[f.severity]:<4} {f.check.value:<11} {f.sentence}")
    c = report.crop
    ratio = f"{report.aspect.numerator}:{report.aspect.denominator}"
    print(f"  crop {c.width}x{c.height} at ({c.left}, {c.top}) for aspect {ratio}")


def _seed_validate(args: argparse.Namespace) -> int:
    aspect = parse_aspect(args.aspect)
    image = read_image(args.image)
    report = validate_foundation(image, aspect) if args.foundation else validate_portrait(image, aspect)
    if args.json:
        print_json({"image": args.image, "ok": report.ok, "report": report})
    else:
        _print_report(report, str(args.image))
    return 0 if report.ok else 2


def _seed_list(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:

        async def read() -> tuple[CharacterView, list[SeedView], list[PendingSeed]]:
            character, seeds = await SeedService(studio).list(args.character, args.project)
            return character, seeds, await SeedCollector(studio).pending(character.id)

        character, seeds, waiting = asyncio.run(read())
    if args.json:
        print_json({"character": character, "seeds": seeds, "pending": waiting})
        return 0
    print(f"{character.name!r} ({character.project}, {character.mode.code} mode): {len(seeds)} seed(s)")
    for seed in seeds:
        print(f"  {seed_line(seed)}")
    for item in waiting:
        print(f"  {pending_line(item)}")
    return 0


def _seed_add(args: argparse.Namespace) -> int:
    kind = SeedKind.from_code(args.kind)
    with studio_from_args(args) as studio:
        stored = asyncio.run(
            SeedService(studio).add(args.character, args.image, kind, project=args.project, make_hero=args.hero)
        )
    if args.json:
        print_json(stored)
        return 0
    for seed in stored.seeds:
        print(seed_line(seed))
    return 0


def _seed_hero(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        seed = asyncio.run(SeedService(studio).set_hero(args.character, args.seed_id, args.project))
    print(seed_line(seed))
    return 0


def _seed_merge(args: argparse.Namespace) -> int:
    mode = MergeMode(args.mode)
    with studio_from_args(args) as studio:
        seed = asyncio.run(
            SeedService(studio).merge(
                args.character, args.first, args.second, mode, amount=args.amount, project=args.project
            )
        )
    if args.json:
        print_json(seed)
    else:
        print(seed_line(seed))
    return 0


# ------------------------------------------------------------------ scripts


def _engine(args: argparse.Namespace) -> ScriptEngine:
    return ScriptEngine(resolve_home(getattr(args, "home", None)).cache_dir)


def _script_list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    rows = []
    for name in engine.names():
        spec = engine.find(name)
        rows.append((name, spec.runtime, ", ".join(i.name for i in spec.inputs), spec.description))
    print_table(rows, ("NAME", "RUNTIME", "INPUTS", "DESCRIPTION"))
    return 0


def _script_run(args: argparse.Namespace) -> int:
    request = ScriptRequest(args.name, parse_inputs(args.input), args.timeout)
    try:
        result = _engine(args).run_blocking(request)
    except ScriptFailed as exc:
        print(f"x121: error: {exc.sentence}", file=sys.stderr)
        if exc.log_tail:
            print("--- last lines of its log ---", file=sys.stderr)
            print(exc.log_tail, file=sys.stderr)
        return exc.exit_code
    if args.json:
        print_json(
            {
                "name": result.name,
                "exit_status": result.exit_status,
                "elapsed_ms": result.elapsed_ms,
                "run_dir": result.run_dir,
                "outputs": result.outputs,
                "documents": result.documents,
                "log": result.log,
            }
        )
        return 0
    print(f"{result.name}: exit {result.exit_status} in {result.elapsed_ms} ms ({result.run_dir})")
    for name, path in result.outputs.items():
        print(f"  {name}: {path}")
    if result.log.strip():
        print(result.log.rstrip())
    return 0
