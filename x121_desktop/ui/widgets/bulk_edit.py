"""BulkEditDialog: search & replace over one metadata field of many items, with a live preview.

The preview is computed from the items as shown (a pure function handed in); applying is the
panel's job (one service call = one transaction), which re-reads the rows under lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.errors import X121Error
from x121_desktop.services.library import BulkChange, BulkEditRequest, EditField, ItemKey, LibraryItem

PREVIEW_ROWS = 300
Preview = Callable[[Iterable[LibraryItem], BulkEditRequest], Sequence[BulkChange]]


class BulkEditDialog(QDialog):
    def __init__(self, items: Sequence[LibraryItem], preview: Preview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Bulk edit {len(items)} items")
        self._items = tuple(items)
        self._preview = preview
        self.field = QComboBox()
        for f in EditField:
            self.field.addItem(f.value.capitalize(), f.value)
        self.find_edit = QLineEdit()
        self.find_edit.setPlaceholderText("Find (empty: set the whole field)")
        self.replace_edit = QLineEdit()
        self.replace_edit.setPlaceholderText("Replace with")
        self.match_case = QCheckBox("Match case")
        self.match_case.setChecked(True)
        self.regex = QCheckBox("Regular expression")
        self.summary = QLabel()
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Item", "Before", "After"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.clicked.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Field", self.field)
        form.addRow("Find", self.find_edit)
        form.addRow("Replace", self.replace_edit)
        flags = QHBoxLayout()
        flags.addWidget(self.match_case)
        flags.addWidget(self.regex)
        flags.addStretch(1)
        form.addRow("", flags)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.buttons)
        for edit in (self.find_edit, self.replace_edit):
            edit.textChanged.connect(self.refresh_preview)
        for box in (self.match_case, self.regex):
            box.toggled.connect(self.refresh_preview)
        self.field.currentIndexChanged.connect(self.refresh_preview)
        self.resize(640, 420)
        self.refresh_preview()

    @property
    def keys(self) -> tuple[ItemKey, ...]:
        return tuple(item.key for item in self._items)

    def request(self) -> BulkEditRequest:
        return BulkEditRequest(
            keys=self.keys,
            field=EditField(self.field.currentData()),
            find=self.find_edit.text(),
            replace=self.replace_edit.text(),
            match_case=self.match_case.isChecked(),
            regex=self.regex.isChecked(),
        )

    def refresh_preview(self) -> None:
        try:
            changes = self._preview(self._items, self.request())
        except X121Error as exc:
            self.summary.setText(exc.sentence)
            self.apply_button.setEnabled(False)
            self.table.setRowCount(0)
            return
        self.summary.setText(f"{len(changes)} of {len(self._items)} items change")
        self.apply_button.setEnabled(bool(changes))
        shown = changes[:PREVIEW_ROWS]
        self.table.setRowCount(len(shown))
        for row, change in enumerate(shown):
            for col, value in enumerate((change.name, change.before, change.after)):
                self.table.setItem(row, col, QTableWidgetItem(value))
