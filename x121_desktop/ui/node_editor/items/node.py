"""A node on the canvas: title bar, sockets, painted widgets, markers and run state.

The item's position is the node's saved `pos` (LiteGraph keeps the body's top-left corner there;
the title bar sits above it). The item only shows a `Node` value; changes come back from the model
through `set_node`. Layout is computed once per change, painting reuses it; below `LOD_DETAIL`
zoom the node is two filled boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from x121_desktop.core.graph.catalog import NodeType, WidgetKind, WidgetSpec, widget_slots
from x121_desktop.core.graph.model import Node, NodeMode
from x121_desktop.ui.node_editor.items.socket import Hit, HitKind, draw_socket, row_centre_y, socket_rect
from x121_desktop.ui.node_editor.style import LOD_BOXES, LOD_DETAIL, ROW_H, SOCKET_R, TITLE_H, WIDGET_H, CanvasStyle

MIN_W = 140.0


@dataclass(frozen=True, slots=True)
class Marker:
    """A reason pinned on a node (validation, open problems): level is "error", "warning" or "info"."""

    level: str
    text: str
    input_name: str | None = None


@dataclass(frozen=True, slots=True)
class NodeState:
    """Run state shown on the node: "idle", "queued", "running", "cached", "done" or "error"."""

    status: str = "idle"
    progress: float | None = None  # 0..1 while running
    text: str = ""


@dataclass(slots=True)
class WidgetRow:
    label: str
    value: Any
    key: int | str | None  # index (or name) in widgets_values; None: not stored yet
    spec: WidgetSpec | None
    input_index: int | None  # the socket standing for this widget, if any
    linked: bool
    rect: QRectF = field(default_factory=QRectF)


def format_value(value: Any, spec: WidgetSpec | None) -> str:
    if isinstance(value, bool) or (spec is not None and spec.kind is WidgetKind.TOGGLE):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.4g}"
    text = "" if value is None else str(value)
    return text.replace("\n", " ⏎ ")


class NodeItem(QGraphicsItem):
    def __init__(self, node: Node, node_type: NodeType | None, style: CanvasStyle, title: str | None = None) -> None:
        super().__init__()
        self.style = style
        self.node_type = node_type
        self.default_title = title
        self.links: list[Any] = []  # LinkItems ending here (kept by the scene)
        self.markers: tuple[Marker, ...] = ()
        self.state = NodeState()
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(False)
        self.node = node
        self._layout()

    # -------------------------------------------------------------- model → item

    @property
    def node_id(self) -> str:
        return str(self.node.id)

    def set_node(self, node: Node, node_type: NodeType | None = None) -> None:
        self.prepareGeometryChange()
        self.node = node
        if node_type is not None:
            self.node_type = node_type
        self._layout()
        self.update()

    def set_markers(self, markers: tuple[Marker, ...]) -> None:
        self.markers = markers
        self.setToolTip("\n".join(m.text for m in markers))
        self.update()

    def set_state(self, state: NodeState) -> None:
        self.state = state
        self.update()

    @property
    def collapsed(self) -> bool:
        return bool((self.node.extra.get("flags") or {}).get("collapsed"))

    @property
    def title(self) -> str:
        if self.node.title:
            return self.node.title
        if self.default_title:
            return self.default_title
        return self.node_type.display_name if self.node_type else self.node.type

    def _layout(self) -> None:
        node = self.node
        self.setPos(QPointF(*(node.pos or (0.0, 0.0))))
        self.link_inputs = [i for i, s in enumerate(node.inputs) if s.widget is None or not self._has_widget(s.widget)]
        self.rows = self._widget_rows()
        fm = QFontMetricsF(self.style.title_font)
        saved_w = node.size[0] if node.size else 0.0
        width = max(MIN_W, float(saved_w))
        socket_rows = max(len(self.link_inputs), len(node.outputs))
        self.widgets_top = socket_rows * ROW_H + 6.0
        content_h = self.widgets_top + len(self.rows) * (WIDGET_H + 4.0) + 6.0
        height = max(content_h, float(node.size[1]) if node.size else 0.0)
        if self.collapsed:
            width = min(width, fm.horizontalAdvance(self.title) + 40.0)
            height = 0.0
        self.w, self.h = width, height
        for i, row in enumerate(self.rows):
            row.rect = QRectF(12.0, self.widgets_top + i * (WIDGET_H + 4.0), width - 24.0, WIDGET_H)
        self.elided_title = fm.elidedText(self.title, Qt.TextElideMode.ElideRight, width - 30.0)
        self._text_cache: list[tuple[QRectF, int, str, QColor]] | None = None
        self._frame = QRectF(0.0, -TITLE_H, width, TITLE_H + height)
        self._bounds = self._frame.adjusted(-SOCKET_R - 3, -6, SOCKET_R + 3, 6)
        path = QPainterPath()
        path.addRoundedRect(self._frame, 6.0, 6.0)
        self._outline = path
        grab = QPainterPath()  # clicks on the half of a socket outside the frame still hit the node
        grab.addRect(self._frame.adjusted(-SOCKET_R - 3, 0, SOCKET_R + 3, 0))
        self._shape = grab

    def _has_widget(self, name: str) -> bool:
        return self.node_type is not None and self.node_type.widget(name) is not None

    def _widget_rows(self) -> list[WidgetRow]:
        node = self.node
        by_widget = {s.widget or s.name: i for i, s in enumerate(node.inputs)}
        if self.node_type is not None:
            rows = []
            for slot in widget_slots(self.node_type, node.widgets_values):
                index = by_widget.get(slot.spec.name)
                linked = index is not None and node.inputs[index].link is not None
                rows.append(WidgetRow(slot.spec.name, slot.value, slot.index, slot.spec, index, linked))
            return rows
        values = node.widgets_values
        if isinstance(values, dict):
            return [WidgetRow(str(k), v, k, None, None, False) for k, v in values.items()]
        if isinstance(values, list):
            named = node.extra.get("widgets_values_named")
            names = list(named) if isinstance(named, dict) and len(named) == len(values) else []
            return [
                WidgetRow(names[i] if names else f"value {i + 1}", v, i, None, None, False)
                for i, v in enumerate(values)
            ]
        return []

    # -------------------------------------------------------------- geometry

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._shape

    def input_pos(self, slot: int) -> QPointF:
        """Scene position of input `slot` (widget inputs sit on their widget row)."""
        if self.collapsed:
            return self.mapToScene(QPointF(0.0, -TITLE_H / 2))
        if slot in self.link_inputs:
            return self.mapToScene(QPointF(0.0, row_centre_y(self.link_inputs.index(slot))))
        row = next((r for r in self.rows if r.input_index == slot), None)
        if row is not None:
            return self.mapToScene(QPointF(0.0, row.rect.center().y()))
        return self.mapToScene(QPointF(0.0, -TITLE_H / 2))

    def output_pos(self, slot: int) -> QPointF:
        if self.collapsed:
            return self.mapToScene(QPointF(self.w, -TITLE_H / 2))
        return self.mapToScene(QPointF(self.w, row_centre_y(slot)))

    def hit(self, local: QPointF) -> Hit:
        if local.y() < 0:
            return Hit(HitKind.TITLE)
        if self.collapsed:
            return Hit(HitKind.BODY)
        for slot in range(len(self.node.outputs)):
            if socket_rect(QPointF(self.w, row_centre_y(slot)), 5.0).contains(local):
                return Hit(HitKind.OUTPUT, slot)
        for row_no, slot in enumerate(self.link_inputs):
            if socket_rect(QPointF(0.0, row_centre_y(row_no)), 5.0).contains(local):
                return Hit(HitKind.INPUT, slot)
        for i, row in enumerate(self.rows):
            if row.input_index is not None and socket_rect(QPointF(0.0, row.rect.center().y()), 5.0).contains(local):
                return Hit(HitKind.INPUT, row.input_index)
            if row.rect.contains(local):
                return Hit(HitKind.WIDGET, i)
        return Hit(HitKind.BODY)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for link in self.links:
                link.refresh()
        return super().itemChange(change, value)

    # -------------------------------------------------------------- painting

    def _colours(self) -> tuple[QColor, QColor]:
        header = self.node.extra.get("color")
        body = self.node.extra.get("bgcolor")
        h = QColor(header) if isinstance(header, str) and QColor(header).isValid() else self.style.node_header
        b = QColor(body) if isinstance(body, str) and QColor(body).isValid() else self.style.node_bg
        return h, b

    def _border(self) -> QPen | None:
        st = self.style
        if self.isSelected():
            return QPen(st.selected, 2.0)
        levels = {m.level for m in self.markers}
        if "error" in levels or self.state.status == "error":
            return QPen(st.error, 2.5)
        if self.state.status == "running":
            return QPen(st.running, 2.5)
        if "warning" in levels:
            return QPen(st.warn, 2.0)
        return None

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        st = self.style
        header, body = self._colours()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if self.node.mode == NodeMode.NEVER:
            painter.setOpacity(0.45)
        frame = self._frame
        title_rect = QRectF(frame.x(), frame.y(), frame.width(), TITLE_H)
        border = self._border()
        if lod < LOD_DETAIL:
            painter.fillRect(frame, body)
            painter.fillRect(title_rect, header)
            if border is not None:
                painter.setPen(border)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(frame)
            if lod >= LOD_BOXES:
                painter.setFont(st.title_font)
                painter.setPen(st.text)
                painter.drawText(title_rect.adjusted(8, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter, self.elided_title)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(border or QPen(st.node_border, 1.0))
        painter.setBrush(body)
        painter.drawPath(self._outline)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(header)
        painter.drawRoundedRect(title_rect.adjusted(1, 1, -1, 0), 5.0, 5.0)
        if self.node.mode == NodeMode.BYPASS:
            painter.fillRect(frame, QColor(160, 70, 210, 70))
        painter.setFont(st.title_font)
        painter.setPen(st.text)
        painter.drawText(title_rect.adjusted(22, 0, -6, 0), Qt.AlignmentFlag.AlignVCenter, self.elided_title)
        painter.setBrush(st.text_muted)
        painter.drawEllipse(QPointF(11.0, -TITLE_H / 2), 4.0, 4.0)
        self._paint_state(painter, title_rect)
        if self.collapsed:
            return
        self.paint_body(painter)

    def _paint_state(self, painter: QPainter, title_rect: QRectF) -> None:
        st = self.style
        if self.markers:
            level = "error" if any(m.level == "error" for m in self.markers) else "warning"
            colour = st.error if level == "error" else st.warn
            centre = QPointF(title_rect.right() - 12.0, title_rect.center().y())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(centre, 8.0, 8.0)
            painter.setPen(st.bg)
            painter.drawText(QRectF(centre.x() - 8, centre.y() - 8, 16, 16), Qt.AlignmentFlag.AlignCenter, "!")
        if self.state.progress is not None:
            bar = QRectF(title_rect.left(), title_rect.bottom() - 3.0, title_rect.width() * self.state.progress, 3.0)
            painter.fillRect(bar, st.running)
        if self.state.status == "cached":
            painter.setPen(st.text_muted)
            painter.drawText(
                title_rect.adjusted(0, 0, -26, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, "cached"
            )

    def _texts(self) -> list[tuple[QRectF, int, str, QColor]]:
        """Every label and value of the body, elided once per layout (painting only draws them)."""
        st = self.style
        node = self.node
        fm = QFontMetricsF(st.font)
        half = self.w / 2 - 14.0
        left = int(Qt.AlignmentFlag.AlignVCenter)
        right = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight)
        out: list[tuple[QRectF, int, str, QColor]] = []
        for row_no, slot in enumerate(self.link_inputs):
            y = row_centre_y(row_no)
            label = fm.elidedText(node.inputs[slot].display_name, Qt.TextElideMode.ElideRight, half)
            out.append((QRectF(12.0, y - ROW_H / 2, half, ROW_H), left, label, st.text_dim))
        for slot, sock in enumerate(node.outputs):
            y = row_centre_y(slot)
            label = fm.elidedText(sock.label or sock.name, Qt.TextElideMode.ElideLeft, half)
            out.append((QRectF(self.w - 12.0 - half, y - ROW_H / 2, half, ROW_H), right, label, st.text_dim))
        for row in self.rows:
            r = row.rect
            text_r = r.adjusted(14, 0, -14, 0)
            name = fm.elidedText(row.label, Qt.TextElideMode.ElideRight, text_r.width() * 0.45)
            out.append((text_r, left, name, st.text_muted if row.linked else st.text_dim))
            value = "← linked" if row.linked else format_value(row.value, row.spec)
            if row.spec is not None and row.spec.kind in (WidgetKind.INT, WidgetKind.FLOAT) and not row.linked:
                out.append((r.adjusted(5, 0, 0, 0), left, "<", st.text_dim))
                out.append((r.adjusted(0, 0, -5, 0), right, ">", st.text_dim))
            shown = fm.elidedText(value, Qt.TextElideMode.ElideMiddle, text_r.width() - fm.horizontalAdvance(name) - 10)
            out.append((text_r, right, shown, st.text))
        return out

    def paint_body(self, painter: QPainter) -> None:
        st = self.style
        node = self.node
        for row_no, slot in enumerate(self.link_inputs):
            sock = node.inputs[slot]
            draw_socket(
                painter, QPointF(0.0, row_centre_y(row_no)), st.type_colour(sock.type), connected=sock.link is not None
            )
        for slot, out in enumerate(node.outputs):
            draw_socket(
                painter, QPointF(self.w, row_centre_y(slot)), st.type_colour(out.type), connected=bool(out.links)
            )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(st.input_bg)
        for row in self.rows:
            painter.drawRoundedRect(row.rect, WIDGET_H / 2, WIDGET_H / 2)
        for row in self.rows:
            if row.linked and row.input_index is not None:
                sock = node.inputs[row.input_index]
                draw_socket(painter, QPointF(0.0, row.rect.center().y()), st.type_colour(sock.type), connected=True)
        if self._text_cache is None:
            self._text_cache = self._texts()
        painter.setFont(st.font)
        for rect, flags, text, colour in self._text_cache:
            painter.setPen(colour)
            painter.drawText(rect, flags, text)
