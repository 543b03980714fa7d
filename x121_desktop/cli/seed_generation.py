"""`x121 seed generate …` and `x121 seed collect`: seeds made by a workflow through the job queue.

x121 seed generate CHARACTER [--kind a|b] [--workflow W] [--project P] [--json]
x121 seed collect [--json]

`generate` queues one SEED_GENERATE job making a new Seed B from the hero Seed A (Forward) or a
Seed A from the hero Seed B (Reverse), with the project's seed workflow (`x121 project set`) or
--workflow. The job renders on any running dispatcher (`x121 worker`, or an open studio window);
`collect` then records every finished one as a seed with its provenance (the studio window does
that by itself when the job's success is announced). Both are registered by cli/characters.py
under `x121 seed`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from x121_desktop.cli.common import studio_from_args
from x121_desktop.cli.output import print_json
from x121_desktop.core.enums import SeedKind
from x121_desktop.services.characters import CharacterService, GenerationOutcome
from x121_desktop.services.seed_generation import PendingSeed, SeedCollection, SeedCollector
from x121_desktop.services.seeds import SeedView

RENDER_HINT = "It renders on a running dispatcher (`x121 worker`); `x121 seed collect` then records it."


def register(ssub: Any) -> None:
    gen = ssub.add_parser("generate", help="queue a job generating a new seed from the hero of the other kind")
    gen.add_argument("character", metavar="CHARACTER")
    gen.add_argument("--kind", choices=("a", "b"), help="default: b in forward mode, a in reverse mode")
    gen.add_argument("--workflow", metavar="W", help="seed workflow (default: the project's, `x121 project show`)")
    gen.add_argument("--project", metavar="P")
    gen.add_argument("--json", action="store_true", help="print JSON")
    gen.set_defaults(handler=_seed_generate)
    col = ssub.add_parser("collect", help="record the images of finished seed generation jobs as seeds")
    col.add_argument("--json", action="store_true", help="print JSON")
    col.set_defaults(handler=_seed_collect)


def print_outcome(outcome: GenerationOutcome) -> None:
    """A requested generation on stdout (with what to do next); one that could not be requested on stderr."""
    if not outcome.requested:
        print(outcome.sentence, file=sys.stderr)
    elif outcome.recorded:
        print(outcome.sentence)
    else:
        print(f"{outcome.sentence} {RENDER_HINT}")


def seed_line(seed: SeedView) -> str:
    """`Seed B #12 (generated, from #9, job 4, HERO) ab/cd….png`: kind, id, provenance, file."""
    tags = [seed.origin.code]
    step = (seed.params or {}).get("step")
    if step:
        tags.append(str(step))
    if seed.parent_seed_id is not None:
        tags.append(f"from #{seed.parent_seed_id}")
    if seed.merged_from_seed_id is not None:
        tags.append(f"with #{seed.merged_from_seed_id}")
    if seed.job_id is not None:
        tags.append(f"job {seed.job_id}")
    if seed.is_hero:
        tags.append("HERO")
    return f"Seed {seed.kind.name} #{seed.id} ({', '.join(tags)}) {seed.rel_path}"


def pending_line(item: PendingSeed) -> str:
    return f"Seed {item.kind.name} pending: job {item.job_id} ({item.status.label.lower()}, workflow {item.workflow!r})"


def _seed_generate(args: argparse.Namespace) -> int:
    kind = None if args.kind is None else SeedKind.from_code(args.kind)
    with studio_from_args(args) as studio:
        outcome = asyncio.run(
            CharacterService(studio).generate(args.character, project=args.project, kind=kind, workflow=args.workflow)
        )
    if args.json:
        print_json(outcome)
    else:
        print_outcome(outcome)
    return 0


def _seed_collect(args: argparse.Namespace) -> int:
    with studio_from_args(args) as studio:
        collector = SeedCollector(studio)

        async def run() -> tuple[SeedCollection, list[PendingSeed]]:
            return await collector.collect(), await collector.pending()

        collected, waiting = asyncio.run(run())
    if args.json:
        print_json({"seeds": collected.seeds, "problems": collected.problems, "pending": waiting})
        return 1 if collected.problems else 0
    for seed in collected.seeds:
        print(f"character #{seed.character_id}: {seed_line(seed)}")
    refined = len(collected.seeds) - len(collected.generated)
    print(
        f"{len(collected.generated)} generated seed(s) recorded"
        + (f" (and {refined} refined variant(s))" if refined else "")
        + (f"; {len(waiting)} still being generated" if waiting else "")
    )
    for problem in collected.problems:
        print(f"x121: error: {problem.sentence}", file=sys.stderr)
    return 1 if collected.problems else 0
