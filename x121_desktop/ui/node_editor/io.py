"""Reading and writing workflow files for the editor.

Files are written only when a person asks (Save / Save As); writes are atomic (a temporary file in
the same folder, then a rename), so a crash never leaves half a workflow. An API-format file is
never overwritten with UI format by a plain Save: the editor asks for a new name instead.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.catalog import NodeCatalog
from x121_desktop.core.graph.document import dump_document
from x121_desktop.core.graph.model import WorkflowDocument
from x121_desktop.core.graph.repair import OpenedWorkflow, SourceFormat, open_workflow_json


@dataclass(frozen=True)
class WorkflowFile:
    """Where the open document came from, and whether a plain Save may write there."""

    path: Path | None
    format: SourceFormat = SourceFormat.UI

    @property
    def can_save_in_place(self) -> bool:
        return self.path is not None and self.format is SourceFormat.UI


def read_workflow(path: Path, catalog: NodeCatalog) -> OpenedWorkflow:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}", "Check the path and permissions.") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            "Fix the file or save the workflow from ComfyUI again.",
        ) from exc
    return open_workflow_json(raw, str(path), catalog)


def write_workflow(path: Path, document: WorkflowDocument) -> None:
    """Write the UI-format JSON ComfyUI's editor opens, atomically."""
    text = json.dumps(dump_document(document), indent=2, ensure_ascii=False)
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InvalidInput(
            f"Cannot write into {folder}: {exc.strerror or exc}", "Choose a folder you can write to."
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InvalidInput(
            f"Cannot save {path}: {exc.strerror or exc}", "Check the disk space and permissions."
        ) from exc
