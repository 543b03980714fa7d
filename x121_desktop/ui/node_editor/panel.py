"""The node editor as a studio panel: file and node-list commands around a `NodeEditor`.

Registered in the window's panel registry by `node_editor_panel_spec` (one line in ui/app.py). The
node list comes from a registered server (fetched, cached for offline work) or a saved
/object_info file; at start the newest cached copy is used, so the editor works offline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.graph.catalog import NodeCatalog
from x121_desktop.services.node_editor import NodeEditorService
from x121_desktop.services.node_editor_runs import RunEnded, TestRunService
from x121_desktop.services.node_editor_validation import CanvasValidator
from x121_desktop.ui.node_editor.editor import NodeEditor
from x121_desktop.ui.node_editor.mapping import ParameterForm, ParameterMapping
from x121_desktop.ui.node_editor.telemetry import RunPreview, RunTelemetry
from x121_desktop.ui.node_editor.validation import LiveValidation
from x121_desktop.ui.node_editor.versions import VersionsPane

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.services.node_editor_jobs import EditorRunJobs
    from x121_desktop.services.node_editor_timings import NodeTimingsService
    from x121_desktop.services.node_editor_versions import WorkflowVersionsService
    from x121_desktop.ui.concurrency import TaskRunner
    from x121_desktop.ui.docks import PanelContext, PanelSpec

FILTER = "ComfyUI workflows (*.json);;All files (*)"


class NodeEditorPanel(QWidget):
    def __init__(
        self,
        service: NodeEditorService,
        tasks: TaskRunner | None = None,
        parent: QWidget | None = None,
        versions: WorkflowVersionsService | None = None,
        timings: NodeTimingsService | None = None,
        run_jobs: EditorRunJobs | None = None,
    ) -> None:
        super().__init__(parent)
        self.service, self.tasks = service, tasks
        self.editor = NodeEditor()
        self.versions: VersionsPane | None = None
        self.timings = timings
        self.telemetry = RunTelemetry(self.editor, TestRunService(service.runtime, service, jobs=run_jobs))
        self.mapping = ParameterMapping(self.editor, service)
        self.form = ParameterForm(self.mapping)
        self.side = QTabWidget()
        self.side.addTab(self.form, "Parameters")
        self.preview = RunPreview(self.telemetry)
        self.side.addTab(self.preview, "Run preview")
        if versions is not None:
            self.versions = VersionsPane(self.editor, versions, service, self._spawn)
            self.versions.manifest_source = lambda: self.mapping.manifest if self.mapping.edited else None
            self.versions.manifest_loaded.connect(self.mapping.set_manifest)
            self.side.addTab(self.versions, "Versions")
        bar = QToolBar()
        bar.setObjectName("nodeEditorToolbar")
        bar.addAction("Open…", self.open_file)
        bar.addAction("Save", self.editor.save)
        bar.addAction("Save As…", self.save_file_as)
        bar.addSeparator()
        bar.addAction("Node list from server…", self.load_from_server)
        bar.addAction("Node list from file…", self.load_from_file)
        bar.addSeparator()
        bar.addAction("Run on server…", self.run_on_server)
        bar.addAction("Stop run", self.telemetry.cancel)
        bar.addSeparator()
        self.validity = QLabel()
        self.validity.setObjectName("muted")
        bar.addWidget(self.validity)
        self.validation = LiveValidation(self.editor, CanvasValidator(service.runtime, service))
        self.validation.validated.connect(lambda _r: self.validity.setText(self.validation.summary))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(bar)
        split = QSplitter()
        split.addWidget(self.editor)
        split.addWidget(self.side)
        split.setStretchFactor(0, 4)
        lay.addWidget(split, 1)
        cached = service.cached_servers()
        if cached and tasks is not None:
            tasks.spawn(self._load_file(cached[0]), what="load the cached node list")

    def _spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        if self.tasks is not None:
            self.tasks.spawn(coro, what=what)
        else:
            coro.close()

    def open_file(self) -> None:
        if self.editor.modified and not self._discard_ok():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open workflow", "", FILTER)
        if path:
            self.editor.open_path(Path(path))

    def save_file_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save workflow as", "", FILTER)
        if path:
            self.editor.save_as(Path(path))

    def _discard_ok(self) -> bool:
        answer = QMessageBox.question(
            self, "Unsaved changes", "This workflow has changes that are not saved. Discard them?"
        )
        return answer == QMessageBox.StandardButton.Yes

    def load_from_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load /object_info", "", FILTER)
        if path and self.tasks is not None:
            self.tasks.spawn(self._load_file(Path(path)), what="load the node list")

    def load_from_server(self) -> None:
        name, ok = QInputDialog.getText(self, "Node list from server", "Registered server name:")
        if ok and name.strip() and self.tasks is not None:
            self.tasks.spawn(self._load_server(name.strip()), what=f"fetch the node list of {name.strip()}")

    def run_on_server(self) -> None:
        name, ok = QInputDialog.getText(self, "Test run", "Run this workflow now on server (registered name):")
        if ok and name.strip():
            self._spawn(self._run_on(name.strip()), f"run the workflow on {name.strip()}")

    async def _run_on(self, name: str) -> RunEnded:
        base_url = await self.service.base_url(name)
        ended = await asyncio.wrap_future(self.telemetry.start(base_url, await self._averages(), server=name))
        if ended.job_id is not None:  # recorded: its node times are part of the history now
            self.telemetry.show_averages(await self._averages())
        job = f" (job {ended.job_id})" if ended.job_id is not None else ""
        outcome = "finished" if ended.ok else "failed"
        self.editor.message_posted.emit(
            f"Test run on {name} {outcome}{job}." + ("" if ended.ok else " See the marked node.")
        )
        return ended

    async def _averages(self) -> Mapping[str, float]:
        if self.timings is None:
            return {}
        return await self.timings.averages(n.type for _, g in self.editor.document.all_graphs() for n in g.nodes)

    async def _load_file(self, path: Path) -> None:
        self._use(await self.service.catalog_from_file(path))

    async def _load_server(self, name: str) -> None:
        self._use(await self.service.catalog_from_server(name))

    def _use(self, catalog: NodeCatalog) -> None:
        self.editor.set_catalog(catalog)
        self.editor.message_posted.emit(f"{len(catalog)} node types from {catalog.source}.")


def node_editor_panel_spec(studio: Studio) -> PanelSpec:
    """The node editor as a dock tabbed with the library (bottom); graph.* keys live inside it."""
    from x121_desktop.services.node_editor_jobs import EditorRunJobs
    from x121_desktop.services.node_editor_timings import NodeTimingsService
    from x121_desktop.services.node_editor_versions import WorkflowVersionsService
    from x121_desktop.services.storage import MediaStore
    from x121_desktop.services.workflows import WorkflowService
    from x121_desktop.ui.docks import PanelSpec
    from x121_desktop.ui.main_window import MainWindow

    def make(context: PanelContext) -> QWidget:
        service = NodeEditorService.from_studio(studio)
        workflows = WorkflowService(studio.sessions, studio.runtime)
        versions = WorkflowVersionsService(studio.sessions, studio.runtime, workflows)
        timings = NodeTimingsService(studio.sessions, studio.runtime)
        run_jobs = EditorRunJobs(studio.engine, studio.runtime, MediaStore(studio.paths.media_root))
        panel = NodeEditorPanel(service, context.tasks, versions=versions, timings=timings, run_jobs=run_jobs)
        panel.editor.message_posted.connect(context.notifier.post_error)
        window = context.window
        if isinstance(window, MainWindow):
            panel.editor.bind_actions(window.qactions, window.registry)
        return panel

    area = Qt.DockWidgetArea.BottomDockWidgetArea
    return PanelSpec("node_editor", "Node editor", area, make, tab_with="library")
