"""Presence with several client PROCESSES: arrivals and departures arrive by NOTIFY; a killed client vanishes.

Three processes heartbeat at one scene (timeout 4 s). The test listens on the collaboration
channels (its own LISTEN thread) and reads snapshots as a reviewer: everyone appears; a client
that quits leaves at once ('left'); a SIGKILLed client sends nothing, drops out of snapshots when
its heartbeat times out (the snapshot says when to look again), and the next heartbeat of a live
client purges its row, which everyone hears as 'left'.
"""

from __future__ import annotations

import asyncio
import queue
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from tests.db.security_studio import SecureStudio
from tests.services.collab_studio import collab_studio, spawn_client
from x121_desktop.db.engine import DatabaseTarget, make_engine
from x121_desktop.services.collab import PRESENCE, CollabEvent, CollabServices
from x121_desktop.services.runtime import Runtime

__all__ = ["collab_studio"]
TIMEOUT_S = 4


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _wait_for(events: queue.Queue[CollabEvent], match: Callable[[CollabEvent], bool], within: float) -> CollabEvent:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        if match(event):
            return event
    raise AssertionError("the expected notification did not arrive")


def test_presence_appears_and_disappears_across_processes(collab_studio: SecureStudio) -> None:
    s = collab_studio
    scene = s.ids["scene"]
    engine = make_engine(DatabaseTarget(s.url("reviewer2")), pool_size=2)
    runtime = Runtime()
    collab = CollabServices.build(engine, runtime, "observer", presence_timeout_s=TIMEOUT_S)
    events: queue.Queue[CollabEvent] = queue.Queue()
    listener = collab.listen(events.put)
    clients = {
        who: spawn_client("present", s.url(who), f"ws-{who}", str(TIMEOUT_S), str(scene))
        for who in ("creator", "creator2", "reviewer")
    }
    try:
        assert listener.wait_listening()
        for proc in clients.values():
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "beating"
        arrived = set()
        while len(arrived) < 3:
            event = _wait_for(events, lambda e: e.channel == PRESENCE and e.data.get("op") == "arrived", 10)
            arrived.add(event.data["machine"])
        assert arrived == {"ws-creator", "ws-creator2", "ws-reviewer"}
        snap = run(collab.presence.snapshot())
        assert {e.machine for e in snap.at_scene(scene)} == arrived
        assert {e.display_name for e in snap.entries} == {"Creator", "Creator 2", "Reviewer"}

        quitter = clients["creator"]
        assert quitter.stdin is not None
        quitter.stdin.close()
        left = _wait_for(events, lambda e: e.channel == PRESENCE and e.data.get("op") == "left", 10)
        assert left.data["machine"] == "ws-creator"
        assert quitter.wait(10) == 0
        assert {e.machine for e in run(collab.presence.snapshot()).entries} == {"ws-creator2", "ws-reviewer"}

        clients["creator2"].send_signal(signal.SIGKILL)
        clients["creator2"].wait(10)
        snap = run(collab.presence.snapshot())
        assert snap.next_expiry_s is not None
        assert snap.next_expiry_s <= TIMEOUT_S
        gone = _wait_for(
            events,
            lambda e: e.channel == PRESENCE and e.data.get("op") == "left" and e.data.get("machine") == "ws-creator2",
            TIMEOUT_S * 3,
        )
        assert gone.data["user_id"] == s.user_ids["creator2"]
        assert {e.machine for e in run(collab.presence.snapshot()).entries} == {"ws-reviewer"}
        last = clients["reviewer"]
        assert last.stdin is not None
        last.stdin.close()
        assert last.wait(10) == 0
        assert run(collab.presence.snapshot()).entries == ()
    finally:
        for proc in clients.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        listener.stop()
        runtime.shutdown()
        engine.dispose()


def test_a_killed_client_drops_out_of_snapshots_by_timeout_alone(collab_studio: SecureStudio) -> None:
    """Even with nobody else beating (no purge), readers stop showing a stale heartbeat on time."""
    s = collab_studio
    engine = make_engine(DatabaseTarget(s.url("reviewer2")), pool_size=1)
    runtime = Runtime()
    collab = CollabServices.build(engine, runtime, "observer", presence_timeout_s=TIMEOUT_S)
    proc = spawn_client("present", s.url("creator3"), "ws-lonely", str(TIMEOUT_S), str(s.ids["scene"]))
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "beating"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        snap = run(collab.presence.snapshot())
        assert [e.machine for e in snap.entries if e.machine.startswith("ws-")] == ["ws-lonely"]
        assert snap.next_expiry_s is not None
        time.sleep(snap.next_expiry_s + 0.3)
        assert [e.machine for e in run(collab.presence.snapshot()).entries] == []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        runtime.shutdown()
        engine.dispose()
