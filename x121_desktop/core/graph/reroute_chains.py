"""Native reroutes as the frontend links them: chains, membership, removal and clean-up.

A link's `parent_id` names the reroute nearest its target; each reroute's `parent_id` names the next
one towards the origin, so a link is drawn origin → the chain's first reroute → … → its parent
reroute → target. Which links pass through a reroute (`linkIds` when saved) is derived from those
chains, the way the frontend derives it. A broken chain (a missing or repeated id) stops where it
breaks, as the frontend does when it unpacks one. Pure functions over `Graph` values.
"""

from __future__ import annotations

from dataclasses import replace

from x121_desktop.core.graph.model import Graph, Link, Reroute


def chain(graph: Graph, link: Link) -> tuple[Reroute, ...]:
    """The reroutes `link` passes through, origin side first."""
    return _walk(graph, link)[0]


def chain_fault(graph: Graph, link: Link) -> tuple[str, int] | None:
    """Where `link`'s chain breaks: ("missing", id) names a reroute that is not there, ("loop", id)
    the reroute at which the chain comes back on itself; None for a sound chain."""
    return _walk(graph, link)[1]


def _walk(graph: Graph, link: Link) -> tuple[tuple[Reroute, ...], tuple[str, int] | None]:
    out: list[Reroute] = []
    seen: set[int] = set()
    next_id = link.parent_id
    fault: tuple[str, int] | None = None
    while next_id is not None:
        if next_id in seen:
            fault = ("loop", next_id)
            break
        seen.add(next_id)
        reroute = graph.reroute(next_id)
        if reroute is None:
            fault = ("missing", next_id)
            break
        out.append(reroute)
        next_id = reroute.parent_id
    out.reverse()
    return tuple(out), fault


def members(graph: Graph, links: tuple[Link, ...] | None = None) -> dict[int, list[int]]:
    """Reroute id → ids of the links (default: the live ones) passing through it, ascending."""
    out: dict[int, list[int]] = {r.id: [] for r in graph.reroutes}
    for lk in graph.links if links is None else links:
        for reroute in chain(graph, lk):
            out[reroute.id].append(lk.id)
    return {rid: sorted(ids) for rid, ids in out.items()}


def used(graph: Graph) -> set[int]:
    """Reroutes at least one live or floating link passes through."""
    live, floating = members(graph), members(graph, graph.floating_links)
    return {rid for rid in live if live[rid] or floating[rid]}


def prune(before: Graph, after: Graph) -> Graph:
    """Drop the reroutes that links passed through in `before` but none does in `after` (their links
    were deleted); reroutes that were unused already are kept as loaded."""
    if not after.reroutes:
        return after
    gone = used(before) - used(after)
    if not gone:
        return after
    return replace(after, reroutes=tuple(r for r in after.reroutes if r.id not in gone))


def remove(graph: Graph, reroute_id: int) -> Graph:
    """Take one reroute out of its chains: what pointed at it points at its parent (links stay
    connected end to end). A floating link ending at it is kept on the previous reroute when that one
    carries nothing else, otherwise it goes (the frontend's `removeReroute`)."""
    gone = graph.reroute(reroute_id)
    if gone is None:
        return graph
    parent = gone.parent_id
    floating = graph.floating_links
    reroutes = {r.id: replace(r, parent_id=parent) if r.parent_id == reroute_id else r for r in graph.reroutes}
    live, floats = members(graph), members(graph, floating)
    totals = {rid: len(live[rid]) + len(floats[rid]) for rid in live}
    kept_floating: list[Link] = []
    for lk in floating:
        if lk.parent_id != reroute_id:
            kept_floating.append(lk)
            continue
        previous = graph.reroute(parent) if parent is not None else None
        if previous is None or totals.get(previous.id) != 1:
            continue  # nothing else to hang it on: the floating link goes
        kept_floating.append(replace(lk, parent_id=parent))
        if "floating" in gone.extra:  # the previous reroute is the chain's loose end now
            moved = {**previous.extra, "floating": gone.extra["floating"]}
            reroutes[previous.id] = replace(reroutes[previous.id], extra=moved)
    del reroutes[reroute_id]
    links = tuple(replace(lk, parent_id=parent) if lk.parent_id == reroute_id else lk for lk in graph.links)
    return replace(
        graph,
        links=links,
        floating_links=tuple(kept_floating),
        reroutes=tuple(reroutes[r.id] for r in graph.reroutes if r.id in reroutes),
    )
