"""Tab: search node types by name, title or category and place the chosen one at the cursor."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from x121_desktop.core.graph.catalog import NodeCatalog, NodeType

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


class NodeSearch(QFrame):
    chosen = Signal(object)  # NodeType

    def __init__(self, catalog: NodeCatalog, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.catalog = catalog
        self.setObjectName("nodeSearch")
        self.setMinimumSize(420, 360)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.field = QLineEdit()
        self.field.setPlaceholderText("Search node types…")
        self.results = QListWidget()
        self.hint = QLabel()
        self.hint.setObjectName("muted")
        lay.addWidget(self.field)
        lay.addWidget(self.results)
        lay.addWidget(self.hint)
        self.field.textChanged.connect(self.refresh)
        self.field.installEventFilter(self)
        self.results.itemActivated.connect(self._activate)
        self.refresh("")

    def refresh(self, text: str) -> None:
        self.results.clear()
        found = self.catalog.search(text, limit=60)
        for node_type in found:
            item = QListWidgetItem(f"{node_type.display_name}    {node_type.category}")
            item.setData(TYPE_ROLE, node_type.name)
            item.setToolTip(node_type.name)
            self.results.addItem(item)
        if found:
            self.results.setCurrentRow(0)
        self.hint.setText(
            f"{len(found)} shown of {len(self.catalog)} types from {self.catalog.source}"
            if len(self.catalog)
            else "No node list is loaded: load /object_info from a server or a file."
        )

    def _activate(self, item: QListWidgetItem) -> None:
        node_type = self.catalog.get(str(item.data(TYPE_ROLE)))
        if node_type is not None:
            self.hide()
            self.chosen.emit(node_type)

    def choose_current(self) -> NodeType | None:
        item: QListWidgetItem | None = self.results.currentItem()
        if item is None:
            return None
        self._activate(item)
        return self.catalog.get(str(item.data(TYPE_ROLE)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose_current()
                return True
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.results.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                self.results.setCurrentRow(max(0, min(self.results.count() - 1, row)))
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)
