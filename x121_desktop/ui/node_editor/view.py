"""The canvas view: grid background, wheel zoom about the cursor, pan (middle drag, Space+drag,
arrow keys), fit. Painted with QPainter on a plain viewport (QOpenGLWidget is not valid offscreen)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPen, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from x121_desktop.ui.node_editor.style import CanvasStyle

GRID = 20.0
MIN_ZOOM, MAX_ZOOM = 0.05, 4.0


class GraphView(QGraphicsView):
    zoom_changed = Signal(float)
    viewport_moved = Signal()

    def __init__(self, style: CanvasStyle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.style_ = style
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlags(
            QGraphicsView.OptimizationFlag.DontSavePainterState
            | QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing
        )
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._space = False
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.viewport_moved.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.viewport_moved.emit())

    # -------------------------------------------------------------- zoom and pan

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPoint | None = None) -> None:
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        point = anchor if anchor is not None else self.viewport().rect().center()
        before = self.mapToScene(point)
        self.resetTransform()
        self.scale(factor, factor)
        after = self.mapToScene(point)
        self.pan_by_scene(after - before)
        self.zoom_changed.emit(factor)

    def pan_by_scene(self, delta: QPointF) -> None:
        """Move the view so scene content shifts by `delta` (scene units)."""
        self.pan_by_pixels(QPointF(delta.x() * self.zoom, delta.y() * self.zoom))

    def pan_by_pixels(self, delta: QPointF) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(delta.x()))
        v.setValue(v.value() - round(delta.y()))

    def ensure_room(self) -> None:
        """Keep the scrollable area larger than what is shown, so panning never hits an edge."""
        scene: QGraphicsScene | None = self.scene()
        if scene is None:
            return
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        wanted = scene.sceneRect().united(
            visible.adjusted(-visible.width(), -visible.height(), visible.width(), visible.height())
        )
        if wanted != scene.sceneRect():
            scene.setSceneRect(wanted)

    def fit(self, rect: QRectF | None = None) -> None:
        scene: QGraphicsScene | None = self.scene()
        if scene is None:
            return
        target = rect if rect is not None and not rect.isEmpty() else scene.itemsBoundingRect()
        if target.isEmpty():
            return
        vp = self.viewport().rect()
        factor = min(vp.width() / (target.width() + 80), vp.height() / (target.height() + 80))
        self.resetTransform()
        self.scale(min(MAX_ZOOM, max(MIN_ZOOM, factor)), min(MAX_ZOOM, max(MIN_ZOOM, factor)))
        self.ensure_room()
        self.centerOn(target.center())
        self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier or event.angleDelta().x():
            self.pan_by_pixels(QPointF(event.angleDelta().x() / 2, event.angleDelta().y() / 2))
            return
        self.ensure_room()
        self.set_zoom(self.zoom * math.pow(1.15, steps), event.position().toPoint())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = event.position().toPoint()
            self.ensure_room()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            self.pan_by_pixels(QPointF(pos - self._pan_from))
            self._pan_from = pos
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            return
        arrows = {
            Qt.Key.Key_Left: (60, 0),
            Qt.Key.Key_Right: (-60, 0),
            Qt.Key.Key_Up: (0, 60),
            Qt.Key.Key_Down: (0, -60),
        }
        if key in arrows and not self.scene_has_selection():
            self.pan_by_pixels(QPointF(*arrows[Qt.Key(key)]))
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            return
        super().keyReleaseEvent(event)

    def scene_has_selection(self) -> bool:
        scene: QGraphicsScene | None = self.scene()
        return scene is not None and bool(scene.selectedItems())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.viewport_moved.emit()

    # -------------------------------------------------------------- grid

    def drawBackground(self, painter: QPainter, exposed: QRectF | QRect) -> None:
        rect = QRectF(exposed)
        st = self.style_
        painter.fillRect(rect, st.bg)
        zoom = self.zoom
        if zoom < 0.3:
            return
        step = GRID if zoom >= 0.6 else GRID * 5
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        lines_minor: list[tuple[QPointF, QPointF]] = []
        lines_major: list[tuple[QPointF, QPointF]] = []
        x = left
        while x < rect.right():
            (lines_major if round(x / step) % 5 == 0 else lines_minor).append(
                (QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            )
            x += step
        y = top
        while y < rect.bottom():
            (lines_major if round(y / step) % 5 == 0 else lines_minor).append(
                (QPointF(rect.left(), y), QPointF(rect.right(), y))
            )
            y += step
        painter.setPen(QPen(st.grid, 0))
        for a, b in lines_minor:
            painter.drawLine(a, b)
        painter.setPen(QPen(st.grid_major, 0))
        for a, b in lines_major:
            painter.drawLine(a, b)
