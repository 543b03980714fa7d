"""Shared support for the workflow tests (no tests here): the recorded /object_info and UI-document builders."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from x121_desktop.comfy.object_info import ObjectInfo

REPO = Path(__file__).resolve().parents[2]
SHARED_COMFY = REPO.parent / "shared" / "comfyui"
OBJECT_INFO_PATH = SHARED_COMFY / "object_info.json"
WORKFLOWS = REPO / "workflows"


@lru_cache(maxsize=1)
def recorded_info() -> ObjectInfo:
    return ObjectInfo.from_file(OBJECT_INFO_PATH)


def templates_dir() -> Path:
    return Path(str(resources.files("comfyui_workflow_templates_json") / "templates"))


def node(
    node_id: int,
    node_type: str,
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    widgets: Any = None,
    mode: int = 0,
    title: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": node_id,
        "type": node_type,
        "mode": mode,
        "inputs": inputs or [],
        "outputs": outputs or [],
        "properties": {},
    }
    if widgets is not None:
        out["widgets_values"] = widgets
    if title is not None:
        out["title"] = title
    return out


def sock(name: str, type_: str, link: int | None = None, widget: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": type_, "link": link}
    if widget:
        out["widget"] = {"name": name}
    return out


def out(name: str, type_: str, links: list[int] | None = None) -> dict[str, Any]:
    return {"name": name, "type": type_, "links": links}


def doc(nodes: list[dict[str, Any]], links: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"nodes": nodes, "links": links, "groups": [], "version": 0.4, **extra}
