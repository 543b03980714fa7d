"""Client processes for the multi-process collaboration tests: `python -m tests.services.collab_clients MODE …`.

Each process signs in as one studio login (its own engine and runtime, like a workstation) and
uses the real services. Modes:

- `race URL MACHINE SECONDS SEGMENTS SEED`: for SECONDS, pick a segment, try to lock it (5 s
  lease), read its counter (`planned_frames`) in one transaction, write counter + 1 in another under
  the lease, release. Prints one JSON line: increments per segment, grants, refusals, lost leases.
- `hold URL MACHINE SEGMENT TTL`: take the lock, print `held`, then sleep until killed.
- `present URL MACHINE TIMEOUT SCENE`: heartbeat at SCENE; print `beating`; on stdin EOF leave and exit.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter

from sqlalchemy import text

from x121_desktop.core.collab.values import Location, LockInfo
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import SceneId
from x121_desktop.db.engine import DatabaseTarget, make_engine
from x121_desktop.services.locks import LockLost, LockService
from x121_desktop.services.presence import PresenceService
from x121_desktop.services.runtime import Runtime


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def race(url: str, machine: str, seconds: float, segments: list[int], seed: int) -> dict[str, object]:
    engine = make_engine(DatabaseTarget(url), pool_size=2)
    runtime = Runtime()
    locks = LockService(engine, runtime, machine)
    rnd = random.Random(seed)
    increments: Counter[int] = Counter()
    grants = refused = lost = 0
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            segment = rnd.choice(segments)
            got = await locks.try_acquire(segment, ttl_s=5)
            if isinstance(got, LockInfo):
                refused += 1
                await asyncio.sleep(rnd.uniform(0.0, 0.01))
                continue
            grants += 1
            with engine.begin() as conn:
                value = int(
                    conn.execute(
                        text("SELECT planned_frames FROM segments WHERE id = :id"), {"id": segment}
                    ).scalar_one()
                )
            await asyncio.sleep(rnd.uniform(0.0, 0.004))  # widen the read-modify-write window on purpose
            try:
                await locks.write_under(
                    got,
                    "count",
                    lambda c, v=value, s=segment: c.execute(
                        text("UPDATE segments SET planned_frames = :v WHERE id = :id"), {"v": v + 1, "id": s}
                    ),
                )
                increments[segment] += 1
            except LockLost:
                lost += 1
            await locks.release(got)
    finally:
        runtime.shutdown()
        engine.dispose()
    return {
        "machine": machine,
        "increments": {str(k): v for k, v in increments.items()},
        "grants": grants,
        "refused": refused,
        "lost": lost,
    }


async def hold(url: str, machine: str, segment: int, ttl_s: int) -> None:
    engine = make_engine(DatabaseTarget(url), pool_size=1)
    runtime = Runtime()
    grant = await LockService(engine, runtime, machine).acquire(segment, ttl_s=ttl_s)
    _out(json.dumps({"held": str(grant.token)}))
    while True:
        await asyncio.sleep(3600)


async def present(url: str, machine: str, timeout_s: int, scene: int) -> None:
    engine = make_engine(DatabaseTarget(url), pool_size=1)
    runtime = Runtime()
    service = PresenceService(engine, runtime, machine, timeout_s=timeout_s)
    try:
        await service.beat(Location(scene_id=SceneId(scene)))
        _out("beating")
        loop = asyncio.get_running_loop()
        eof = loop.run_in_executor(None, sys.stdin.read)
        while not eof.done():
            await asyncio.wait([eof], timeout=service.heartbeat_interval_s)
            if not eof.done():
                await service.beat(Location(scene_id=SceneId(scene)))
        await service.leave()
        _out("left")
    finally:
        runtime.shutdown()
        engine.dispose()


def main(argv: list[str]) -> int:
    mode, url, machine, *rest = argv
    try:
        if mode == "race":
            result = asyncio.run(race(url, machine, float(rest[0]), [int(s) for s in rest[1].split(",")], int(rest[2])))
            _out(json.dumps(result))
        elif mode == "hold":
            asyncio.run(hold(url, machine, int(rest[0]), int(rest[1])))
        elif mode == "present":
            asyncio.run(present(url, machine, int(rest[0]), int(rest[1])))
        else:
            raise SystemExit(f"unknown mode {mode}")
    except X121Error as exc:
        _out(json.dumps({"error": exc.sentence}))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
