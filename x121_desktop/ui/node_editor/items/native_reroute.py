"""Native reroutes: the dots links pass through (the new frontend's link midpoints, not nodes).

The item shows a `Reroute` value and the wires through it follow it while it is dragged; the
controller commits the new position on release (one `MoveNodes` step with any nodes dragged along).
A reroute no live link passes through (a floating one, or one left unused) is drawn hollow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from x121_desktop.core.graph.model import Reroute
from x121_desktop.ui.node_editor.style import NATIVE_REROUTE_R, CanvasStyle

if TYPE_CHECKING:
    from x121_desktop.ui.node_editor.items.link import LinkItem


class NativeRerouteItem(QGraphicsItem):
    def __init__(self, reroute: Reroute, style: CanvasStyle) -> None:
        super().__init__()
        self.style = style
        self.links: list[LinkItem] = []  # the wires passing through (kept by the scene)
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setZValue(-0.5)  # over the wires, under the nodes
        r = NATIVE_REROUTE_R
        self._rect = QRectF(-r, -r, 2 * r, 2 * r)
        self.reroute = reroute
        self.set_reroute(reroute)

    @property
    def reroute_id(self) -> int:
        return self.reroute.id

    def set_reroute(self, reroute: Reroute) -> None:
        self.reroute = reroute
        self.setPos(QPointF(float(reroute.pos[0]), float(reroute.pos[1])))
        self.setToolTip(f"Reroute {reroute.id}" + (" (loose end)" if "floating" in reroute.extra else ""))
        self.update()

    def centre(self) -> QPointF:
        return self.scenePos()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(self._rect.adjusted(-2, -2, 2, 2))
        return path

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for link in self.links:
                link.refresh()
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        colour = self.links[0].colour if self.links else QColor(self.style.wire)
        painter.setPen(QPen(self.style.selected if self.isSelected() else QColor(0, 0, 0, 140), 2.0))
        painter.setBrush(colour if self.links else QColor(0, 0, 0, 0))
        painter.drawEllipse(self._rect)
        if self.links:  # the frontend's lighter inner disc
            painter.setPen(QPen(QColor(0, 0, 0, 80), 1.0))
            painter.setBrush(QColor(255, 255, 255, 85))
            inner = NATIVE_REROUTE_R * 0.8
            painter.drawEllipse(QPointF(0.0, 0.0), inner, inner)
