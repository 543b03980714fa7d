"""The node editor's versions pane: "Save version" (name + note), the version history with author,
date, note and the scenes that use each version, and "Open" for any earlier version.

Every database call goes through `WorkflowVersionsService`; the coroutines here are awaited on the
qasync loop (the panel spawns them through its TaskRunner), so the main thread never blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.graph.repair import SourceFormat
from x121_desktop.ui.node_editor.io import WorkflowFile

if TYPE_CHECKING:
    from x121_desktop.services.node_editor import NodeEditorService
    from x121_desktop.services.node_editor_versions import SavedVersion, WorkflowVersionsService
    from x121_desktop.ui.node_editor.editor import NodeEditor

Spawn = Callable[[Coroutine[Any, Any, Any], str], object]


class VersionsPane(QWidget):
    """Versions of the workflow named in `name_field`, for the editor beside it."""

    saved = Signal(object)  # SavedVersion
    version_opened = Signal(int)  # version_no
    manifest_loaded = Signal(object)  # the opened version's manifest (dict)

    def __init__(
        self,
        editor: NodeEditor,
        versions: WorkflowVersionsService,
        editor_service: NodeEditorService,
        spawn: Spawn | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.editor, self.versions, self.editor_service, self._spawn = editor, versions, editor_service, spawn
        self.manifest_source: Callable[[], Mapping[str, Any] | None] = lambda: None
        """The manifest edited beside the graph; None keeps the latest version's manifest."""
        self.name_field = QLineEdit()
        self.name_field.setPlaceholderText("Workflow name in the library")
        self.note_field = QLineEdit()
        self.note_field.setPlaceholderText("Note for this version (what changed)")
        self.save_button = QPushButton("Save version")
        self.save_button.clicked.connect(lambda: self._run(self.save_version(), "save the workflow version"))
        self.open_button = QPushButton("Open version")
        self.open_button.clicked.connect(self._open_selected)
        self.history = QListWidget()
        self.history.setObjectName("workflowVersions")
        self.history.itemDoubleClicked.connect(lambda _item: self._open_selected())
        top = QHBoxLayout()
        top.addWidget(self.name_field, 1)
        top.addWidget(self.save_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.note_field)
        lay.addWidget(self.history, 1)
        lay.addWidget(self.open_button)

    def _run(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        if self._spawn is not None:
            self._spawn(coro, what)
        else:
            coro.close()

    async def save_version(self) -> SavedVersion:
        name = self.name_field.text().strip()
        info = self.editor_service.object_info
        note = self.note_field.text().strip()
        manifest = self.manifest_source()
        result = await self.versions.save_version(name, self.editor.document, info, note=note, manifest=manifest)
        self.editor.session.mark_saved()
        self.editor.message_posted.emit(result.sentence)
        self.note_field.clear()
        await self.refresh()
        self.saved.emit(result)
        return result

    async def refresh(self) -> None:
        name = self.name_field.text().strip()
        view = await self.versions.history(name)
        uses = await self.versions.scene_uses(name)
        self.history.clear()
        for v in reversed(view.versions):
            scenes = [f"{u.character_name} / {u.scene_name}" for u in uses if u.version_no == v.version_no]
            used = f" · used by {', '.join(scenes)}" if scenes else " · no scene uses it"
            when = v.created_at.strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"v{v.version_no} · {v.created_by} · {when} · {v.note or '(no note)'}{used}")
            item.setData(Qt.ItemDataRole.UserRole, v.version_no)
            item.setToolTip(f"content hash {v.content_hash}")
            self.history.addItem(item)

    def _open_selected(self) -> None:
        item = self.history.currentItem()
        if item is not None:
            self._run(self.open_version(int(item.data(Qt.ItemDataRole.UserRole))), "open the workflow version")

    async def open_version(self, version_no: int) -> None:
        name = self.name_field.text().strip()
        document = await self.versions.open_version(name, version_no, self.editor.catalog)
        manifest = await self.versions.manifest(name, version_no)
        self.editor.open_document(document, (), WorkflowFile(None, SourceFormat.UI))
        self.manifest_loaded.emit(dict(manifest))
        self.editor.message_posted.emit(f"Opened {name} version {version_no}; Save version stores edits as new.")
        self.version_opened.emit(version_no)
