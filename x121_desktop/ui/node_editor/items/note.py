"""Note and MarkdownNote nodes: a text card (the first widget value), not sent to the server."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter

from x121_desktop.ui.node_editor.items.node import NodeItem

NOTE_TYPES = frozenset({"Note", "MarkdownNote"})


class NoteItem(NodeItem):
    @property
    def text(self) -> str:
        values = self.node.widgets_values
        return str(values[0]) if isinstance(values, list) and values else ""

    def _widget_rows(self) -> list:  # type: ignore[type-arg]  # the note's text is painted as a card, not as rows
        return []

    def paint_body(self, painter: QPainter) -> None:
        painter.setFont(self.style.font)
        painter.setPen(self.style.text_dim)
        box = QRectF(10.0, 8.0, self.w - 20.0, max(self.h - 16.0, 20.0))
        painter.setClipRect(box)
        painter.drawText(
            box, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop) | int(Qt.TextFlag.TextWordWrap), self.text
        )
        painter.setClipping(False)
