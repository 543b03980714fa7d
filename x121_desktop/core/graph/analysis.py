"""Graph questions that need no node catalogue: dependency edges, cycles, execution order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from x121_desktop.core.graph.model import Graph


def dependency_edges(graph: Graph) -> dict[str, set[str]]:
    """node id → ids of the nodes it reads from (links into it), all as text."""
    edges: dict[str, set[str]] = {str(n.id): set() for n in graph.nodes}
    for lk in graph.links:
        edges.setdefault(str(lk.target_id), set()).add(str(lk.origin_id))
    return edges


def find_cycle(edges: Mapping[str, Iterable[str]]) -> tuple[str, ...] | None:
    """One dependency cycle as node ids in order (first id repeated at the end), or None.

    Iterative depth-first search, so deep graphs cannot exhaust the recursion limit.
    """
    white, grey, black = 0, 1, 2
    colour: dict[str, int] = {}
    deps = {k: sorted(v, key=_order_key) for k, v in edges.items()}
    for start in sorted(deps, key=_order_key):
        if colour.get(start, white) != white:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        colour[start] = grey
        while stack:
            node, index = stack[-1]
            children = deps.get(node, [])
            if index >= len(children):
                stack.pop()
                path.pop()
                colour[node] = black
                continue
            stack[-1] = (node, index + 1)
            child = children[index]
            state = colour.get(child, white)
            if state == grey:
                cycle = path[path.index(child) :]
                return (*cycle, child)
            if state == white:
                colour[child] = grey
                stack.append((child, 0))
                path.append(child)
    return None


def execution_order(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Ids ordered so every node comes after the nodes it reads from; None when there is a cycle."""
    pending = {k: set(v) & set(edges) for k, v in edges.items()}
    order: list[str] = []
    ready = sorted((k for k, v in pending.items() if not v), key=_order_key)
    while ready:
        node = ready.pop(0)
        order.append(node)
        newly: list[str] = []
        for other, deps in pending.items():
            if node in deps:
                deps.discard(node)
                if not deps:
                    newly.append(other)
        ready = sorted([*ready, *newly], key=_order_key)
    return order if len(order) == len(pending) else None


def _order_key(node_id: str) -> tuple[int, ...]:
    """Sort "2" before "10" and "5:3" after "5"."""
    parts: list[int] = []
    for part in node_id.split(":"):
        parts.extend((0, int(part)) if part.lstrip("-").isdigit() else (1, sum(map(ord, part))))
    return tuple(parts)
