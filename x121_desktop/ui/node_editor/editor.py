"""The node editor widget: one document, a canvas per graph level (subgraphs open as nested canvases),
the action handlers, and the hooks later parts use (markers, run state, input context menus).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Signal
from PySide6.QtGui import QAction, QCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from x121_desktop.actions.registry import ActionRegistry
from x121_desktop.core.errors import X121Error
from x121_desktop.core.graph.catalog import NodeCatalog, NodeType
from x121_desktop.core.graph.edits import (
    Collapse,
    Compound,
    Edit,
    RemoveGroups,
    RemoveNodes,
    RemoveReroutes,
    Scope,
    SetNodeMode,
    graph_of,
)
from x121_desktop.core.graph.model import Graph, NodeMode, WorkflowDocument
from x121_desktop.core.graph.ops import Align, Clip, add_node, align, copy_nodes, group_around, paste
from x121_desktop.core.graph.repair import Problem, SourceFormat, unknown_types
from x121_desktop.core.graph.undo import EditSession, GraphEdited
from x121_desktop.ui.actions_qt import attach_scope
from x121_desktop.ui.node_editor.controller import CanvasController, InputMenuHook
from x121_desktop.ui.node_editor.io import WorkflowFile, read_workflow, write_workflow
from x121_desktop.ui.node_editor.items.group import GroupItem
from x121_desktop.ui.node_editor.items.node import Marker, NodeItem, NodeState
from x121_desktop.ui.node_editor.minimap import Minimap
from x121_desktop.ui.node_editor.scene import GraphScene
from x121_desktop.ui.node_editor.search import NodeSearch
from x121_desktop.ui.node_editor.style import CanvasStyle, canvas_style
from x121_desktop.ui.node_editor.view import GraphView
from x121_desktop.ui.node_editor.widgets import open_inline_editor


class NodeEditor(QWidget):
    modified_changed = Signal(bool)
    message_posted = Signal(str)
    scope_changed = Signal(object)  # Scope

    def __init__(
        self, catalog: NodeCatalog | None = None, style: CanvasStyle | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("nodeEditor")
        self.look = style or canvas_style()
        self.catalog = catalog or NodeCatalog()
        self.session = EditSession(WorkflowDocument(graph=Graph()))
        self.file = WorkflowFile(None)
        self.problems: tuple[Problem, ...] = ()
        self.clip: Clip | None = None
        self.scenes: dict[Scope, GraphScene] = {}
        self.controllers: dict[Scope, CanvasController] = {}
        self.input_menu_hooks: list[InputMenuHook] = []
        self._path: list[Scope] = [None]
        self._markers: dict[Scope, dict[str, tuple[Marker, ...]]] = {}
        self._was_modified = False
        self.view = GraphView(self.look)
        self.minimap = Minimap(self.view)
        self.crumbs = QLabel()
        self.back = QPushButton("Up")
        self.back.clicked.connect(self.leave_subgraph)
        self.status = QLabel()
        self.status.setObjectName("muted")
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(self.back)
        bar.addWidget(self.crumbs, 1)
        bar.addWidget(self.status)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)
        self.session.subscribe(self._edited)
        self._show_scope(None)

    # -------------------------------------------------------------- documents

    @property
    def document(self) -> WorkflowDocument:
        return self.session.document

    @property
    def scope(self) -> Scope:
        return self._path[-1]

    @property
    def scene(self) -> GraphScene:
        return self.scenes[self.scope]

    @property
    def modified(self) -> bool:
        return self.session.modified

    def open_path(self, path: Path) -> bool:
        """Open a UI- or API-format file; problems are marked on the nodes, errors said in one sentence."""
        try:
            opened = read_workflow(path, self.catalog)
        except X121Error as exc:
            self.message_posted.emit(exc.sentence)
            return False
        self.open_document(opened.document, opened.problems, WorkflowFile(path, opened.format))
        return True

    def open_document(
        self, document: WorkflowDocument, problems: tuple[Problem, ...] = (), file: WorkflowFile | None = None
    ) -> None:
        self.session.replace_document(document)
        self.file = file or WorkflowFile(None)
        self.problems = problems
        self._markers = {}
        for p in problems:
            if p.node_id is not None:
                per = self._markers.setdefault(p.scope, {})
                per[p.node_id] = (*per.get(p.node_id, ()), Marker("warning", p.message))
        old = list(self.scenes.values())
        self.scenes.clear()
        self.controllers.clear()
        self._path = [None]
        self._show_scope(None)
        for scene in old:
            scene.close()
            scene.deleteLater()
        self.view.fit()
        self._status()
        gc.collect()  # the previous document's items go now, not as a pause while panning the new one

    def save(self) -> bool:
        """Save over the opened file; only UI-format files are overwritten (API files need Save As)."""
        if not self.file.can_save_in_place or self.file.path is None:
            self.message_posted.emit("This workflow has no UI-format file yet. Use Save As to choose where to save it.")
            return False
        return self.save_as(self.file.path)

    def save_as(self, path: Path) -> bool:
        try:
            write_workflow(path, self.document)
        except X121Error as exc:
            self.message_posted.emit(exc.sentence)
            return False
        self.file = WorkflowFile(path, SourceFormat.UI)
        self.session.mark_saved()
        self._edited(None)
        return True

    def set_catalog(self, catalog: NodeCatalog) -> None:
        """A new node list (another server): rebuild the canvases and re-mark unknown node types."""
        self.catalog = catalog
        kept = tuple(p for p in self.problems if "is not installed on" not in p.message)
        self.open_document(self.document, (*kept, *unknown_types(self.document, catalog)), self.file)

    # -------------------------------------------------------------- graph levels

    def _show_scope(self, scope: Scope) -> None:
        if scope not in self.scenes:
            scene = GraphScene(self.session, scope, self.catalog, self.look)
            for node_id, markers in self._markers.get(scope, {}).items():
                scene.set_markers(node_id, markers)
            controller = CanvasController(scene)
            controller.input_menu_hooks = self.input_menu_hooks
            controller.message.connect(self.message_posted)
            controller.subgraph_requested.connect(self.enter_subgraph)
            controller.widget_edit_requested.connect(self._edit_widget)
            controller.search_requested.connect(self.open_search)
            self.scenes[scope], self.controllers[scope] = scene, controller
        self.view.setScene(self.scenes[scope])
        self.minimap.invalidate()
        subs = self.document.subgraphs
        names = ["Workflow", *(subs[s].name for s in self._path[1:] if s is not None and s in subs)]
        self.crumbs.setText("  /  ".join(names))
        self.back.setVisible(len(self._path) > 1)
        self.scope_changed.emit(scope)

    def enter_subgraph(self, subgraph_id: str) -> None:
        if subgraph_id not in self.document.subgraphs:
            return
        self._path.append(subgraph_id)
        self._show_scope(subgraph_id)
        self.view.fit()

    def leave_subgraph(self) -> None:
        if len(self._path) > 1:
            self._path.pop()
            self._show_scope(self.scope)
            self.view.fit()

    # -------------------------------------------------------------- editing

    def push(self, edit: Edit) -> bool:
        return self.controllers[self.scope].push(edit)

    def _edited(self, _event: GraphEdited | None) -> None:
        self.minimap.invalidate()
        if self.session.modified != self._was_modified:
            self._was_modified = self.session.modified
            self.modified_changed.emit(self._was_modified)
        self._status()

    def _status(self) -> None:
        marked = sum(1 for p in self.problems if p.node_id is not None)
        bits = [f"{sum(len(g.nodes) for _, g in self.document.all_graphs())} nodes"]
        if self.problems:
            bits.append(f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} ({marked} on nodes)")
        if self.session.modified:
            bits.append("modified")
        self.status.setText(" · ".join(bits))

    def undo(self) -> None:
        self.session.undo()

    def redo(self) -> None:
        self.session.redo()

    def cursor_scene_pos(self) -> QPointF:
        local = self.view.viewport().mapFromGlobal(QCursor.pos())
        if not self.view.viewport().rect().contains(local):
            local = self.view.viewport().rect().center()
        return self.view.mapToScene(local)

    def open_search(self, at: QPointF | None = None) -> NodeSearch:
        where = at if at is not None else self.cursor_scene_pos()
        search = NodeSearch(self.catalog, self)
        search.chosen.connect(lambda t: self.add_node(t, where))
        search.move(self.view.viewport().mapToGlobal(self.view.mapFromScene(where)))
        search.show()
        search.field.setFocus()
        self._search = search
        return search

    def add_node(self, node_type: NodeType, at: QPointF) -> None:
        self.push(add_node(self.document, self.scope, node_type, (round(at.x()), round(at.y()))))

    def _edit_widget(self, item: NodeItem, row_no: int) -> None:
        row = item.rows[row_no]
        at = self.view.viewport().mapToGlobal(self.view.mapFromScene(item.mapToScene(row.rect.bottomLeft())))
        controller = self.controllers[self.scope]
        self._inline = open_inline_editor(
            self, QPoint(at.x(), at.y()), row, lambda v: controller.set_widget(item, row, v)
        )

    def selected(self) -> tuple[str, ...]:
        return tuple(self.scene.selected_node_ids())

    def _ids(self) -> tuple[int | str, ...]:
        graph = graph_of(self.document, self.scope)
        return tuple(n.id for n in graph.nodes if str(n.id) in set(self.selected()))

    def delete_selection(self) -> None:
        """Delete the selected nodes and native reroutes (one step), else the selected group frames."""
        groups = tuple(i.index for i in self.scene.selectedItems() if isinstance(i, GroupItem))
        edits: list[Edit] = []
        if dots := tuple(self.scene.selected_reroute_ids()):
            edits.append(RemoveReroutes(self.scope, dots))  # first: the nodes' wires may drop them too
        if self._ids():
            edits.append(RemoveNodes(self.scope, self._ids()))
        if len(edits) > 1:
            self.push(Compound(self.scope, tuple(edits), "Delete"))
        elif edits:
            self.push(edits[0])
        elif groups:
            self.push(RemoveGroups(self.scope, groups))

    def copy_selection(self) -> None:
        if self._ids():
            self.clip = copy_nodes(graph_of(self.document, self.scope), self._ids())

    def paste(self, at: QPointF | None = None) -> None:
        if self.clip is not None:
            where = at if at is not None else self.cursor_scene_pos()
            self.push(paste(self.document, self.scope, self.clip, (where.x(), where.y())))

    def duplicate_selection(self) -> None:
        self.copy_selection()
        box = self.scene.selectionArea().boundingRect()
        items = [i for i in self.scene.selectedItems() if isinstance(i, NodeItem)]
        if items:
            box = items[0].sceneBoundingRect()
            for i in items[1:]:
                box = box.united(i.sceneBoundingRect())
            self.paste(QPointF(box.left() + 40, box.top() + 40))

    def group_selection(self) -> None:
        if self._ids():
            self.push(group_around(graph_of(self.document, self.scope), self._ids(), "Group", self.scope))

    def ungroup_selection(self) -> None:
        groups = tuple(i.index for i in self.scene.selectedItems() if isinstance(i, GroupItem))
        if groups:
            self.push(RemoveGroups(self.scope, groups))

    def set_mode_selection(self, mode: int) -> None:
        graph = graph_of(self.document, self.scope)
        ids = self._ids()
        if ids:
            all_set = all((n := graph.node(i)) is not None and n.mode == mode for i in ids)
            self.push(SetNodeMode(self.scope, ids, NodeMode.ALWAYS if all_set else mode))

    def collapse_selection(self) -> None:
        items = [self.scene.nodes[i] for i in self.selected()]
        if items:
            self.push(Collapse(self.scope, self._ids(), not all(i.collapsed for i in items)))

    def align_selection(self, how: Align) -> None:
        if self._ids():
            self.push(align(graph_of(self.document, self.scope), self._ids(), how, self.scope))

    def fit(self) -> None:
        items = [self.scene.nodes[i] for i in self.selected()]
        if items:
            box = items[0].sceneBoundingRect()
            for i in items[1:]:
                box = box.united(i.sceneBoundingRect())
            self.view.fit(box)
        else:
            self.view.fit()

    # -------------------------------------------------------------- hooks for later parts

    def set_markers(self, node_id: str, markers: tuple[Marker, ...], scope: Scope = None) -> None:
        """Pin reasons on a node (validation findings); an empty tuple clears them."""
        self._markers.setdefault(scope, {})[node_id] = markers
        if scope in self.scenes:
            self.scenes[scope].set_markers(node_id, markers)

    def set_state(self, node_id: str, state: NodeState, scope: Scope = None) -> None:
        """Show a node's run state (executing, progress, cached, error)."""
        if scope in self.scenes:
            self.scenes[scope].set_state(node_id, state)

    def add_input_menu_hook(self, hook: InputMenuHook) -> None:
        self.input_menu_hooks.append(hook)

    # -------------------------------------------------------------- actions

    def select_all(self) -> None:
        for item in [*self.scene.nodes.values(), *self.scene.reroutes.values()]:
            item.setSelected(True)

    def handlers(self) -> dict[str, Callable[[], object]]:
        return {
            "graph.add_node": self.open_search,
            "graph.fit": self.fit,
            "graph.group": self.group_selection,
            "graph.ungroup": self.ungroup_selection,
            "graph.bypass": lambda: self.set_mode_selection(NodeMode.BYPASS),
            "graph.mute": lambda: self.set_mode_selection(NodeMode.NEVER),
            "graph.duplicate": self.duplicate_selection,
            "edit.undo": self.undo,
            "edit.redo": self.redo,
            "edit.copy": self.copy_selection,
            "edit.paste": self.paste,
            "edit.delete": self.delete_selection,
            "edit.select_all": self.select_all,
        }

    def bind_actions(self, actions: Mapping[str, QAction], registry: ActionRegistry) -> None:
        """Attach the `graph` scope to this widget; app-wide edit actions act here while it has focus."""
        attach_scope(actions, registry, "graph", self)
        for action_id, handler in self.handlers().items():
            if action_id not in actions:
                continue
            if action_id.startswith("graph."):
                actions[action_id].triggered.connect(lambda _c=False, h=handler: h())
            else:
                actions[action_id].triggered.connect(lambda _c=False, h=handler: h() if self._has_focus() else None)

    def _has_focus(self) -> bool:
        focus = self.focusWidget()
        return self.isVisible() and focus is not None and (focus is self or self.isAncestorOf(focus))
