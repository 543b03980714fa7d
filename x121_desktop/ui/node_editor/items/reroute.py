"""Reroute nodes: a dot that passes one wire through (the frontend's `Reroute` node type)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from x121_desktop.ui.node_editor.items.node import NodeItem
from x121_desktop.ui.node_editor.items.socket import Hit, HitKind
from x121_desktop.ui.node_editor.style import REROUTE_R

REROUTE_TYPES = frozenset({"Reroute", "Reroute (rgthree)"})


class RerouteItem(NodeItem):
    def _layout(self) -> None:
        x, y = self.node.pos or (0.0, 0.0)
        w, h = self.node.size or (75.0, 26.0)
        self.setPos(QPointF(x, y))
        self.link_inputs = [0] if self.node.inputs else []
        self.rows = []
        self.widgets_top = 0.0
        self.w, self.h = float(w), float(h)
        self.elided_title = ""
        self._text_cache = []
        self._centre = QPointF(self.w / 2, self.h / 2)
        self._frame = QRectF(self._centre.x() - REROUTE_R, self._centre.y() - REROUTE_R, 2 * REROUTE_R, 2 * REROUTE_R)
        self._bounds = self._frame.adjusted(-3, -3, 3, 3)
        path = QPainterPath()
        path.addEllipse(self._frame)
        self._shape = self._outline = path

    def input_pos(self, slot: int) -> QPointF:
        return self.mapToScene(self._centre)

    def output_pos(self, slot: int) -> QPointF:
        return self.mapToScene(self._centre)

    def hit(self, local: QPointF) -> Hit:
        # the right half starts a wire out of the reroute, the left half takes one in
        return Hit(HitKind.OUTPUT, 0) if local.x() >= self._centre.x() else Hit(HitKind.INPUT, 0)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        out_type = self.node.outputs[0].type if self.node.outputs else "*"
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(self.style.selected if self.isSelected() else self.style.node_border, 2.0))
        painter.setBrush(self.style.type_colour(out_type))
        painter.drawEllipse(self._frame)
