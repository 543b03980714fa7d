"""Validation for the node editor's canvas: the open document checked against the chosen server's node list.

The document is converted with the bridge's converter and checked by `comfy.validate` (missing node
types, missing models and LoRAs, type mismatches, unconnected required inputs, ranges, cycles). Each
finding comes back as a frozen `CanvasFinding` that names the graph level (root or a subgraph) and the
node id there, so the editor can pin the sentence on the node itself. `submit` runs the check on the
cpu executor and returns a future: the editor validates live without blocking the main thread.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from x121_desktop.comfy.convert import ui_to_api
from x121_desktop.comfy.validate import Finding, Severity, validate_prompt
from x121_desktop.core.graph.bookkeeping import graph_of

if TYPE_CHECKING:
    from x121_desktop.comfy.object_info import ObjectInfo
    from x121_desktop.core.graph.model import WorkflowDocument
    from x121_desktop.services.node_editor import NodeEditorService
    from x121_desktop.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class CanvasFinding:
    """One reason pinned on a node: `scope` None is the root graph, else a subgraph id."""

    node_id: str
    scope: str | None
    level: str  # "error" or "warning"
    kind: str  # a comfy.validate FindingKind value
    text: str
    input_name: str | None = None


@dataclass(frozen=True, slots=True)
class CanvasReport:
    against: str
    """The node list used (`server NAME`, a file path); empty when none is loaded."""
    findings: tuple[CanvasFinding, ...] = ()
    general: tuple[str, ...] = ()
    """Findings that concern no single node (no output node, conversion notes)."""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.level == "error")

    def node_ids(self, scope: str | None = None) -> frozenset[str]:
        return frozenset(f.node_id for f in self.findings if f.scope == scope)


def _places(document: WorkflowDocument, api_id: str) -> list[tuple[str | None, str]]:
    """Where an API node id ("7", or "12:3" inside subgraph instance 12) lives on the canvases:
    the node itself and, for nested nodes, the instance node on each level above."""
    parts = api_id.split(":")
    places: list[tuple[str | None, str]] = []
    scope: str | None = None
    for depth, part in enumerate(parts):
        places.append((scope, part))
        if depth == len(parts) - 1:
            break
        graph = graph_of(document, scope)
        node = next((n for n in graph.nodes if str(n.id) == part), None)
        if node is None or node.type not in document.subgraphs:
            break
        scope = node.type
    return places


def _canvas_findings(document: WorkflowDocument, finding: Finding) -> list[CanvasFinding]:
    if finding.node_id is None:
        return []
    level = "warning" if finding.severity is Severity.WARNING else "error"
    return [
        CanvasFinding(node_id, scope, level, finding.kind.value, finding.message, finding.input_name)
        for scope, node_id in _places(document, finding.node_id)
    ]


def check_document(document: WorkflowDocument, info: ObjectInfo) -> CanvasReport:
    """All findings for `document` on the server `info` describes (runs in a worker thread)."""
    conversion = ui_to_api(document, info)
    findings: list[CanvasFinding] = []
    general: list[str] = list(conversion.notes)
    for finding in validate_prompt(conversion.prompt, info):
        placed = _canvas_findings(document, finding)
        if placed:
            findings.extend(placed)
        else:
            general.append(finding.message)
    return CanvasReport(info.source, tuple(findings), tuple(general))


class CanvasValidator:
    """Checks editor documents against the node list the editor service loaded last (server or file)."""

    def __init__(self, runtime: Runtime, editor_service: NodeEditorService) -> None:
        self._runtime, self._service = runtime, editor_service

    @property
    def ready(self) -> bool:
        return self._service.object_info is not None

    def submit(self, document: WorkflowDocument) -> Future[CanvasReport]:
        """Validate on the cpu executor; a document is immutable, so it can cross threads as it is."""
        info = self._service.object_info
        if info is None:
            done: Future[CanvasReport] = Future()
            done.set_result(CanvasReport(""))
            return done
        return self._runtime.cpu.submit(check_document, document, info)

    async def validate(self, document: WorkflowDocument) -> CanvasReport:
        info = self._service.object_info
        if info is None:
            return CanvasReport("")
        return await self._runtime.run(self._runtime.cpu, check_document, document, info)
