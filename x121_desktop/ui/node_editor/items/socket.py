"""Sockets: where a node's inputs and outputs sit, how they are drawn, and what a click hits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen

from x121_desktop.ui.node_editor.style import ROW_H, SOCKET_R


class HitKind(StrEnum):
    INPUT = "input"
    OUTPUT = "output"
    WIDGET = "widget"
    TITLE = "title"
    BODY = "body"


@dataclass(frozen=True, slots=True)
class Hit:
    kind: HitKind
    index: int = -1  # input/output slot, or widget row


def row_centre_y(row: int) -> float:
    return ROW_H * (row + 0.5) + 4.0


def socket_rect(centre: QPointF, grow: float = 0.0) -> QRectF:
    r = SOCKET_R + grow
    return QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r)


def draw_socket(painter: QPainter, centre: QPointF, colour: QColor, *, connected: bool, optional: bool = False) -> None:
    painter.setPen(QPen(colour, 1.5))
    painter.setBrush(colour if connected else QColor(0, 0, 0, 0))
    if optional:
        painter.drawRect(socket_rect(centre, -1.0))
    else:
        painter.drawEllipse(socket_rect(centre))
