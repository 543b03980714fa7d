"""Native reroutes in the saved JSON, where and how the frontend writes them.

- Schema 0.4 (the root of most saved workflows): `extra.reroutes` holds the reroutes and, since link
  arrays have no room for it, `extra.linkExtensions` holds each rerouted link's `{id, parentId}`.
- Schema 1 and every subgraph definition: `reroutes` beside `links`, and each link object carries
  its own `parentId`.
- Either way `floatingLinks` (links with a loose end on a reroute) sit beside `links`.

Each reroute is saved as `{id, parentId?, pos, linkIds, floating?}`; `linkIds` is derived from the
links on save (see `reroute_chains`). A list the loader cannot read whole is left in the document
as it was (saved back unchanged, not drawn), so damage never loses data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.model import Graph, Link, Reroute
from x121_desktop.core.graph.reroute_chains import members

REROUTES = "reroutes"
FLOATING = "floatingLinks"
EXTENSIONS = "linkExtensions"
_KEYS = ("id", "parentId", "pos", "linkIds")


def read_reroutes(
    raw: Mapping[str, Any], graph: Graph, read_link: Callable[[Any], Link], *, legacy: bool
) -> tuple[Graph, dict[str, Any]]:
    """`graph` with the reroutes, link parents and floating links of `raw` (one graph level), and the
    keys of `raw` the model now holds: None drops a key from the verbatim ones, a value replaces it."""
    changed: dict[str, Any] = {}
    floating = _floating(raw.get(FLOATING), read_link)
    if floating:
        changed[FLOATING] = None
    links = graph.links
    nested = raw.get("extra")
    reroutes: tuple[Reroute, ...] | None = None
    if legacy and isinstance(nested, Mapping):  # schema 0.4: reroutes and link parents live in `extra`
        reroutes = parse_reroutes(nested.get(REROUTES))
        parents = link_parents(nested.get(EXTENSIONS)) if reroutes else None
        if reroutes and parents is not None:
            links = with_parents(links, parents)
            changed["extra"] = {k: v for k, v in nested.items() if k not in (REROUTES, EXTENSIONS)}
        else:
            reroutes = None
    elif not legacy:
        reroutes = parse_reroutes(raw.get(REROUTES))
        if reroutes:
            changed[REROUTES] = None
    return replace(graph, links=links, reroutes=reroutes or (), floating_links=floating or ()), changed


def write_reroutes(out: dict[str, Any], graph: Graph, write_link: Callable[[Link], Any], *, legacy: bool) -> None:
    """Put reroutes and floating links where the frontend writes them (nothing when there are none)."""
    if graph.floating_links:
        out[FLOATING] = [write_link(lk) for lk in graph.floating_links]
    if not graph.reroutes:
        return
    if legacy:
        nested = out.get("extra")
        out["extra"] = {
            **(nested if isinstance(nested, Mapping) else {}),
            REROUTES: dump_reroutes(graph),
            EXTENSIONS: dump_extensions(graph),
        }
    else:
        out[REROUTES] = dump_reroutes(graph)


def _floating(raw: Any, read_link: Callable[[Any], Link]) -> tuple[Link, ...] | None:
    """`floatingLinks` when every entry reads as a link object (else they stay verbatim)."""
    if not isinstance(raw, list) or not raw or not all(isinstance(item, Mapping) for item in raw):
        return None
    try:
        return tuple(read_link(item) for item in raw)
    except InvalidInput:
        return None


def parse_reroutes(raw: Any) -> tuple[Reroute, ...] | None:
    """The reroutes of a non-empty list, or None when there are none or any entry is unreadable."""
    if not isinstance(raw, list) or not raw:
        return None
    out = []
    for item in raw:
        if not isinstance(item, Mapping) or not _is_int(item.get("id")):
            return None
        pos = item.get("pos")
        parent = item.get("parentId")
        if not (isinstance(pos, list | tuple) and len(pos) == 2 and all(_is_number(v) for v in pos)):
            return None
        if parent is not None and not _is_int(parent):
            return None
        extra = {k: v for k, v in item.items() if k not in _KEYS}
        out.append(Reroute(id=item["id"], pos=(pos[0], pos[1]), parent_id=parent, extra=extra))
    return tuple(out)


def link_parents(raw: Any) -> dict[int, int] | None:
    """`extra.linkExtensions` of schema 0.4 as link id → parent reroute id (None when unreadable)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        return None
    out: dict[int, int] = {}
    for item in raw:
        if not isinstance(item, Mapping) or not _is_int(item.get("id")):
            return None
        if _is_int(item.get("parentId")):
            out[item["id"]] = item["parentId"]
    return out


def with_parents(links: tuple[Link, ...], parents: Mapping[int, int]) -> tuple[Link, ...]:
    return tuple(replace(lk, parent_id=parents[lk.id]) if lk.id in parents else lk for lk in links)


def dump_reroutes(graph: Graph) -> list[dict[str, Any]]:
    through = members(graph)
    out = []
    for reroute in graph.reroutes:
        item: dict[str, Any] = dict(reroute.extra)
        item["id"] = reroute.id
        if reroute.parent_id is not None:
            item["parentId"] = reroute.parent_id
        item["pos"] = list(reroute.pos)
        item["linkIds"] = through.get(reroute.id, [])
        out.append(item)
    return out


def dump_extensions(graph: Graph) -> list[dict[str, int]]:
    """`extra.linkExtensions` as the frontend writes it: every link with a parent reroute, in order."""
    return [{"id": lk.id, "parentId": lk.parent_id} for lk in graph.links if lk.parent_id is not None]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
