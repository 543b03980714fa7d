"""Documents with native reroutes, shaped as ComfyUI's frontend saves them, built on real templates.

The shape follows the frontend's own serialisation (LGraph.serialize / asSerialisable, Reroute
.asSerialisable) and the native-reroute RFC's examples:
- schema 0.4: `extra.reroutes` = `[{id, parentId?, pos, linkIds}]` and `extra.linkExtensions` =
  `[{id: link id, parentId: reroute id}]` for every rerouted link, in link order;
- schema 1 and subgraph definitions: `reroutes` beside `links`, each link object with its `parentId`;
- `floatingLinks` beside `links` (object links whose loose end is -1), the last reroute of their
  chain marked `floating: {slotType}`.
`linkIds` are written here by construction (sorted, as the frontend does), not by the code under test.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

BASE = "ltxv_image_to_video"  # 15 nodes, 19 array links, schema 0.4, no subgraphs
WITH_SUBGRAPH = "video_wan2_2_14B_i2v"  # its image-to-video subgraph gets a rerouted link too

# reroute id: (parent id, [x, y], link ids through it)
ROOT_REROUTES: dict[int, tuple[int | None, list[float], list[int]]] = {
    1: (None, [397.5, 240.0], [74, 75]),  # CLIP of the CLIPLoader: one shared dot, then one per encoder
    2: (1, [380.0, 150.25], [74]),
    3: (1, [380.0, 360.0], [75]),
    4: (None, [395.0, 470.0], [87, 189]),  # VAE: shared by the decoder's and the img-to-video's wire
    5: (4, [900.0, 700.0], [87]),
    6: (None, [395.0, 600.0], []),  # a floating reroute: the loose end of a MASK wire
}
LINK_PARENTS = {74: 2, 75: 3, 87: 5, 189: 4}
FLOATING_LINK = {
    "id": 193,
    "origin_id": 78,
    "origin_slot": 1,
    "target_id": -1,
    "target_slot": -1,
    "type": "MASK",
    "parentId": 6,
}


def template(template_id: str = BASE) -> dict[str, Any]:
    """A template of the installed comfyui-workflow-templates package, parsed."""
    root = Path(str(resources.files("comfyui_workflow_templates_json") / "templates"))
    raw: dict[str, Any] = json.loads((root / f"{template_id}.json").read_text("utf-8"))
    return raw


def _reroute_list() -> list[dict[str, Any]]:
    out = []
    for rid, (parent, pos, link_ids) in ROOT_REROUTES.items():
        item: dict[str, Any] = {"id": rid}
        if parent is not None:
            item["parentId"] = parent
        item.update(pos=list(pos), linkIds=sorted(link_ids))
        if rid == 6:
            item["floating"] = {"slotType": "output"}
        out.append(item)
    return out


def rerouted_04() -> dict[str, Any]:
    """The base template as the frontend saves it in schema 0.4 after adding native reroutes."""
    raw = template()
    raw["extra"] = {
        **raw["extra"],
        "reroutes": _reroute_list(),
        "linkExtensions": [
            {"id": lk[0], "parentId": LINK_PARENTS[lk[0]]} for lk in raw["links"] if lk[0] in LINK_PARENTS
        ],
    }
    raw["floatingLinks"] = [dict(FLOATING_LINK)]
    return raw


def rerouted_v1() -> dict[str, Any]:
    """The same workflow in schema 1: link objects with `parentId`, `reroutes` at the top level."""
    raw = template()
    links = []
    for lk_id, origin, oslot, target, tslot, kind in raw["links"]:
        link: dict[str, Any] = {
            "id": lk_id,
            "origin_id": origin,
            "origin_slot": oslot,
            "target_id": target,
            "target_slot": tslot,
            "type": kind,
        }
        if lk_id in LINK_PARENTS:
            link["parentId"] = LINK_PARENTS[lk_id]
        links.append(link)
    raw["links"] = links
    raw["version"] = 1
    raw["state"] = {"lastGroupId": 0, "lastNodeId": raw.pop("last_node_id"), "lastLinkId": 193, "lastRerouteId": 6}
    raw.pop("last_link_id")
    raw["reroutes"] = _reroute_list()
    raw["floatingLinks"] = [dict(FLOATING_LINK)]
    return raw


def rerouted_subgraph() -> dict[str, Any]:
    """A template whose subgraph definition has a rerouted link (schema-1 shape inside `definitions`)."""
    raw = template(WITH_SUBGRAPH)
    sub = raw["definitions"]["subgraphs"][0]
    link = next(lk for lk in sub["links"] if lk["id"] == 196)  # 96 (-10, 20) -> 102 (1020, 360)
    link["parentId"] = 2
    sub["reroutes"] = [
        {"id": 1, "pos": [300.0, 200.0], "linkIds": [196]},
        {"id": 2, "parentId": 1, "pos": [700.0, 330.0], "linkIds": [196]},
    ]
    sub["state"] = {**sub["state"], "lastRerouteId": 2}
    return raw


def without_reroutes(raw: dict[str, Any]) -> dict[str, Any]:
    """The same document with every native reroute taken out (what the links mean is unchanged)."""
    out = copy.deepcopy(raw)
    for graph in [out, *(out.get("definitions") or {}).get("subgraphs", [])]:
        graph.pop("reroutes", None)
        graph.pop("floatingLinks", None)
        if isinstance(graph.get("extra"), dict):
            graph["extra"].pop("reroutes", None)
            graph["extra"].pop("linkExtensions", None)
        for lk in graph["links"]:
            if isinstance(lk, dict):
                lk.pop("parentId", None)
    return out
