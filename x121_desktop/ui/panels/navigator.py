"""The navigator: projects → characters → scenes, filterable, keyboard-first. Emits ids, never rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from x121_desktop.core.ids import CharacterId, ProjectId, SceneId
from x121_desktop.services.navigator import NavigatorTree
from x121_desktop.ui.concurrency import TaskRunner

KIND_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1
PROJECT, CHARACTER, SCENE = "project", "character", "scene"


class NavigatorPanel(QWidget):
    project_activated = Signal(int)
    character_activated = Signal(int)
    scene_activated = Signal(int)
    tree_loaded = Signal()

    def __init__(
        self, load: Callable[[], Awaitable[NavigatorTree]], tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("NavigatorPanel")
        self._load = load
        self._tasks = tasks
        self.data: NavigatorTree | None = None
        self.filter = QLineEdit(self)
        self.filter.setObjectName("NavigatorFilter")
        self.filter.setPlaceholderText("Filter projects, characters, scenes")
        self.filter.setClearButtonEnabled(True)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("NavigatorTree")
        self.tree.setHeaderLabels(["Name", "Status"])
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        if header is not None:
            header.setStretchLastSection(False)
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.hint = QLabel("Loading…", self)
        self.hint.setProperty("role", "muted")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.hint)
        self.filter.textChanged.connect(self._apply_filter)
        self.tree.itemActivated.connect(self._activated)

    def refresh(self) -> None:
        self._tasks.spawn(self._reload(), what="load the project list")

    async def _reload(self) -> None:
        self.show_tree(await self._load())

    def show_tree(self, data: NavigatorTree) -> None:
        self.data = data
        self.tree.clear()
        for project in data.projects:
            p = self._item(None, project.name, project.status.label, PROJECT, project.id)
            for character in project.characters:
                c = self._item(p, character.name, f"{len(character.scenes)} scenes", CHARACTER, character.id)
                for scene in character.scenes:
                    self._item(c, scene.name, f"{scene.status.label} · {scene.segment_count} seg", SCENE, scene.id)
        self.tree.expandToDepth(0)
        projects, characters, scenes = data.counts
        self.hint.setText(
            "No projects yet."
            if not projects
            else f"{_count(projects, 'project')} · {_count(characters, 'character')} · {_count(scenes, 'scene')}"
        )
        self._apply_filter(self.filter.text())
        self.tree_loaded.emit()

    def _item(self, parent: QTreeWidgetItem | None, name: str, status: str, kind: str, ident: int) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, status])
        item.setData(0, KIND_ROLE, kind)
        item.setData(0, ID_ROLE, int(ident))
        item.setToolTip(0, f"{kind} {name}")
        if parent is None:
            self.tree.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()

        def visit(item: QTreeWidgetItem | None) -> bool:
            if item is None:
                return False
            children = [visit(item.child(i)) for i in range(item.childCount())]
            shown = not needle or needle in item.text(0).lower() or any(children)
            item.setHidden(not shown)
            if needle and any(children):
                item.setExpanded(True)
            return shown

        for i in range(self.tree.topLevelItemCount()):
            visit(self.tree.topLevelItem(i))

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        kind, ident = item.data(0, KIND_ROLE), int(item.data(0, ID_ROLE))
        if kind == SCENE:
            self.scene_activated.emit(SceneId(ident))
        elif kind == CHARACTER:
            self.character_activated.emit(CharacterId(ident))
        else:
            self.project_activated.emit(ProjectId(ident))

    def select_scene(self, scene_id: SceneId) -> bool:
        for item in self._all_items():
            if item.data(0, KIND_ROLE) == SCENE and item.data(0, ID_ROLE) == scene_id:
                self.tree.setCurrentItem(item)
                return True
        return False

    def focus_project(self, project_id: ProjectId) -> bool:
        """Open one project in the tree: it expanded and selected, the others collapsed."""
        found = False
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is None:
                continue
            mine = item.data(0, KIND_ROLE) == PROJECT and item.data(0, ID_ROLE) == project_id
            item.setExpanded(mine)
            if mine:
                self.filter.clear()
                self.tree.setCurrentItem(item)
                self.tree.scrollToItem(item)
                self.tree.setFocus()
                found = True
        return found

    def _all_items(self) -> list[QTreeWidgetItem]:
        out: list[QTreeWidgetItem] = []

        def walk(item: QTreeWidgetItem | None) -> None:
            if item is None:
                return
            out.append(item)
            for i in range(item.childCount()):
                walk(item.child(i))

        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i))
        return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
