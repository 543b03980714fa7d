"""Put the scene workspace into a window: the central view shows opened scenes in it, and the scene,
segment and take actions get their handlers (operations.py), plus the ones that need the window:
New scene… (the navigator's characters), Export scene… (a file chooser), Compare with previous take
(the Review panel's compare grid) and Open segment workflow (the node editor's versions pane)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QFileDialog

from x121_desktop.core.errors import X121Error
from x121_desktop.services.assembly import AssemblyService
from x121_desktop.services.locks import LockService
from x121_desktop.services.scene_cancel import SceneCancelService
from x121_desktop.services.scene_workspace import SceneWorkspaceService
from x121_desktop.services.scenes import CreateSceneRequest, SceneService
from x121_desktop.services.seam_analysis import SeamAnalysisService
from x121_desktop.services.takes import TakeReviewService
from x121_desktop.ui.panels.notifications import Level
from x121_desktop.ui.scene.dialogs import NewSceneDialog
from x121_desktop.ui.scene.locking import SegmentLocks
from x121_desktop.ui.scene.operations import SceneOperations
from x121_desktop.ui.scene.workspace import SceneWorkspace

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.ui.main_window import MainWindow

NO_DISPATCHER = (
    "The scene's segments are queued: they render on a running dispatcher (start this window's from the "
    "status bar, or run `x121 worker` on a render box)."
)


class SceneWindowWiring(QObject):
    """What the workspace needs from the window; built by `install_scene_workspace`."""

    def __init__(self, window: MainWindow, studio: Studio) -> None:
        super().__init__(window)
        self.window = window
        self.service = SceneWorkspaceService(studio)
        self.workspace = SceneWorkspace(self.service, window.tasks)
        self.locks = SegmentLocks(LockService(studio.engine, studio.runtime), self.workspace)
        self.ops = SceneOperations(
            self.workspace, SceneService(studio), TakeReviewService(studio), AssemblyService(studio), self.locks,
            window.tasks, window.notifier, SceneCancelService(studio), SeamAnalysisService(studio),
        )  # fmt: skip
        self.new_scene: NewSceneDialog | None = None
        self.export_dialog: QFileDialog | None = None
        self._hinted = False
        window.overview.attach(self.workspace)
        self.ops.has_project = self._has_project
        self.ops.can_compare = lambda: self._review_tools() is not None
        self.ops.can_open_workflow = lambda: self._versions_pane() is not None
        self.ops.dispatcher_hint = self._dispatcher_hint
        self.ops.attach(window.qactions)
        self.ops.handle("scene.new", self.ask_new_scene)
        self.ops.handle("scene.export", self.ask_export)
        self.ops.handle("take.compare_previous", self.compare_previous)
        self.ops.handle("segment.open_workflow", self.open_workflow)
        self.locks.lost.connect(lambda sentence: window.notifier.post(Level.WARNING, sentence))
        if window.navigator is not None:
            window.navigator.tree_loaded.connect(self.ops.update_enabled)
        window.started.connect(lambda: window.tasks.spawn(self._learn_role(), what="read your studio role"))
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Closing the window gives back the segment locks taken here (the window saves its layout meanwhile)."""
        if watched is self.window and event.type() == QEvent.Type.Close and self.locks.held():
            self.window.tasks.spawn(self.locks.release_all(), what="release your segment locks")
        return False

    async def _learn_role(self) -> None:
        self.ops.is_creator = await self.service.am_creator()
        self.ops.update_enabled()

    async def stop(self) -> None:
        """Stop listening and give back the segment locks taken here (window close, tests)."""
        self.workspace.stop()
        await self.locks.release_all()

    # ------------------------------------------------------------ context

    def _has_project(self) -> bool:
        nav = self.window.navigator
        return nav is not None and nav.data is not None and bool(nav.data.projects)

    def _dispatcher_hint(self) -> str | None:
        dispatcher = self.window.services.dispatcher
        if self._hinted or (dispatcher is not None and dispatcher.running):
            return None
        self._hinted = True
        return NO_DISPATCHER

    def _review_tools(self) -> object | None:
        from x121_desktop.ui.review.panel import ReviewPanel
        from x121_desktop.ui.review.tools import ReviewTools

        panel = self.window.panel("review", ReviewPanel)
        tools = getattr(panel, "tools", None) if panel is not None else None
        return tools if isinstance(tools, ReviewTools) else None

    def _versions_pane(self) -> object | None:
        from x121_desktop.ui.node_editor.panel import NodeEditorPanel

        panel = self.window.panel("node_editor", NodeEditorPanel)
        return panel.versions if panel is not None else None

    # ------------------------------------------------------------ window-level actions

    def ask_new_scene(self) -> None:
        self.window.tasks.spawn(self._open_new_scene(), what="open the new scene dialog")

    async def _open_new_scene(self) -> NewSceneDialog:
        nav = self.window.navigator
        pairs = [(c.name, p.name) for p in (nav.data.projects if nav and nav.data else ()) for c in p.characters]
        rates: dict[tuple[str, str], Fraction] = {}
        for character, project in pairs:
            rates[(character, project)] = await self.service.project_rate(character, project)
        dialog = NewSceneDialog(pairs, await self.service.workflows(), rates, self.window)
        dialog.submitted.connect(lambda request: self.window.tasks.spawn(self.create(dialog, request),
                                                                         what="create the scene"))  # fmt: skip
        dialog.finished.connect(lambda _result: self._closed(dialog))
        self.new_scene = dialog
        dialog.open()
        return dialog

    def _closed(self, dialog: NewSceneDialog) -> None:
        if self.new_scene is dialog:
            self.new_scene = None
        dialog.deleteLater()

    async def create(self, dialog: NewSceneDialog, request: CreateSceneRequest) -> int | None:
        """Create the scene; a refusal stays in the dialog as the service's sentence."""
        try:
            view = await self.ops.scenes.create(request)
        except X121Error as exc:
            dialog.show_error(exc.sentence)
            return None
        dialog.accept()
        for note in view.notes:
            self.window.notifier.post(Level.INFO, note)
        self.window.notifier.post(Level.SUCCESS, f"Scene {view.scene.ref} planned: {len(view.segments)} segments.")
        nav = self.window.navigator
        if nav is not None:
            nav.show_tree(await self.window.services.navigator.tree())  # the new scene must be in it to open
        self.window.open_scene(view.scene.id)
        return int(view.scene.id)

    def ask_export(self) -> None:
        ws = self.workspace.workspace
        if ws is None:
            return
        name = f"{ws.view.scene.character}-{ws.view.scene.name}.mp4"
        dialog = QFileDialog(self.window, "Export scene", str(Path.home() / name), "Video (*.mp4)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("mp4")
        scene_id = ws.scene_id
        dialog.fileSelected.connect(lambda path: self.ops.export(scene_id, Path(path)))
        dialog.finished.connect(dialog.deleteLater)
        self.export_dialog = dialog
        dialog.open()

    def compare_previous(self) -> None:
        take_id = self.workspace.selected_take()
        ws = self.workspace.workspace
        node = ws.take(take_id) if ws is not None and take_id is not None else None
        if node is None or node.take.parent_take_id is None:
            return
        self.window.tasks.spawn(self._compare(int(node.take.parent_take_id), take_id or 0),
                                what="compare the take with its parent")  # fmt: skip

    async def _compare(self, parent: int, take: int) -> list[Path]:
        from x121_desktop.ui.review.tools import ReviewTools

        tools = self._review_tools()
        if not isinstance(tools, ReviewTools):
            return []
        videos = await self.service.take_videos([parent, take])
        missing = [t for t in (parent, take) if t not in videos]
        if missing:
            raise X121Error(f"Take {missing[0]} has no rendered video to compare", "Pick takes that finished")
        paths = [videos[parent], videos[take]]
        self.window.show_panel("review")
        tools.compare.set_layout(1, 2)
        tools.compare.show(paths)
        return paths

    def open_workflow(self) -> None:
        self.window.tasks.spawn(self._open_workflow(), what="open the scene's workflow in the node editor")

    async def _open_workflow(self) -> tuple[str, int] | None:
        from x121_desktop.ui.node_editor.versions import VersionsPane

        pane, ws = self._versions_pane(), self.workspace.workspace
        if not isinstance(pane, VersionsPane) or ws is None:
            return None
        scene = ws.view.scene
        self.window.show_panel("node_editor")
        pane.name_field.setText(scene.workflow)
        await pane.refresh()
        await pane.open_version(scene.workflow_version)
        return scene.workflow, scene.workflow_version


def install_scene_workspace(window: MainWindow, studio: Studio) -> SceneWindowWiring:
    wiring = SceneWindowWiring(window, studio)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(wiring.workspace.stop)
    return wiring
