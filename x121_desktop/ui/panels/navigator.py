"""The navigator: projects → characters → scenes, filterable, keyboard-first. Emits ids, never rows.

It follows the database: once the window has started (`follow`), a LISTEN thread on `x121_scenes`
(services/navigator.py) reports every committed change to what it shows, from any workstation or the
CLI; the first notice starts a re-read within `REFRESH_DELAY_MS` and later ones join it (a burst is one
read; a steady stream cannot postpone it), one read at a time. No polling. A re-read keeps what the
person had open, selected and scrolled to. The window's shutdown stops the thread and the timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHeaderView, QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from x121_desktop.core.ids import CharacterId, ProjectId, SceneId
from x121_desktop.services.navigator import CharacterNode, NavigatorTree, SceneNode, TreeChanged
from x121_desktop.ui.concurrency import TaskRunner

if TYPE_CHECKING:
    from x121_desktop.db.notify import ListenerHandle
    from x121_desktop.ui.docks import PanelContext

KIND_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1
PROJECT, CHARACTER, SCENE = "project", "character", "scene"
REFRESH_DELAY_MS = 300
"""How soon after the first change notice the tree is read again."""

Listen = Callable[[Callable[[TreeChanged], None]], "ListenerHandle"]


def scene_status(scene: SceneNode) -> str:
    """'In progress · 3 seg · 1 cancelled': the scene's status, segment count and what waits for a person."""
    waiting = "".join(f" · {n} {status.label.lower()}" for status, n in scene.attention)
    return f"{scene.status.label} · {scene.segment_count} seg{waiting}"


def character_status(character: CharacterNode) -> str:
    """'A 3 · B 1 · generating B · 2 scenes': its seeds of each kind, the seeds a job is making, its scenes
    (most telling first: a narrow column elides the end; the tooltip has it all)."""
    making = " and ".join(kind.name for kind in character.generating)
    generating = f" · generating {making}" if making else ""
    return f"A {character.seeds_a} · B {character.seeds_b}{generating} · {_count(len(character.scenes), 'scene')}"


class NavigatorPanel(QWidget):
    project_activated = Signal(int)
    character_activated = Signal(int)
    scene_activated = Signal(int)
    tree_loaded = Signal()
    changed_remotely = Signal(object)
    """A TreeChanged from the listener thread (queued to this one)."""

    def __init__(
        self,
        load: Callable[[], Awaitable[NavigatorTree]],
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        listen: Listen | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("NavigatorPanel")
        self._load = load
        self._tasks = tasks
        self._listen = listen
        self.listener: ListenerHandle | None = None
        self._reading: asyncio.Task[None] | None = None
        self._again = False
        self._stopped = False
        self._soon = QTimer(self)
        self._soon.setObjectName("NavigatorPanel.soon")
        self._soon.setSingleShot(True)
        self._soon.setInterval(REFRESH_DELAY_MS)
        self._soon.timeout.connect(self.refresh)
        self.changed_remotely.connect(self._changed, Qt.ConnectionType.QueuedConnection)
        stop = self.stop_listening  # a plain callable: the panel's own slots no longer run once it is destroyed
        self.destroyed.connect(lambda *_: stop())
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
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.installEventFilter(self)
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
        self.tree.itemExpanded.connect(lambda _item: self._fit_status())  # the rows now shown get room too

    # ------------------------------------------------------------ following the database

    def follow(self) -> None:
        """Listen for changes to the tree (idempotent; the window calls it once it has started)."""
        if self.listener is None and self._listen is not None and not self._stopped:
            self.listener = self._listen(self.changed_remotely.emit)

    def _changed(self, _change: object) -> None:
        """Read again within REFRESH_DELAY_MS of the first notice; later ones join that read."""
        if not self._soon.isActive() and not self._stopped:
            self._soon.start()

    def stop_listening(self) -> None:
        """End the LISTEN thread (no Qt calls: also safe once the widget itself is deleted)."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

    def stop(self) -> None:
        self._stopped = True
        self._soon.stop()
        self.stop_listening()

    async def shutdown(self) -> None:
        """The window's shutdown step (a read already running is the window's task, drained by it)."""
        self.stop()

    # ------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Read the tree again (one read at a time; one more if asked meanwhile)."""
        if self._reading is not None and not self._reading.done():
            self._again = True
            return
        self._reading = self._tasks.spawn(self._reload(), what="load the project list")

    async def _reload(self) -> None:
        try:
            self.show_tree(await self._load())
        finally:
            if self._again and not self._stopped:
                self._again = False
                self._soon.start()

    def show_tree(self, data: NavigatorTree) -> None:
        """Show `data`, keeping what was expanded, selected and scrolled to (projects open the first time)."""
        first = self.data is None
        expanded = {self._key(i) for i in self._all_items() if i.isExpanded()}
        current = self.tree.currentItem()
        selected = self._key(current) if current is not None else None
        scrolled = self.tree.verticalScrollBar().value()
        self.data = data
        self.tree.clear()
        for project in data.projects:
            p = self._item(None, project.name, project.status.label, PROJECT, project.id)
            for character in project.characters:
                c = self._item(p, character.name, character_status(character), CHARACTER, character.id)
                for scene in character.scenes:
                    self._item(c, scene.name, scene_status(scene), SCENE, scene.id)
        if first:
            self.tree.expandToDepth(0)
        for item in self._all_items():
            key = self._key(item)
            if key in expanded:
                item.setExpanded(True)
            if key == selected:
                self.tree.setCurrentItem(item)
        self.tree.verticalScrollBar().setValue(scrolled)
        self._fit_status()
        projects, characters, scenes = data.counts
        self.hint.setText(
            "No projects yet."
            if not projects
            else f"{_count(projects, 'project')} · {_count(characters, 'character')} · {_count(scenes, 'scene')}"
        )
        self._apply_filter(self.filter.text())
        self.tree_loaded.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.tree and event.type() == QEvent.Type.Resize:
            self._fit_status()
        return False

    def _fit_status(self) -> None:
        """The status column as wide as its longest text, but at most half the tree, so names always show
        (a longer status is elided; its tooltip says it all)."""
        header = self.tree.header()
        if header is not None:
            room = self.tree.viewport().width()
            header.resizeSection(1, max(40, min(self.tree.sizeHintForColumn(1), room // 2)))

    @staticmethod
    def _key(item: QTreeWidgetItem) -> tuple[str, int]:
        return str(item.data(0, KIND_ROLE)), int(item.data(0, ID_ROLE))

    def _item(self, parent: QTreeWidgetItem | None, name: str, status: str, kind: str, ident: int) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, status])
        item.setData(0, KIND_ROLE, kind)
        item.setData(0, ID_ROLE, int(ident))
        item.setToolTip(0, f"{kind} {name}")
        item.setToolTip(1, status)
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


def navigator_panel(context: PanelContext) -> NavigatorPanel:
    """The Navigator dock: it follows the database once the window has started, until the window shuts down."""
    service = context.services.navigator
    panel = NavigatorPanel(service.tree, context.tasks, listen=service.listen)
    started = getattr(context.window, "started", None)
    if started is not None:
        started.connect(panel.follow)
    add_shutdown_step = getattr(context.window, "add_shutdown_step", None)
    if add_shutdown_step is not None:
        add_shutdown_step(panel.shutdown)
    return panel
