"""Load and save ComfyUI UI-format documents (schema versions 0.4 and 1) as `WorkflowDocument` values.

Loading only parses dicts (reading files is the caller's job). Unknown keys are kept, so
`dump_document(load_document(d))` gives `d` back. Native reroutes are read from and written back to
where the frontend keeps them (see `reroute_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.model import (
    SUBGRAPH_INPUT_NODE_ID,
    Graph,
    Group,
    InputSocket,
    Link,
    Node,
    NodeId,
    OutputSocket,
    Subgraph,
    SubgraphPort,
    WorkflowDocument,
)
from x121_desktop.core.graph.reroute_json import read_reroutes, write_reroutes

SUPPORTED_VERSIONS = (0.4, 1)
_NODE_KEYS = ("id", "type", "mode", "title", "inputs", "outputs", "widgets_values", "properties", "pos", "size")
_NODE_DEFAULTS: dict[str, Any] = {"mode": 0, "inputs": [], "outputs": [], "properties": {}}
_INPUT_KEYS = ("name", "type", "link", "widget", "label")
_OUTPUT_KEYS = ("name", "type", "links", "label")
_LINK_KEYS = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
_DOC_KEYS = ("nodes", "links", "groups", "definitions", "version")
_SUBGRAPH_KEYS = ("id", "name", "nodes", "links", "groups", "inputs", "outputs")


def is_ui_document(raw: object) -> bool:
    """Whether `raw` looks like what ComfyUI's editor saves (a `nodes` list and a `links` list)."""
    return isinstance(raw, Mapping) and isinstance(raw.get("nodes"), list) and isinstance(raw.get("links"), list)


def load_document(raw: Mapping[str, Any], source: str = "workflow") -> WorkflowDocument:
    """Parse a UI-format document; `source` names it in error sentences."""
    if not is_ui_document(raw):
        raise InvalidInput(
            f"{source} is not a ComfyUI UI-format workflow (it has no 'nodes' and 'links' lists)",
            "Save the workflow from ComfyUI with Workflow > Save, or export it in API format.",
        )
    version = raw.get("version", 0.4)
    if isinstance(version, int | float) and version > max(SUPPORTED_VERSIONS):
        raise InvalidInput(
            f"{source} uses workflow schema version {version}, newer than this studio understands (up to 1)",
            "Update X121 Studio, or re-save the workflow with an older ComfyUI frontend.",
        )
    subgraphs: dict[str, Subgraph] = {}
    definitions = raw.get("definitions")
    definitions_extra: dict[str, Any] = {}
    if isinstance(definitions, Mapping):
        definitions_extra = {k: v for k, v in definitions.items() if k != "subgraphs"}
        for item in definitions.get("subgraphs") or []:
            sub = _subgraph(item, source)
            subgraphs[sub.id] = sub
    graph, link_format, changed = _graph(raw, source, "", legacy=version == 0.4)
    _check_links(graph, source, "", inside_subgraph=False)
    for sub in subgraphs.values():
        _check_links(sub.graph, source, f" inside subgraph {sub.name!r}", inside_subgraph=True)
    return WorkflowDocument(
        graph=graph,
        subgraphs=subgraphs,
        version=version,
        link_format=link_format,
        extra=_kept({k: v for k, v in raw.items() if k not in _DOC_KEYS}, changed),
        definitions_extra=definitions_extra if isinstance(definitions, Mapping) else {},
    )


def dump_document(doc: WorkflowDocument) -> dict[str, Any]:
    """The document as the JSON object ComfyUI's editor would save."""
    out: dict[str, Any] = dict(doc.extra)
    out["nodes"] = [_dump_node(n) for n in doc.graph.nodes]
    out["links"] = [_dump_link(lk, doc.link_format) for lk in doc.graph.links]
    out["groups"] = [_dump_group(g) for g in doc.graph.groups]
    write_reroutes(out, doc.graph, lambda lk: _dump_link(lk, "object"), legacy=doc.version == 0.4)
    if doc.subgraphs or doc.definitions_extra:
        out["definitions"] = {**doc.definitions_extra, "subgraphs": [_dump_subgraph(s) for s in doc.subgraphs.values()]}
    out["version"] = doc.version
    return out


# ------------------------------------------------------------------ parsing


def _graph(
    raw: Mapping[str, Any], source: str, where: str, *, legacy: bool = False
) -> tuple[Graph, str, dict[str, Any]]:
    """The graph, its link format, and the other keys of `raw` whose saved value the model now holds
    (None: dropped from the verbatim keys; else the value that stays verbatim)."""
    nodes = tuple(_node(item, source, where) for item in raw.get("nodes") or [])
    raw_links = raw.get("links") or []
    link_format = "object" if raw_links and isinstance(raw_links[0], Mapping) else "array"
    links = tuple(_link(item, source, where) for item in raw_links)
    groups = tuple(_group(item) for item in raw.get("groups") or [] if isinstance(item, Mapping))
    graph, changed = read_reroutes(
        raw, Graph(nodes=nodes, links=links, groups=groups), lambda item: _link(item, source, where), legacy=legacy
    )
    return graph, link_format, changed


def _kept(verbatim: dict[str, Any], changed: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in changed.items():
        if value is None:
            verbatim.pop(key, None)
        else:
            verbatim[key] = value
    return verbatim


def _node(item: Any, source: str, where: str) -> Node:
    if not isinstance(item, Mapping) or "id" not in item or not isinstance(item.get("type"), str):
        raise InvalidInput(
            f"{source}{where}: a node entry has no id or type ({str(item)[:60]})",
            "The file is damaged; re-save it from ComfyUI.",
        )
    return Node(
        id=_node_id(item["id"]),
        type=item["type"],
        mode=int(item.get("mode") or 0),
        title=item.get("title") if isinstance(item.get("title"), str) else None,
        inputs=tuple(_input(s) for s in item.get("inputs") or [] if isinstance(s, Mapping)),
        outputs=tuple(_output(s) for s in item.get("outputs") or [] if isinstance(s, Mapping)),
        widgets_values=item.get("widgets_values"),
        properties=item.get("properties") or {},
        pos=_pair(item.get("pos")),
        size=_pair(item.get("size")),
        extra={k: v for k, v in item.items() if k not in _NODE_KEYS or k in ("pos", "size")},
        present=frozenset(k for k in _NODE_KEYS if k in item),
    )


def _input(item: Mapping[str, Any]) -> InputSocket:
    widget = item.get("widget")
    link = item.get("link")
    return InputSocket(
        name=str(item.get("name", "")),
        type=_type_text(item.get("type")),
        link=link if isinstance(link, int) else None,
        widget=str(widget["name"]) if isinstance(widget, Mapping) and "name" in widget else None,
        label=item.get("label") if isinstance(item.get("label"), str) else None,
        extra={k: v for k, v in item.items() if k not in _INPUT_KEYS or k in ("widget", "type")},
        present=frozenset(k for k in _INPUT_KEYS if k in item),
    )


def _output(item: Mapping[str, Any]) -> OutputSocket:
    links = item.get("links")
    return OutputSocket(
        name=str(item.get("name", "")),
        type=_type_text(item.get("type")),
        links=tuple(x for x in links if isinstance(x, int)) if isinstance(links, list) else (),
        label=item.get("label") if isinstance(item.get("label"), str) else None,
        extra={k: v for k, v in item.items() if k not in _OUTPUT_KEYS or k in ("links", "type")},
        present=frozenset(k for k in _OUTPUT_KEYS if k in item),
    )


def _link(item: Any, source: str, where: str) -> Link:
    values: list[Any]
    parent = None
    if isinstance(item, Mapping):
        values = [item.get(k) for k in _LINK_KEYS]
        extra = {k: v for k, v in item.items() if (k not in _LINK_KEYS or k == "type") and k != "parentId"}
        raw_parent = item.get("parentId")
        if isinstance(raw_parent, int) and not isinstance(raw_parent, bool):
            parent = raw_parent
        elif raw_parent is not None:
            extra["parentId"] = raw_parent  # not a reroute id: kept as it was
    elif isinstance(item, list) and len(item) == 6:
        values, extra = list(item), {"type": item[5]}
    else:
        raise InvalidInput(
            f"{source}{where}: a link entry is malformed ({str(item)[:60]}); "
            "a link is [link_id, from_node, from_slot, to_node, to_slot, type]",
            "Re-save the workflow from ComfyUI.",
        )
    link_id, origin, origin_slot, target, target_slot, link_type = values
    if not all(isinstance(v, int) for v in (link_id, origin_slot, target_slot)) or origin is None or target is None:
        raise InvalidInput(
            f"{source}{where}: link {str(item)[:60]} has missing ids or slots", "Re-save it from ComfyUI."
        )
    return Link(
        id=link_id,
        origin_id=_node_id(origin),
        origin_slot=origin_slot,
        target_id=_node_id(target),
        target_slot=target_slot,
        type=_type_text(link_type),
        extra=extra,
        parent_id=parent,
    )


def _group(item: Mapping[str, Any]) -> Group:
    bounding = item.get("bounding")
    return Group(
        title=str(item.get("title", "")),
        bounding=tuple(bounding) if isinstance(bounding, list) else (),
        extra={k: v for k, v in item.items() if k not in ("title",)},
    )


def _subgraph(item: Any, source: str) -> Subgraph:
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        raise InvalidInput(f"{source}: a subgraph definition has no id", "Re-save the workflow from ComfyUI.")
    name = str(item.get("name") or item["id"])
    graph, link_format, changed = _graph(item, source, f" (subgraph {name!r})")
    verbatim = _kept({k: v for k, v in item.items() if k not in _SUBGRAPH_KEYS}, changed)
    return Subgraph(
        id=item["id"],
        name=name,
        graph=graph,
        inputs=tuple(_port(p) for p in item.get("inputs") or [] if isinstance(p, Mapping)),
        outputs=tuple(_port(p) for p in item.get("outputs") or [] if isinstance(p, Mapping)),
        extra={**verbatim, "__link_format__": link_format},
    )


def _port(item: Mapping[str, Any]) -> SubgraphPort:
    return SubgraphPort(
        name=str(item.get("name", "")),
        type=_type_text(item.get("type")),
        link_ids=tuple(x for x in item.get("linkIds") or [] if isinstance(x, int)),
        label=item.get("label") if isinstance(item.get("label"), str) else None,
        extra=dict(item),
    )


def _check_links(graph: Graph, source: str, where: str, *, inside_subgraph: bool) -> None:
    """A link must come from an existing node. A link *to* a missing node is a harmless leftover
    (nothing reads it; the frontend ignores it too), so it is kept as loaded."""
    virtual = {str(SUBGRAPH_INPUT_NODE_ID)} if inside_subgraph else set()
    for lk in graph.links:
        if str(lk.origin_id) not in virtual and graph.node(lk.origin_id) is None:
            target = graph.node(lk.target_id)
            into = f" into {target.label}" if target is not None else ""
            raise InvalidInput(
                f"{source}{where}: link {lk.id} ({lk.type}){into} comes from node {lk.origin_id}, "
                "which is not in the workflow",
                "Re-save the workflow from ComfyUI or delete the broken link in the node editor.",
            )


def _node_id(raw: Any) -> NodeId:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return str(raw)


def _type_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):  # a combo socket saved with its choices
        return "COMBO"
    return "*"


def _pair(raw: Any) -> tuple[float, float] | None:
    if isinstance(raw, list | tuple) and len(raw) == 2 and all(isinstance(v, int | float) for v in raw):
        return (raw[0], raw[1])
    return None


# ------------------------------------------------------------------ saving


def _dump_node(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = dict(node.extra)
    fields: dict[str, Any] = {
        "id": node.id,
        "type": node.type,
        "mode": node.mode,
        "title": node.title,
        "inputs": [_dump_input(s) for s in node.inputs],
        "outputs": [_dump_output(s) for s in node.outputs],
        "widgets_values": node.widgets_values,
        "properties": dict(node.properties),
    }
    if node.pos is not None:
        fields["pos"] = list(node.pos)
    if node.size is not None:
        fields["size"] = list(node.size)
    for key, value in fields.items():
        if key in node.present or value != _NODE_DEFAULTS.get(key):
            out[key] = value
    return out


def _dump_input(sock: InputSocket) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in sock.extra.items() if k not in ("widget", "type")}
    raw_type = sock.extra.get("type")
    fields: dict[str, Any] = {
        "name": sock.name,
        "type": raw_type if raw_type is not None and _type_text(raw_type) == sock.type else sock.type,
        "link": sock.link,
        "label": sock.label,
    }
    if sock.widget is not None:
        old = sock.extra.get("widget")
        fields["widget"] = {**(old if isinstance(old, Mapping) else {}), "name": sock.widget}
    return _merge(out, fields, sock.present)


def _dump_output(sock: OutputSocket) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in sock.extra.items() if k not in ("links", "type")}
    raw_type = sock.extra.get("type")
    raw_links = sock.extra.get("links")
    links: list[int] | None = list(sock.links)
    if raw_links is None and not sock.links and "links" in sock.extra:
        links = None  # the editor saves an unconnected output as `"links": null`
    fields: dict[str, Any] = {
        "name": sock.name,
        "type": raw_type if raw_type is not None and _type_text(raw_type) == sock.type else sock.type,
        "links": links,
        "label": sock.label,
    }
    return _merge(out, fields, sock.present)


def _merge(out: dict[str, Any], fields: Mapping[str, Any], present: frozenset[str]) -> dict[str, Any]:
    for key, value in fields.items():
        if key in present or value is not None:
            out[key] = value
    return out


def _dump_link(lk: Link, link_format: str) -> Any:
    raw_type = lk.extra.get("type")
    link_type = raw_type if raw_type is not None and _type_text(raw_type) == lk.type else lk.type
    if link_format == "array":  # a parent reroute goes into `extra.linkExtensions`
        return [lk.id, lk.origin_id, lk.origin_slot, lk.target_id, lk.target_slot, link_type]
    out = {k: v for k, v in lk.extra.items() if k != "type"}
    out.update(
        id=lk.id,
        origin_id=lk.origin_id,
        origin_slot=lk.origin_slot,
        target_id=lk.target_id,
        target_slot=lk.target_slot,
        type=link_type,
    )
    if lk.parent_id is not None:
        out["parentId"] = lk.parent_id
    return out


def _dump_group(group: Group) -> dict[str, Any]:
    out = dict(group.extra)
    out["title"] = group.title
    if group.bounding:
        out["bounding"] = list(group.bounding)
    return out


def _dump_subgraph(sub: Subgraph) -> dict[str, Any]:
    out = {k: v for k, v in sub.extra.items() if k != "__link_format__"}
    link_format = str(sub.extra.get("__link_format__", "object"))
    out.update(
        id=sub.id,
        name=sub.name,
        inputs=[_dump_port(p) for p in sub.inputs],
        outputs=[_dump_port(p) for p in sub.outputs],
        nodes=[_dump_node(n) for n in sub.graph.nodes],
        links=[_dump_link(lk, link_format) for lk in sub.graph.links],
        groups=[_dump_group(g) for g in sub.graph.groups],
    )
    write_reroutes(out, sub.graph, lambda lk: _dump_link(lk, "object"), legacy=False)
    return out


def _dump_port(port: SubgraphPort) -> dict[str, Any]:
    out = dict(port.extra)
    out.update(name=port.name, type=port.type if not isinstance(out.get("type"), list) else out["type"])
    if "linkIds" in out or port.link_ids:
        out["linkIds"] = list(port.link_ids)
    if port.label is not None:
        out["label"] = port.label
    return out
