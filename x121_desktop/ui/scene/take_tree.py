"""A segment's take version tree: every take under its parent, when and by whom, its verdicts; the current one marked.

Always fully expanded. Up/Down move through takes; Left goes back to the chain (`chain_requested`).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from x121_desktop.core.enums import TakeStatus
from x121_desktop.services.scene_workspace import TakeNode

TAKE_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Take", "Reason", "Status", "Made", "Verdicts")
CURRENT = "● current"


def when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def verdict_text(node: TakeNode) -> str:
    parts = [f"{who}: {v.label.lower()}" + (f" ({note})" if note else "") for who, v, note in node.verdicts]
    if node.approved_by is not None:
        parts.insert(0, f"final approval by {node.approved_by}")
    if node.take.status is TakeStatus.CANCELLED:  # its job was cancelled: no reason beyond that, usually
        parts.append("cancelled" if node.error in (None, TakeStatus.CANCELLED.label) else f"cancelled: {node.error}")
    elif node.error:
        parts.append(f"failed: {node.error}")
    return "; ".join(parts)


class TakeTree(QTreeWidget):
    take_selected = Signal(int)
    """Id of the take now selected; -1 when none."""
    chain_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SceneTakeTree")
        self.setHeaderLabels(list(COLUMNS))
        self.setItemsExpandable(False)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.header()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.nodes: dict[int, TakeNode] = {}
        self.current_take_id: int | None = None
        self.itemSelectionChanged.connect(lambda: self.take_selected.emit(self.selected_take()))

    def show_takes(self, nodes: tuple[TakeNode, ...], current_take_id: int | None) -> None:
        """Fill the tree; the selected take stays selected while the current take is the same, else the
        (new) current one is selected."""
        keep = self.selected_take() if current_take_id == self.current_take_id else -1
        self.blockSignals(True)
        try:
            self.clear()
            self.nodes = {int(n.take.id): n for n in nodes}
            self.current_take_id = current_take_id
            items: dict[int, QTreeWidgetItem] = {}
            for node in nodes:  # oldest first, so a parent is placed before its children
                parent = items.get(int(node.take.parent_take_id or 0))
                item = self._item(node, current_take_id)
                if parent is None:
                    self.addTopLevelItem(item)
                else:
                    parent.addChild(item)
                items[int(node.take.id)] = item
            self.expandAll()
            chosen = items.get(keep) or items.get(int(current_take_id or 0))
            if chosen is not None:
                self.setCurrentItem(chosen)
        finally:
            self.blockSignals(False)
        self.take_selected.emit(self.selected_take())

    def _item(self, node: TakeNode, current_take_id: int | None) -> QTreeWidgetItem:
        take = node.take
        label = f"#{take.id}" + (f"  {CURRENT}" if take.id == current_take_id else "")
        seed = "" if take.seed is None else f", seed {take.seed}"
        item = QTreeWidgetItem(
            [label, take.reason.label + seed, take.status.label, f"{when(take.created_at)} · {node.author}",
             verdict_text(node)]
        )  # fmt: skip
        item.setData(0, TAKE_ROLE, int(take.id))
        item.setToolTip(0, f"parent take #{take.parent_take_id}" if take.parent_take_id else "first take")
        if take.id == current_take_id:
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
        return item

    def selected_take(self) -> int:
        item = self.currentItem()
        return int(item.data(0, TAKE_ROLE)) if item is not None and item.isSelected() else -1

    def select_take(self, take_id: int) -> bool:
        for item in self.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive):
            if item.data(0, TAKE_ROLE) == take_id:
                self.setCurrentItem(item)
                return True
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Left and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.chain_requested.emit()
            return
        super().keyPressEvent(event)
