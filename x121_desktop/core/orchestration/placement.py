"""Which ComfyUI server runs a job: capability check, model affinity, speed (pure).

Like SwarmUI's `T2IBackendRequest.TryFind`, a server is a candidate only if it has every node
class type and every model file the job needs (from its /object_info, see `comfy.needs`). Unlike
Swarm, when no server qualifies the reasons are kept per server, and `Placement.outcome` tells apart
"no server could ever run this" (refuse before any GPU time) from "the capable servers are busy"
(wait in the queue).

Preference among candidates (online or busy, enabled, with a free slot), best first:
1. model affinity: more of the job's models already loaded in VRAM;
2. higher measured speed (relative throughput), so fast servers take the next job (work stealing);
3. more free slots;
4. lower server id (deterministic).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from x121_desktop.core.enums import ServerStatus

DISPATCHABLE: frozenset[ServerStatus] = frozenset({ServerStatus.ONLINE, ServerStatus.BUSY})
"""Server states that accept new jobs (given a free slot)."""

_STATUS_REASONS = {
    ServerStatus.DRAINING: "is draining",
    ServerStatus.OFFLINE: "is offline",
    ServerStatus.ERRORED: "is in an error state (see its log)",
}


@dataclass(frozen=True, order=True)
class ModelRef:
    """A model file as ComfyUI names it: a models/ sub-folder and the name listed in it."""

    folder: str
    name: str

    def __str__(self) -> str:
        return f"{self.folder}/{self.name}"


@dataclass(frozen=True)
class JobNeeds:
    """What a job's API prompt needs from a server."""

    node_types: frozenset[str]
    models: frozenset[ModelRef]


@dataclass(frozen=True)
class ServerSnapshot:
    """One server as the dispatcher sees it at the moment of choosing."""

    server_id: int
    name: str
    status: ServerStatus
    free_slots: int
    node_types: frozenset[str]
    models: frozenset[ModelRef]
    loaded_models: frozenset[ModelRef]
    speed: float  # relative throughput, higher is faster
    enabled: bool = True


@dataclass(frozen=True)
class Refusal:
    """Why one server was not chosen; each reason reads after the server's name."""

    server_name: str
    reasons: tuple[str, ...]
    capable: bool = True  # False when it lacks a node type or model (could never run the job as it is)

    def __str__(self) -> str:
        return f"{self.server_name} {_join(self.reasons)}"


class PlacementOutcome(StrEnum):
    PLACED = "placed"  # a server was chosen
    WAIT = "wait"  # some enabled server could run it, but none can take it now
    IMPOSSIBLE = "impossible"  # no enabled server has what the job needs: refuse before any GPU time


@dataclass(frozen=True)
class Placement:
    server_id: int | None
    refusals: tuple[Refusal, ...]
    server_name: str | None = None
    outcome: PlacementOutcome = PlacementOutcome.PLACED

    @property
    def placed(self) -> bool:
        return self.server_id is not None


def capability_reasons(needs: JobNeeds, server: ServerSnapshot) -> tuple[str, ...]:
    """Missing node types and models, sorted, as refusal sentences (empty when capable)."""
    reasons = [
        f"has no node type {t} (install the custom node pack)" for t in sorted(needs.node_types - server.node_types)
    ]
    reasons += [f"has no model {m} ({_model_hint(m)})" for m in sorted(needs.models - server.models)]
    return tuple(reasons)


def _model_hint(model: ModelRef) -> str:
    if "." in model.folder:  # a custom loader's pseudo-folder "<ClassType>.<input>" (see comfy.needs)
        node, _, _ = model.folder.partition(".")
        return f"copy it where the server's {node} node reads its models"
    return f"copy it into ComfyUI/models/{model.folder}"


def availability_reasons(server: ServerSnapshot) -> tuple[str, ...]:
    """Why a server cannot take a job now, whatever the job (empty when it can)."""
    if not server.enabled:
        return ("is disabled",)
    if server.status not in DISPATCHABLE:
        return (_STATUS_REASONS.get(server.status, f"is {server.status.label.lower()}"),)
    if server.free_slots <= 0:
        return ("has no free slot",)
    return ()


def choose_server(needs: JobNeeds, servers: Iterable[ServerSnapshot]) -> Placement:
    """The best server for `needs`, or none with every server's reasons (see module docstring)."""
    candidates: list[ServerSnapshot] = []
    refusals: list[Refusal] = []
    for server in sorted(servers, key=lambda s: s.server_id):
        missing = capability_reasons(needs, server)
        unavailable = availability_reasons(server)
        if missing or unavailable:
            refusals.append(Refusal(server.name, (*unavailable, *missing), capable=not missing))
        else:
            candidates.append(server)
    if candidates:
        best = min(candidates, key=lambda s: _preference(needs, s))
        return Placement(best.server_id, tuple(refusals), best.name, PlacementOutcome.PLACED)
    waiting = any(r.capable and "is disabled" not in r.reasons for r in refusals)
    outcome = PlacementOutcome.WAIT if waiting else PlacementOutcome.IMPOSSIBLE
    return Placement(None, tuple(refusals), None, outcome)


def rank_servers(needs: JobNeeds, servers: Iterable[ServerSnapshot]) -> list[ServerSnapshot]:
    """Every server that can take the job now, best first (the order `choose_server` picks from)."""
    able = [s for s in servers if not capability_reasons(needs, s) and not availability_reasons(s)]
    return sorted(able, key=lambda s: _preference(needs, s))


def _preference(needs: JobNeeds, server: ServerSnapshot) -> tuple[int, float, int, int]:
    affinity = len(needs.models & server.loaded_models)
    return (-affinity, -server.speed, -server.free_slots, server.server_id)


def explain_refusal(placement: Placement) -> str:
    """One sentence for the job's owner about why the job is not running (empty when it was placed)."""
    if placement.placed:
        return ""
    if not placement.refusals:
        return "No ComfyUI server is registered, so the job cannot run; add a server, then submit again."
    details = "; ".join(str(r) for r in placement.refusals)
    if placement.outcome is PlacementOutcome.WAIT:
        return (
            f"Every server that can run this job is unavailable right now ({details}), "
            "so it waits in the queue and starts when one frees up."
        )
    return (
        f"No server can run this job ({details}), so it was refused before using any GPU time; "
        "install the missing node packs or models on a server (or enable one), then submit again."
    )


def _join(reasons: Sequence[str]) -> str:
    if len(reasons) <= 1:
        return "".join(reasons)
    return ", ".join(reasons[:-1]) + " and " + reasons[-1]
