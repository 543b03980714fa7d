"""Gestures → edits. The only place the canvas asks the session for changes.

A drag lets Qt move the items live (their wires follow) and, on release, commits one `MoveNodes`
for everything that moved (nodes, group frames and native reroutes). A wire dragged from an output
(or pulled off an input) becomes a type-checked `Connect` when dropped on a socket; dropped on
nothing, a pulled wire is disconnected.
Refusals (wrong type, missing slot) are said in one sentence on `message`, never raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import (
    QGraphicsPathItem,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
    QMenu,
)

from x121_desktop.core.errors import X121Error
from x121_desktop.core.graph.catalog import WidgetKind
from x121_desktop.core.graph.edits import (
    Collapse,
    Compound,
    Connect,
    Disconnect,
    Edit,
    MoveNodes,
    RemoveNodes,
    RemoveReroutes,
    SetNodeMode,
    SetWidgetValue,
    graph_of,
)
from x121_desktop.core.graph.model import NodeMode
from x121_desktop.core.graph.ops import connect, insert_reroute
from x121_desktop.ui.node_editor.items.link import LinkItem, wire_path
from x121_desktop.ui.node_editor.items.native_reroute import NativeRerouteItem
from x121_desktop.ui.node_editor.items.node import NodeItem, WidgetRow
from x121_desktop.ui.node_editor.items.socket import HitKind
from x121_desktop.ui.node_editor.scene import GraphScene

type InputMenuHook = Callable[[str, str, QMenu], None]
"""(node id, input name, menu): add entries to an input's context menu (parameter mapping uses this)."""


class CanvasController(QObject):
    message = Signal(str)
    subgraph_requested = Signal(str)  # the subgraph id to open as a nested canvas
    widget_edit_requested = Signal(object, int)  # NodeItem, widget row
    search_requested = Signal(QPointF)  # where a node picked in the search should go

    def __init__(self, scene: GraphScene) -> None:
        super().__init__()
        self.scene = scene
        self.session = scene.session
        self.input_menu_hooks: list[InputMenuHook] = []
        self._wire: QGraphicsPathItem | None = None
        self._from: tuple[NodeItem, HitKind, int] | None = None
        self._pulled: int | None = None  # the link being pulled off an input
        scene.gestures = self

    # -------------------------------------------------------------- edits

    def push(self, edit: Edit) -> bool:
        try:
            self.session.push(edit)
        except X121Error as exc:
            self.message.emit(exc.sentence)
            return False
        return True

    # -------------------------------------------------------------- mouse

    def press(self, event: QGraphicsSceneMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        pos = event.scenePos()
        item = self.scene.node_at(pos)
        if item is None:
            return self._press_group(pos)
        hit = item.hit(item.mapFromScene(pos))
        if hit.kind is HitKind.OUTPUT:
            self._start_wire(item, HitKind.OUTPUT, hit.index, item.output_pos(hit.index))
            return True
        if hit.kind is HitKind.INPUT:
            link_id = item.node.inputs[hit.index].link if hit.index < len(item.node.inputs) else None
            link = self.scene.links.get(link_id) if link_id is not None else None
            if link is not None and link.origin is not None:
                self._pulled = link_id
                self._start_wire(
                    link.origin, HitKind.OUTPUT, link.origin_slot, link.origin.output_pos(link.origin_slot)
                )
            else:
                self._start_wire(item, HitKind.INPUT, hit.index, item.input_pos(hit.index))
            return True
        if hit.kind is HitKind.WIDGET:
            return self._widget_click(item, hit.index, item.mapFromScene(pos))
        return False

    def _press_group(self, pos: QPointF) -> bool:
        """Pressing a group's title selects the group and the nodes and reroutes inside: one drag moves all."""
        for group in self.scene.groups:
            if group.scene_rect().contains(pos) and group.title_hit(group.mapFromScene(pos).y()):
                self.scene.clearSelection()
                group.setSelected(True)
                area = group.scene_rect()
                for node in self.scene.nodes.values():
                    if node.flags() & node.GraphicsItemFlag.ItemIsMovable and area.contains(node.sceneBoundingRect()):
                        node.setSelected(True)
                for dot in self.scene.reroutes.values():  # the frame carries its reroutes too
                    dot.setSelected(area.contains(dot.scenePos()))
                return False
        return False

    def _start_wire(self, item: NodeItem, kind: HitKind, slot: int, at: QPointF) -> None:
        self._from = (item, kind, slot)
        self._wire = QGraphicsPathItem(wire_path(at, at))
        self._wire.setPen(QPen(self.scene.look.wire_active, 2.0, Qt.PenStyle.DashLine))
        self._wire.setZValue(10.0)
        self.scene.addItem(self._wire)

    def move(self, event: QGraphicsSceneMouseEvent) -> bool:
        if self._wire is None or self._from is None:
            return False
        item, kind, slot = self._from
        pos = event.scenePos()
        self._wire.setPath(
            wire_path(item.output_pos(slot), pos) if kind is HitKind.OUTPUT else wire_path(pos, item.input_pos(slot))
        )
        return True

    def release(self, event: QGraphicsSceneMouseEvent) -> bool:
        if self._wire is None or self._from is None:
            return False
        self.scene.removeItem(self._wire)
        self._wire = None
        start, pulled = self._from, self._pulled
        self._from, self._pulled = None, None
        self.drop_wire(start, event.scenePos(), pulled)
        return True

    def drop_wire(self, start: tuple[NodeItem, HitKind, int], pos: QPointF, pulled: int | None = None) -> None:
        item, kind, slot = start
        target = self.scene.node_at(pos)
        hit = target.hit(target.mapFromScene(pos)) if target is not None else None
        doc, scope = self.session.document, self.scene.scope
        edits: list[Edit] = []
        try:
            if target is not None and hit is not None and kind is HitKind.OUTPUT and hit.kind is HitKind.INPUT:
                edits.append(connect(doc, scope, item.node.id, slot, target.node.id, hit.index))
            elif target is not None and hit is not None and kind is HitKind.INPUT and hit.kind is HitKind.OUTPUT:
                edits.append(connect(doc, scope, target.node.id, hit.index, item.node.id, slot))
        except X121Error as exc:
            self.message.emit(exc.sentence)
            return
        if pulled is not None:
            old = graph_of(doc, scope).link(pulled)
            new = edits[0] if edits else None
            if (
                isinstance(new, Connect)
                and old is not None
                and (str(new.link.target_id), new.link.target_slot) == (str(old.target_id), old.target_slot)
            ):
                return  # dropped back where it was
            edits.insert(0, Disconnect(scope, (pulled,)))
        if len(edits) == 1:
            self.push(edits[0])
        elif edits:
            self.push(Compound(scope, tuple(edits), "Reconnect"))

    def released(self) -> None:
        """After Qt finished a drag: one MoveNodes for every node and group frame that moved."""
        graph = graph_of(self.session.document, self.scene.scope)
        moves = []
        for item in self.scene.nodes.values():
            model = graph.node(item.node_id)
            if model is None or not item.flags() & item.GraphicsItemFlag.ItemIsMovable:
                continue
            old = model.pos or (0.0, 0.0)
            if (item.x(), item.y()) != (float(old[0]), float(old[1])):
                moves.append((model.id, (item.x(), item.y())))
        frames = []
        for group in self.scene.groups:
            b = tuple(group.model.bounding)
            if len(b) == 4 and (group.x(), group.y()) != (float(b[0]), float(b[1])):
                frames.append((group.index, (group.x(), group.y(), float(b[2]), float(b[3]))))
        dots = [
            (dot.reroute_id, (dot.x(), dot.y()))
            for dot in self.scene.reroutes.values()
            if (dot.x(), dot.y()) != (float(dot.reroute.pos[0]), float(dot.reroute.pos[1]))
        ]
        if moves or frames or dots:
            self.push(MoveNodes(self.scene.scope, tuple(moves), tuple(frames), tuple(dots)))

    def double_click(self, event: QGraphicsSceneMouseEvent) -> bool:
        pos = event.scenePos()
        item = self.scene.node_at(pos)
        if item is not None:
            if (
                item.node.type in self.session.document.subgraphs
                and item.hit(item.mapFromScene(pos)).kind is HitKind.TITLE
            ):
                self.subgraph_requested.emit(item.node.type)
                return True
            return False
        if self._reroute_at(pos) is not None:
            return True
        link = next((i for i in self.scene.items(pos) if isinstance(i, LinkItem)), None)
        if link is not None:
            self.push(
                insert_reroute(self.session.document, self.scene.scope, link.link_id, (pos.x() - 37.0, pos.y() - 13.0))
            )
            return True
        self.search_requested.emit(pos)
        return True

    # -------------------------------------------------------------- widgets

    def _widget_click(self, item: NodeItem, row_no: int, local: QPointF) -> bool:
        row = item.rows[row_no]
        spec = row.spec
        if row.linked or spec is None:
            return True
        if spec.kind is WidgetKind.TOGGLE:
            self.set_widget(item, row, not bool(row.value))
            return True
        if spec.kind in (WidgetKind.INT, WidgetKind.FLOAT) and isinstance(row.value, int | float):
            step = spec.step or (1 if spec.kind is WidgetKind.INT else 0.01)
            if spec.kind is WidgetKind.INT:
                step = max(1, round(step))
            if local.x() < row.rect.left() + 16:
                self.set_widget(item, row, clamp(row.value - step, spec.minimum, spec.maximum))
                return True
            if local.x() > row.rect.right() - 16:
                self.set_widget(item, row, clamp(row.value + step, spec.minimum, spec.maximum))
                return True
        self.widget_edit_requested.emit(item, row_no)
        return True

    def set_widget(self, item: NodeItem, row: WidgetRow, value: Any) -> None:
        key = row.key
        if key is None:
            values = item.node.widgets_values
            key = len(values) if isinstance(values, list) else row.label
        self.push(SetWidgetValue(self.scene.scope, item.node.id, key, value))

    # -------------------------------------------------------------- context menus

    def context_menu(self, event: QGraphicsSceneContextMenuEvent) -> bool:
        pos = event.scenePos()
        item = self.scene.node_at(pos)
        menu = QMenu()
        scope = self.scene.scope
        if item is not None and item.flags() & item.GraphicsItemFlag.ItemIsMovable:
            hit = item.hit(item.mapFromScene(pos))
            input_name = None
            if hit.kind is HitKind.INPUT and hit.index < len(item.node.inputs):
                input_name = item.node.inputs[hit.index].name
            elif hit.kind is HitKind.WIDGET:
                input_name = item.rows[hit.index].label
            if input_name is not None:
                for hook in self.input_menu_hooks:
                    hook(item.node_id, input_name, menu)
            nid = item.node.id
            menu.addAction(
                "Expand" if item.collapsed else "Collapse",
                lambda: self.push(Collapse(scope, (nid,), not item.collapsed)),
            )
            bypassed = item.node.mode == NodeMode.BYPASS
            menu.addAction(
                "Remove bypass" if bypassed else "Bypass",
                lambda: self.push(SetNodeMode(scope, (nid,), 0 if bypassed else NodeMode.BYPASS)),
            )
            menu.addAction("Delete", lambda: self.push(RemoveNodes(scope, (nid,))))
        elif (dot := self._reroute_at(pos)) is not None:
            rid = dot.reroute_id
            menu.addAction("Delete reroute", lambda: self.push(RemoveReroutes(scope, (rid,))))
        else:
            link = next((i for i in self.scene.items(pos) if isinstance(i, LinkItem)), None)
            if link is None:
                return False
            lid = link.link_id
            menu.addAction(
                "Add reroute", lambda: self.push(insert_reroute(self.session.document, scope, lid, (pos.x(), pos.y())))
            )
            menu.addAction("Delete link", lambda: self.push(Disconnect(scope, (lid,))))
        menu.exec(event.screenPos())
        return True

    def _reroute_at(self, pos: QPointF) -> NativeRerouteItem | None:
        return next((i for i in self.scene.items(pos) if isinstance(i, NativeRerouteItem)), None)


def clamp(value: float, lo: float | None, hi: float | None) -> float:
    if lo is not None:
        value = max(lo, value)
    if hi is not None:
        value = min(hi, value)
    return value
