"""Open what a person hands the editor, damaged or not: problems are listed, never raised as crashes.

`open_workflow_json` accepts a UI-format document or an API-format prompt. Damage the strict loader
refuses (node entries without id or type, malformed links, links from nodes that are not there) is
left out of the opened document and each omission becomes a `Problem` pinned on the node it touches.
Unknown fields are kept as loaded (the model is lossless); unknown node types are found against a
catalogue with `unknown_types`; broken native-reroute chains and unreadable reroute lists are listed
too (the wire is drawn without the missing part; an unreadable list is saved back as it was).
Nothing here writes files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.catalog import NodeCatalog
from x121_desktop.core.graph.document import is_ui_document, load_document
from x121_desktop.core.graph.model import SUBGRAPH_INPUT_NODE_ID, SUBGRAPH_OUTPUT_NODE_ID, WorkflowDocument
from x121_desktop.core.graph.reroute_chains import chain_fault

# Node types the frontend provides itself (they are never in /object_info).
FRONTEND_TYPES = frozenset(
    {"Reroute", "PrimitiveNode", "Note", "MarkdownNote", "Reroute (rgthree)", "Label (rgthree)", "Bookmark (rgthree)"}
)


class SourceFormat(StrEnum):
    UI = "ui"
    API = "api"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the opened document, pinned on a node when it concerns one."""

    message: str
    node_id: str | None = None
    scope: str | None = None  # None: the root graph; else a subgraph id


@dataclass(frozen=True)
class OpenedWorkflow:
    document: WorkflowDocument
    problems: tuple[Problem, ...]
    format: SourceFormat


def is_api_prompt(raw: object) -> bool:
    return (
        isinstance(raw, Mapping)
        and bool(raw)
        and all(isinstance(v, Mapping) for v in raw.values())
        and any("class_type" in v for v in raw.values())
    )


def open_workflow_json(raw: object, source: str, catalog: NodeCatalog) -> OpenedWorkflow:
    """Open a parsed JSON value; raises `InvalidInput` only when it is no workflow at all."""
    if is_ui_document(raw) and isinstance(raw, Mapping):
        cleaned, problems = _clean_document(raw)
        document = load_document(cleaned, source)
        found = (*problems, *reroute_problems(cleaned, document), *unknown_types(document, catalog))
        return OpenedWorkflow(document, found, SourceFormat.UI)
    if is_api_prompt(raw) and isinstance(raw, Mapping):
        from x121_desktop.core.graph.from_api import document_from_api

        document, problems = document_from_api(raw, catalog)
        return OpenedWorkflow(document, (*problems, *unknown_types(document, catalog)), SourceFormat.API)
    raise InvalidInput(
        f"{source} is neither a ComfyUI UI-format workflow (nodes and links) nor an API-format prompt",
        "Save the workflow from ComfyUI with Save or Export (API) and open that file.",
    )


def unknown_types(document: WorkflowDocument, catalog: NodeCatalog) -> list[Problem]:
    """Nodes whose type the catalogue does not know (nothing is reported when there is no catalogue)."""
    if not len(catalog):
        return []
    out = []
    for scope, graph in document.all_graphs():
        for node in graph.nodes:
            if node.type in catalog or node.type in FRONTEND_TYPES or node.type in document.subgraphs:
                continue
            out.append(
                Problem(
                    f"Node type {node.type!r} is not installed on {catalog.source}; "
                    "install its custom node pack or replace the node.",
                    str(node.id),
                    scope,
                )
            )
    return out


def reroute_problems(raw: Mapping[str, Any], document: WorkflowDocument) -> list[Problem]:
    """Wires whose reroute chain breaks (pinned on the wire's target node), and reroute lists that
    could not be read (kept as saved, not drawn)."""
    definitions = raw.get("definitions")
    subs = definitions.get("subgraphs") if isinstance(definitions, Mapping) else None
    levels: dict[str | None, Any] = {None: raw}
    levels.update((s.get("id"), s) for s in (subs if isinstance(subs, list) else []) if isinstance(s, Mapping))
    out = []
    for scope, graph in document.all_graphs():
        level = levels.get(scope)
        holder = level.get("extra") if scope is None and document.version == 0.4 and level else level
        listed = holder.get("reroutes") if isinstance(holder, Mapping) else None
        if isinstance(listed, list) and listed and not graph.reroutes:
            out.append(Problem(UNREAD_REROUTES, None, scope))
        for lk in graph.links:
            fault = chain_fault(graph, lk)
            if fault is not None:
                kind, rid = fault
                where = (
                    f"names reroute {rid}, which is not in the workflow"
                    if kind == "missing"
                    else f"loops back at reroute {rid}"
                )
                text = f"The path of link {lk.id} {where}; it is drawn without the rest (re-route it to repair it)."
                out.append(Problem(text, str(lk.target_id), scope))
    return out


UNREAD_REROUTES = "The reroutes saved with this graph could not be read; they are kept as saved but not drawn."


def _clean_document(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    out = dict(raw)
    out.update(_clean_graph(raw, None, problems))
    definitions = raw.get("definitions")
    if isinstance(definitions, Mapping) and isinstance(definitions.get("subgraphs"), list):
        subs = []
        for sub in definitions["subgraphs"]:
            if isinstance(sub, Mapping) and isinstance(sub.get("id"), str):
                subs.append({**sub, **_clean_graph(sub, sub["id"], problems)})
            else:
                problems.append(Problem("A subgraph definition without an id was left out."))
        out["definitions"] = {**definitions, "subgraphs": subs}
    return out, problems


def _clean_graph(raw: Mapping[str, Any], scope: str | None, problems: list[Problem]) -> dict[str, Any]:
    nodes: list[Any] = []
    ids: set[str] = set()
    for item in raw.get("nodes") or []:
        if not isinstance(item, Mapping) or "id" not in item or not isinstance(item.get("type"), str):
            problems.append(
                Problem(f"A node entry without an id or type was left out ({str(item)[:40]}).", None, scope)
            )
            continue
        if str(item["id"]) in ids:
            problems.append(
                Problem(f"Node id {item['id']} appears twice; the second one was left out.", str(item["id"]), scope)
            )
            continue
        ids.add(str(item["id"]))
        nodes.append(item)
    if scope is not None:
        ids |= {str(SUBGRAPH_INPUT_NODE_ID), str(SUBGRAPH_OUTPUT_NODE_ID)}
    links: list[Any] = []
    dropped: set[int] = set()
    for item in raw.get("links") or []:
        parts = _link_parts(item)
        if parts is None:
            problems.append(Problem(f"A malformed link entry was left out ({str(item)[:40]}).", None, scope))
            continue
        link_id, origin, target = parts
        if str(origin) not in ids:
            dropped.add(link_id)
            where = str(target) if str(target) in ids else None
            problems.append(
                Problem(
                    f"Link {link_id} comes from node {origin}, which is not in the workflow; it was left out.",
                    where,
                    scope,
                )
            )
            continue
        if str(target) not in ids:
            problems.append(
                Problem(f"Link {link_id} goes to node {target}, which is not in the workflow.", str(origin), scope)
            )
        links.append(item)
    if dropped:
        nodes = [_without_links(n, dropped) for n in nodes]
    return {"nodes": nodes, "links": links}


def _link_parts(item: Any) -> tuple[int, Any, Any] | None:
    if isinstance(item, list) and len(item) == 6:
        link_id, origin, oslot, target, tslot = item[:5]
    elif isinstance(item, Mapping):
        link_id, origin, oslot, target, tslot = (
            item.get(k) for k in ("id", "origin_id", "origin_slot", "target_id", "target_slot")
        )
    else:
        return None
    if not all(isinstance(v, int) for v in (link_id, oslot, tslot)) or origin is None or target is None:
        return None
    return link_id, origin, target


def _without_links(node: Mapping[str, Any], dropped: set[int]) -> Mapping[str, Any]:
    inputs = node.get("inputs")
    if not isinstance(inputs, list) or not any(isinstance(s, Mapping) and s.get("link") in dropped for s in inputs):
        return node
    fixed = [{**s, "link": None} if isinstance(s, Mapping) and s.get("link") in dropped else s for s in inputs]
    return {**node, "inputs": fixed}
