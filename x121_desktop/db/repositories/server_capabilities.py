"""What each ComfyUI server can run, as stored in `server_capabilities`. Plain functions; never commits.

`x121 server check` and a dispatcher that saw a server restart write them (`store`); dispatchers
read them (`load`) to place jobs without fetching /object_info. Node types have folder ''; model
files are (folder, name) as `comfy.needs` files them (real models/ folders, and the pseudo-folder
`<ClassType>.<input>` of a custom loader's model combo).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import CapabilityKind
from x121_desktop.core.orchestration.placement import ModelRef

Capabilities = tuple[frozenset[str], frozenset[ModelRef]]
"""(node class types, model files)."""


def load(conn: Connection, server_ids: Collection[int]) -> dict[int, Capabilities]:
    """Stored capabilities of those servers that have any (a server never checked is absent)."""
    rows = conn.execute(
        text("SELECT server_id, capability_kind_id, folder, name FROM server_capabilities WHERE server_id = ANY(:ids)"),
        {"ids": sorted(int(i) for i in server_ids)},
    ).all()
    nodes: dict[int, set[str]] = {}
    models: dict[int, set[ModelRef]] = {}
    for server_id, kind, folder, name in rows:
        nodes.setdefault(int(server_id), set())
        models.setdefault(int(server_id), set())
        if kind == CapabilityKind.NODE_TYPE:
            nodes[int(server_id)].add(str(name))
        else:
            models[int(server_id)].add(ModelRef(str(folder), str(name)))
    return {s: (frozenset(nodes[s]), frozenset(models[s])) for s in nodes}


def store(
    conn: Connection,
    server_id: int,
    node_types: Iterable[str],
    models: Iterable[ModelRef],
    object_info_hash: str | None = None,
) -> None:
    """Replace a server's capabilities (and, when given, remember the hash of the /object_info they came from)."""
    conn.execute(text("DELETE FROM server_capabilities WHERE server_id = :s"), {"s": server_id})
    rows = [
        {"s": server_id, "k": int(CapabilityKind.NODE_TYPE), "f": "", "n": node} for node in sorted(set(node_types))
    ]
    rows += [{"s": server_id, "k": int(CapabilityKind.MODEL), "f": m.folder, "n": m.name} for m in sorted(set(models))]
    if rows:
        conn.execute(
            text(
                "INSERT INTO server_capabilities (server_id, capability_kind_id, folder, name) VALUES (:s, :k, :f, :n)"
            ),
            rows,
        )
    if object_info_hash is not None:
        conn.execute(
            text("UPDATE comfy_servers SET object_info_hash = :h WHERE id = :s"),
            {"h": object_info_hash, "s": server_id},
        )
