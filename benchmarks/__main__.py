"""`python -m benchmarks [name...]`: run every benchmarks/*.py module that defines `run() -> None`.

Names may be given with or without the `bench_` prefix (`decode` = `bench_decode`). With no
names, every benchmark runs in alphabetical order. Exit code 1 if a named one is unknown.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path


def discover() -> dict[str, Callable[[], None]]:
    found: dict[str, Callable[[], None]] = {}
    for mod in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{mod.name}")
        run = getattr(module, "run", None)
        if callable(run):
            found[mod.name] = run
    return found


def main(argv: list[str]) -> int:
    available = discover()
    wanted = argv or list(available)
    chosen: list[str] = []
    for name in wanted:
        key = name if name in available else f"bench_{name}"
        if key not in available:
            print(f"unknown benchmark {name!r}; available: {', '.join(available) or 'none'}", file=sys.stderr)
            return 1
        chosen.append(key)
    for key in chosen:
        print(f"=== {key}")
        t0 = time.perf_counter()
        available[key]()
        print(f"=== {key} done in {time.perf_counter() - t0:.1f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
