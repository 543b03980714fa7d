"""Wires between sockets: cubic curves (straight lines when zoomed far out), coloured by data type.

A wire through native reroutes is drawn as one curve per stretch: origin → each reroute → target.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from x121_desktop.ui.node_editor.style import LOD_WIRES, CanvasStyle

if TYPE_CHECKING:
    from x121_desktop.ui.node_editor.items.native_reroute import NativeRerouteItem
    from x121_desktop.ui.node_editor.items.node import NodeItem


def wire_path(a: QPointF, b: QPointF) -> QPainterPath:
    return wire_through((a, b))


def wire_through(points: tuple[QPointF, ...] | list[QPointF]) -> QPainterPath:
    """Cubic stretches through `points`: the wire leaves its output and reaches its input horizontally,
    and passes each reroute between in the direction from the point before it to the point after it
    (handles at most 80 px, a quarter of the stretch, like the frontend's reroute splines)."""
    path = QPainterPath(points[0])
    last = len(points) - 1
    for i, (a, b) in enumerate(itertools.pairwise(points)):
        reach = max(abs(b.x() - a.x()) * 0.5, 40.0)
        out_handle = QPointF(a.x() + reach, a.y()) if i == 0 else a + _tangent(points, i, a, b)
        in_handle = QPointF(b.x() - reach, b.y()) if i + 1 == last else b - _tangent(points, i + 1, a, b)
        path.cubicTo(out_handle, in_handle, b)
    return path


def _tangent(points: tuple[QPointF, ...] | list[QPointF], i: int, a: QPointF, b: QPointF) -> QPointF:
    """The handle at reroute `points[i]` for the stretch a-b: along prev→next, a quarter of the stretch."""
    direction = points[i + 1] - points[i - 1]
    length = math.hypot(direction.x(), direction.y())
    if length == 0.0:
        return QPointF()
    size = min(80.0, 0.25 * math.hypot(b.x() - a.x(), b.y() - a.y()))
    return direction * (size / length)


class LinkItem(QGraphicsItem):
    """One link; its ends are found through the node items (or fixed points for subgraph ports)."""

    def __init__(
        self,
        link_id: int,
        origin: NodeItem | None,
        origin_slot: int,
        target: NodeItem | None,
        target_slot: int,
        colour: QColor,
        style: CanvasStyle,
    ) -> None:
        super().__init__()
        self.link_id = link_id
        self.origin, self.origin_slot, self.target, self.target_slot = origin, origin_slot, target, target_slot
        self.colour, self.style = colour, style
        self.fixed_a: QPointF | None = None
        self.fixed_b: QPointF | None = None
        self.via: list[NativeRerouteItem] = []  # the native reroutes it passes, origin side first
        self.setZValue(-1.0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self._path = QPainterPath()
        self._shape = QPainterPath()
        self._bounds = QRectF()
        self.refresh()

    def ends(self) -> tuple[QPointF, QPointF]:
        a = self.origin.output_pos(self.origin_slot) if self.origin is not None else (self.fixed_a or QPointF())
        b = self.target.input_pos(self.target_slot) if self.target is not None else (self.fixed_b or QPointF())
        return a, b

    def refresh(self) -> None:
        a, b = self.ends()
        self.prepareGeometryChange()
        self._points = (a, *(r.centre() for r in self.via), b)
        self._path = wire_through(self._points)
        self._shape = QPainterPath()
        self._bounds = self._path.controlPointRect().adjusted(-4, -4, 4, 4)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape.isEmpty():
            stroker = QPainterPathStroker()
            stroker.setWidth(10.0)
            self._shape = stroker.createStroke(self._path)
        return self._shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        colour = self.style.wire_active if self.isSelected() else self.colour
        if lod < LOD_WIRES:
            painter.setPen(QPen(colour, 0))
            painter.drawPolyline(self._points)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(colour, 2.5 if self.isSelected() else 2.0))
        painter.setBrush(QColor(0, 0, 0, 0))
        painter.drawPath(self._path)
