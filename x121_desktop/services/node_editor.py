"""What the node editor needs from outside `ui`: the node catalogue and the API conversion.

The catalogue comes from a registered server's `/object_info` (fetched on the io executor and kept
in `<cache>/object_info/<server>.json`, so the editor works offline with the last copy) or from a
saved file. `api_prompt` converts a document exactly as the bridge's converter does.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.convert import ui_to_api
from x121_desktop.comfy.object_info import InputSpec, NodeSpec, ObjectInfo
from x121_desktop.core.errors import NotFound, X121Error
from x121_desktop.core.graph.catalog import NodeCatalog, NodeType, SocketSpec, WidgetKind, WidgetSpec
from x121_desktop.core.graph.model import WorkflowDocument
from x121_desktop.db.repositories import workflows as repo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.services.runtime import Runtime


def _widget_kind(inp: InputSpec) -> WidgetKind:
    if inp.is_combo:
        return WidgetKind.UPLOAD if inp.upload_option else WidgetKind.COMBO
    if inp.type == "INT":
        return WidgetKind.INT
    if inp.type == "FLOAT":
        return WidgetKind.FLOAT
    if inp.type == "BOOLEAN":
        return WidgetKind.TOGGLE
    return WidgetKind.MULTILINE if inp.options.get("multiline") else WidgetKind.STRING


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def node_type(spec: NodeSpec) -> NodeType:
    widgets = tuple(
        WidgetSpec(
            name=i.name,
            kind=_widget_kind(i),
            default=i.default,
            minimum=i.minimum,
            maximum=i.maximum,
            step=_number(i.options.get("step")),
            choices=tuple(i.choices or ()),
            control_after_generate=i.has_control_after_generate,
            upload=i.upload_option,
            type=i.type,
        )
        for i in spec.widget_inputs
    )
    widget_names = {w.name for w in widgets}
    sockets = tuple(
        SocketSpec(i.name, i.type, optional=not i.required)
        for i in spec.inputs
        if i.name not in widget_names and i.section.value != "hidden"
    )
    outputs = tuple(SocketSpec(o.name, o.type) for o in spec.outputs)
    return NodeType(
        name=spec.name,
        display_name=spec.display_name,
        category=spec.category,
        inputs=sockets,
        widgets=widgets,
        outputs=outputs,
        output_node=spec.output_node,
        deprecated=spec.deprecated,
    )


def catalog_from_object_info(info: ObjectInfo) -> NodeCatalog:
    return NodeCatalog({name: node_type(spec) for name, spec in info.nodes.items()}, source=info.source)


class NodeEditorService:
    """Catalogue loading and conversion for the editor; the last loaded /object_info is kept for `api_prompt`."""

    def __init__(
        self,
        runtime: Runtime,
        sessions: sessionmaker[Session] | None,
        cache_dir: Path,
        client: Callable[[str], ComfyClient] = ComfyClient,
    ) -> None:
        self._runtime, self._sessions, self._cache = runtime, sessions, cache_dir / "object_info"
        self._client = client
        self._info: ObjectInfo | None = None

    @classmethod
    def from_studio(cls, studio: Studio) -> NodeEditorService:
        return cls(studio.runtime, studio.sessions, studio.paths.cache_dir)

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    @property
    def object_info(self) -> ObjectInfo | None:
        return self._info

    async def catalog_from_file(self, path: Path) -> NodeCatalog:
        info = await self._runtime.run(self._runtime.io, ObjectInfo.from_file, path)
        return self._keep(info)

    async def base_url(self, server: str) -> str:
        """The address of a registered server (`x121 server add`)."""
        if self._sessions is None:
            raise NotFound("No database is open to look the server up in", "Open the studio database first.")
        sessions = self._sessions

        def lookup() -> str | None:
            with sessions() as s:
                return repo.server_base_url(s, server)

        base_url = await self._runtime.run(self._runtime.db_read, lookup)
        if base_url is None:
            raise NotFound(f"There is no ComfyUI server named {server!r}", "Add it with `x121 server add`.")
        return base_url

    async def catalog_from_server(self, server: str) -> NodeCatalog:
        """Fetch a registered server's node list; when it cannot be reached, use the cached copy."""
        base_url = await self.base_url(server)
        cached = self._cache / f"{_safe(server)}.json"

        def fetch() -> ObjectInfo:
            try:
                raw = self._client(base_url).object_info()
            except X121Error:
                if cached.is_file():
                    return ObjectInfo.from_file(cached)
                raise
            _write_atomic(cached, raw)
            return ObjectInfo.from_dict(raw, source=f"server {server}")

        return self._keep(await self._runtime.run(self._runtime.io, fetch))

    def cached_servers(self) -> list[Path]:
        """Cached node lists from earlier fetches, newest first (for offline work)."""
        if not self._cache.is_dir():
            return []
        return sorted(self._cache.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)

    def api_prompt(self, document: WorkflowDocument) -> dict[str, dict[str, Any]]:
        """The API JSON the bridge's converter makes from `document` (needs a loaded node list)."""
        if self._info is None:
            raise NotFound("No node list is loaded to convert with", "Load /object_info from a server or a file.")
        return ui_to_api(document, self._info).prompt

    def _keep(self, info: ObjectInfo) -> NodeCatalog:
        self._info = info
        return catalog_from_object_info(info)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "server"


def _write_atomic(path: Path, raw: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(raw, out)
    os.replace(tmp, path)
