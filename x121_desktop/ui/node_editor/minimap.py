"""Minimap: the whole graph in a corner of the canvas, with the visible area; click or drag to go there.

Node boxes are drawn once into a pixmap when the graph changes; panning only redraws the frame.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from x121_desktop.ui.node_editor.scene import GraphScene
from x121_desktop.ui.node_editor.view import GraphView

SIZE = (220, 150)


class Minimap(QWidget):
    def __init__(self, view: GraphView) -> None:
        super().__init__(view)
        self.view = view
        self.setFixedSize(*SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._pixmap = QPixmap()
        self._world = QRectF()
        self._dirty = True
        view.viewport_moved.connect(self._place)
        view.viewport_moved.connect(self.update)
        view.zoom_changed.connect(lambda _z: self.update())

    def invalidate(self) -> None:
        self._dirty = True
        self.update()

    def _place(self) -> None:
        vp = self.view.viewport().rect()
        self.move(vp.right() - SIZE[0] - 10, vp.bottom() - SIZE[1] - 10)

    def _scene(self) -> GraphScene | None:
        scene = self.view.scene()
        return scene if isinstance(scene, GraphScene) else None

    def _render(self, scene: GraphScene) -> None:
        self._world = scene.itemsBoundingRect().adjusted(-200, -200, 200, 200)
        self._pixmap = QPixmap(self.size())
        self._pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(self._pixmap)
        look = scene.look
        bg = QColor(look.bg)
        bg.setAlpha(220)
        painter.fillRect(self._pixmap.rect(), bg)
        sx, sy, ox, oy = self._mapping()
        for group in scene.groups:
            r = group.scene_rect()
            colour = QColor(group.colour)
            colour.setAlpha(60)
            painter.fillRect(QRectF(ox + r.x() * sx, oy + r.y() * sy, r.width() * sx, r.height() * sy), colour)
        for item in scene.nodes.values():
            r = item.sceneBoundingRect()
            painter.fillRect(
                QRectF(ox + r.x() * sx, oy + r.y() * sy, max(1.0, r.width() * sx), max(1.0, r.height() * sy)),
                look.node_header,
            )
        painter.setPen(QPen(look.node_border, 1))
        painter.drawRect(self._pixmap.rect().adjusted(0, 0, -1, -1))
        painter.end()
        self._dirty = False

    def _mapping(self) -> tuple[float, float, float, float]:
        w = self._world
        if w.isEmpty():
            return 1.0, 1.0, 0.0, 0.0
        s = min(SIZE[0] / w.width(), SIZE[1] / w.height())
        ox = (SIZE[0] - w.width() * s) / 2 - w.x() * s
        oy = (SIZE[1] - w.height() * s) / 2 - w.y() * s
        return s, s, ox, oy

    def paintEvent(self, event: QPaintEvent) -> None:
        scene = self._scene()
        if scene is None:
            return
        if self._dirty:
            self._render(scene)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._pixmap)
        sx, sy, ox, oy = self._mapping()
        seen = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        painter.setPen(QPen(scene.look.selected, 1.5))
        painter.drawRect(QRectF(ox + seen.x() * sx, oy + seen.y() * sy, seen.width() * sx, seen.height() * sy))

    def scene_point(self, local: QPointF) -> QPointF:
        sx, sy, ox, oy = self._mapping()
        return QPointF((local.x() - ox) / sx, (local.y() - oy) / sy)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.view.ensure_room()
        self.view.centerOn(self.scene_point(event.position()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self.scene_point(event.position()))
