"""Group frames: a titled, tinted rectangle behind nodes; dragging its title moves the nodes inside."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from x121_desktop.core.graph.model import Group
from x121_desktop.ui.node_editor.style import CanvasStyle

GROUP_TITLE_H = 34.0


class GroupItem(QGraphicsItem):
    def __init__(self, index: int, group: Group, style: CanvasStyle) -> None:
        super().__init__()
        self.index, self.model, self.style = index, group, style
        self.setZValue(-10.0)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable | QGraphicsItem.GraphicsItemFlag.ItemIsMovable)
        b = tuple(group.bounding) + (0.0, 0.0, 200.0, 120.0)[len(group.bounding) :]
        self.setPos(float(b[0]), float(b[1]))
        self._rect = QRectF(0.0, 0.0, float(b[2]), float(b[3]))
        colour = group.extra.get("color")
        self.colour = QColor(colour) if isinstance(colour, str) and QColor(colour).isValid() else QColor("#3f789e")

    def scene_rect(self) -> QRectF:
        return self._rect.translated(self.pos())

    def title_hit(self, local_y: float) -> bool:
        return local_y <= GROUP_TITLE_H

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        fill = QColor(self.colour)
        fill.setAlpha(40)
        painter.fillRect(self._rect, fill)
        head = QColor(self.colour)
        head.setAlpha(110)
        painter.fillRect(QRectF(0, 0, self._rect.width(), GROUP_TITLE_H), head)
        if self.isSelected():
            painter.setPen(self.style.selected)
            painter.drawRect(self._rect)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.2:
            return
        painter.setFont(self.style.group_font)
        painter.setPen(self.style.text)
        painter.drawText(
            QRectF(10, 0, self._rect.width() - 20, GROUP_TITLE_H), Qt.AlignmentFlag.AlignVCenter, self.model.title
        )
