"""The canvas of one graph (the root, or one subgraph): items kept in step with the edit session.

Edits flow one way: the controller turns gestures into edits, the session applies them and says
what changed (`GraphEdited`), and only then does this scene add, drop or refresh items. Nothing
here writes the model. Native reroutes are items of their own; each wire knows the ones it passes.
The scene index is off: items are few thousand at most, a linear scan of the exposed area is
cheap, and a BSP tree would be rebuilt on every drag step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSceneContextMenuEvent, QGraphicsSceneMouseEvent

from x121_desktop.core.graph.catalog import NodeCatalog
from x121_desktop.core.graph.edits import Scope, graph_of
from x121_desktop.core.graph.model import (
    SUBGRAPH_INPUT_NODE_ID,
    SUBGRAPH_OUTPUT_NODE_ID,
    InputSocket,
    Link,
    Node,
    OutputSocket,
    Reroute,
)
from x121_desktop.core.graph.reroute_chains import chain
from x121_desktop.core.graph.undo import EditSession, GraphEdited
from x121_desktop.ui.node_editor.items.group import GroupItem
from x121_desktop.ui.node_editor.items.link import LinkItem
from x121_desktop.ui.node_editor.items.native_reroute import NativeRerouteItem
from x121_desktop.ui.node_editor.items.node import Marker, NodeItem, NodeState
from x121_desktop.ui.node_editor.items.note import NOTE_TYPES, NoteItem
from x121_desktop.ui.node_editor.items.reroute import REROUTE_TYPES, RerouteItem
from x121_desktop.ui.node_editor.style import CanvasStyle


class Gestures(Protocol):
    """Who turns mouse gestures into edits (the controller); True means the event was used."""

    def press(self, event: QGraphicsSceneMouseEvent) -> bool: ...
    def move(self, event: QGraphicsSceneMouseEvent) -> bool: ...
    def release(self, event: QGraphicsSceneMouseEvent) -> bool: ...
    def released(self) -> None: ...
    def double_click(self, event: QGraphicsSceneMouseEvent) -> bool: ...
    def context_menu(self, event: QGraphicsSceneContextMenuEvent) -> bool: ...


class GraphScene(QGraphicsScene):
    def __init__(self, session: EditSession, scope: Scope, catalog: NodeCatalog, style: CanvasStyle) -> None:
        super().__init__()
        self.session, self.scope, self.catalog, self.look = session, scope, catalog, style
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setBackgroundBrush(style.bg)
        self.nodes: dict[str, NodeItem] = {}
        self.links: dict[int, LinkItem] = {}
        self.reroutes: dict[int, NativeRerouteItem] = {}
        self.groups: list[GroupItem] = []
        self.markers: dict[str, tuple[Marker, ...]] = {}
        self.gestures: Gestures | None = None
        self._unsubscribe = session.subscribe(self._on_edited)
        self.rebuild()

    def close(self) -> None:
        """Stop following the session and drop the items (breaking item ↔ wire cycles, so the
        garbage collector has nothing big to find later, in the middle of a pan)."""
        self._unsubscribe()
        for item in self.nodes.values():
            item.links.clear()
        for link in self.links.values():
            link.origin = link.target = None
            link.via = []
        for reroute in self.reroutes.values():
            reroute.links.clear()
        self.nodes.clear()
        self.links.clear()
        self.reroutes.clear()
        self.groups = []
        self.gestures = None
        self.clear()

    # -------------------------------------------------------------- building

    def rebuild(self) -> None:
        self.clear()
        self.nodes.clear()
        self.links.clear()
        self.reroutes.clear()
        self.groups = []
        graph = graph_of(self.session.document, self.scope)
        for node in graph.nodes:
            self._add_node(node)
        for node in self._port_nodes():
            self._add_node(node, movable=False)
        for reroute in graph.reroutes:
            self._add_reroute_item(reroute)
        for link in graph.links:
            self._add_link(link)
        self._build_groups()
        self.refresh_scene_rect()

    def _port_nodes(self) -> list[Node]:
        """The subgraph's own inputs and outputs, drawn as two fixed nodes (ids -10 and -20)."""
        if self.scope is None:
            return []
        sub = self.session.document.subgraphs[self.scope]
        out = []
        for vid, key, title in (
            (SUBGRAPH_INPUT_NODE_ID, "inputNode", "Inputs"),
            (SUBGRAPH_OUTPUT_NODE_ID, "outputNode", "Outputs"),
        ):
            box = sub.extra.get(key)
            bounding = box.get("bounding") if isinstance(box, dict) else None
            x, y, w = (
                (bounding[0], bounding[1], bounding[2])
                if isinstance(bounding, list) and len(bounding) == 4
                else (0, 0, 160)
            )
            pos, size = (float(x), float(y) + 30.0), (float(w), 20.0)
            if vid == SUBGRAPH_INPUT_NODE_ID:
                outs = tuple(OutputSocket(p.label or p.name, p.type, p.link_ids) for p in sub.inputs)
                out.append(Node(id=vid, type=title, title=title, pos=pos, size=size, outputs=outs))
            else:
                ins = tuple(InputSocket(p.label or p.name, p.type, (*p.link_ids, None)[0]) for p in sub.outputs)
                out.append(Node(id=vid, type=title, title=title, pos=pos, size=size, inputs=ins))
        return out

    def make_item(self, node: Node) -> NodeItem:
        if node.type in REROUTE_TYPES:
            return RerouteItem(node, None, self.look)
        if node.type in NOTE_TYPES:
            return NoteItem(node, None, self.look)
        sub = self.session.document.subgraphs.get(node.type)
        return NodeItem(node, self.catalog.get(node.type), self.look, title=sub.name if sub else None)

    def _add_node(self, node: Node, *, movable: bool = True) -> NodeItem:
        item = self.make_item(node)
        if not movable:
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, False)
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, False)
        if str(node.id) in self.markers:
            item.set_markers(self.markers[str(node.id)])
        self.addItem(item)
        self.nodes[str(node.id)] = item
        return item

    def _add_link(self, link: Link) -> None:
        origin, target = self.nodes.get(str(link.origin_id)), self.nodes.get(str(link.target_id))
        if origin is None and target is None:
            return
        item = LinkItem(
            link.id, origin, link.origin_slot, target, link.target_slot, self.look.type_colour(link.type), self.look
        )
        if origin is None and target is not None:  # a leftover link from a missing node (marked on open)
            item.fixed_a = target.input_pos(link.target_slot) - QPointF(60.0, 0.0)
            item.colour = QColor(self.look.error)
        if target is None and origin is not None:
            item.fixed_b = origin.output_pos(link.origin_slot) + QPointF(60.0, 0.0)
            item.colour = QColor(self.look.error)
        for end in (origin, target):
            if end is not None:
                end.links.append(item)
        self._route(item, link)
        self.addItem(item)
        self.links[link.id] = item

    def _route(self, item: LinkItem, link: Link) -> None:
        """Pass the wire through the native reroutes of its chain (drawn in that order)."""
        for dot in item.via:
            if item in dot.links:
                dot.links.remove(item)
        graph = graph_of(self.session.document, self.scope)
        item.via = [self.reroutes[r.id] for r in chain(graph, link) if r.id in self.reroutes]
        for dot in item.via:
            dot.links.append(item)
        item.refresh()

    def _drop_link(self, link_id: int) -> None:
        item = self.links.pop(link_id, None)
        if item is None:
            return
        for end in (item.origin, item.target):
            if end is not None and item in end.links:
                end.links.remove(item)
        for dot in item.via:
            if item in dot.links:
                dot.links.remove(item)
        item.via = []
        self.removeItem(item)

    def _add_reroute_item(self, reroute: Reroute) -> None:
        item = NativeRerouteItem(reroute, self.look)
        self.addItem(item)
        self.reroutes[reroute.id] = item

    def _sync_reroutes(self) -> None:
        """Reroutes were added, moved, removed or re-chained: update their items, then re-route every wire."""
        graph = graph_of(self.session.document, self.scope)
        wanted = {r.id: r for r in graph.reroutes}
        for rid in [rid for rid in self.reroutes if rid not in wanted]:
            self.removeItem(self.reroutes.pop(rid))
        for rid, reroute in wanted.items():
            item = self.reroutes.get(rid)
            if item is None:
                self._add_reroute_item(reroute)
            elif item.reroute is not reroute:
                item.set_reroute(reroute)
        for link_id, link_item in self.links.items():
            link = graph.link(link_id)
            if link is not None:
                self._route(link_item, link)
        for item in self.reroutes.values():
            item.update()

    def _build_groups(self) -> None:
        for item in self.groups:
            self.removeItem(item)
        graph = graph_of(self.session.document, self.scope)
        self.groups = [GroupItem(i, g, self.look) for i, g in enumerate(graph.groups)]
        for item in self.groups:
            self.addItem(item)

    def refresh_scene_rect(self) -> None:
        rect = self.itemsBoundingRect()
        self.setSceneRect(
            rect.adjusted(-4000, -4000, 4000, 4000) if not rect.isEmpty() else QRectF(-2000, -2000, 4000, 4000)
        )

    # -------------------------------------------------------------- model events → items

    def _on_edited(self, event: GraphEdited) -> None:
        if event.scope != self.scope:
            return
        graph = graph_of(self.session.document, self.scope)
        for link_id in event.links_removed:
            self._drop_link(link_id)
        for node_id in event.nodes_removed:
            self._drop_node(node_id)
        for node_id in event.nodes_changed:
            item, node = self.nodes.get(node_id), graph.node(node_id)
            if item is not None and node is not None:
                item.set_node(node)
                for link in item.links:
                    link.refresh()
        for node in filter(None, (graph.node(i) for i in event.nodes_added)):
            self._add_node(node)
        if event.reroutes_changed:
            self._sync_reroutes()
        for link in filter(None, (graph.link(i) for i in event.links_added)):
            self._add_link(link)
        if event.groups_changed:
            self._build_groups()
        if event.nodes_added or event.groups_changed:
            self.refresh_scene_rect()

    def _drop_node(self, node_id: str) -> None:
        item = self.nodes.pop(node_id, None)
        if item is not None:
            for link in list(item.links):
                self._drop_link(link.link_id)
            self.removeItem(item)

    # -------------------------------------------------------------- hooks for later parts

    def set_markers(self, node_id: str, markers: Iterable[Marker]) -> None:
        """Pin reasons on a node (validation, open problems); an empty list clears them."""
        self.markers[node_id] = tuple(markers)
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_markers(self.markers[node_id])

    def clear_markers(self) -> None:
        for node_id in list(self.markers):
            self.set_markers(node_id, ())
        self.markers.clear()

    def set_state(self, node_id: str, state: NodeState) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_state(state)

    def selected_reroute_ids(self) -> list[int]:
        return [i.reroute_id for i in self.selectedItems() if isinstance(i, NativeRerouteItem)]

    def selected_node_ids(self) -> list[str]:
        return [
            i.node_id
            for i in self.selectedItems()
            if isinstance(i, NodeItem)
            and i.node_id in self.nodes
            and int_or_none(i.node_id) not in (SUBGRAPH_INPUT_NODE_ID, SUBGRAPH_OUTPUT_NODE_ID)
        ]

    def node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item
        return None

    # -------------------------------------------------------------- gestures go to the controller

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.gestures is None or not self.gestures.press(event):
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.gestures is None or not self.gestures.move(event):
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.gestures is not None and self.gestures.release(event):
            return
        super().mouseReleaseEvent(event)
        if self.gestures is not None:
            self.gestures.released()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.gestures is None or not self.gestures.double_click(event):
            super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        if self.gestures is None or not self.gestures.context_menu(event):
            super().contextMenuEvent(event)


def int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
