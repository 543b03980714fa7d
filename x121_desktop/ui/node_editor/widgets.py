"""Inline widget editors: opened over a node's widget row, committed as one `SetWidgetValue`.

Combos (and file pickers with upload) open a filterable list, numbers a spin box limited to the
input's range, strings a line edit, multiline strings a text box (Ctrl+Return commits). Escape or
focus loss without a change commits nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.graph.catalog import WidgetKind, WidgetSpec
from x121_desktop.ui.node_editor.items.node import WidgetRow

type Commit = Callable[[Any], None]

INT_LIMIT = 2**31 - 1


class InlineEditor(QFrame):
    """A small frame over the canvas holding one editor; it closes itself after commit or cancel."""

    def __init__(self, parent: QWidget, row: WidgetRow, commit: Commit) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.row, self._commit = row, commit
        self.setObjectName("nodeEditorInline")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(2, 2, 2, 2)
        self.editor = self._build(row.spec, row.value)
        self.layout_.addWidget(self.editor)
        self.editor.installEventFilter(self)

    def _build(self, spec: WidgetSpec | None, value: Any) -> QWidget:
        kind = spec.kind if spec is not None else WidgetKind.STRING
        if spec is not None and kind in (WidgetKind.COMBO, WidgetKind.UPLOAD):
            return self._choice(spec, value)
        if kind is WidgetKind.INT:
            box = QSpinBox()
            box.setRange(
                int(max(spec.minimum if spec and spec.minimum is not None else -INT_LIMIT, -INT_LIMIT)),
                int(min(spec.maximum if spec and spec.maximum is not None else INT_LIMIT, INT_LIMIT)),
            )
            box.setValue(int(value) if isinstance(value, int | float) else 0)
            box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            box.editingFinished.connect(lambda: self.finish(box.value()))
            return box
        if kind is WidgetKind.FLOAT:
            dbox = QDoubleSpinBox()
            dbox.setDecimals(4)
            dbox.setRange(
                spec.minimum if spec and spec.minimum is not None else -1e12,
                spec.maximum if spec and spec.maximum is not None else 1e12,
            )
            dbox.setSingleStep(spec.step if spec and spec.step else 0.01)
            dbox.setValue(float(value) if isinstance(value, int | float) else 0.0)
            dbox.editingFinished.connect(lambda: self.finish(dbox.value()))
            return dbox
        if kind is WidgetKind.MULTILINE:
            text = QPlainTextEdit("" if value is None else str(value))
            text.setMinimumSize(360, 160)
            return text
        line = QLineEdit("" if value is None else str(value))
        line.editingFinished.connect(lambda: self.finish(line.text()))
        return line

    def _choice(self, spec: WidgetSpec, value: Any) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter…")
        self.choices = QListWidget()
        self.choices.addItems([str(c) for c in spec.choices])
        self.choices.setMinimumSize(280, 200)
        matches = self.choices.findItems(str(value), Qt.MatchFlag.MatchExactly)
        if matches:
            self.choices.setCurrentItem(matches[0])
        self.filter.textChanged.connect(self._filter)
        self.filter.returnPressed.connect(self._pick_current)
        self.choices.itemActivated.connect(lambda it: self.finish(_original(spec, it.text())))
        lay.addWidget(self.filter)
        lay.addWidget(self.choices)
        if spec.kind is WidgetKind.UPLOAD:
            pick = QPushButton("Choose file…")
            pick.clicked.connect(self._choose_file)
            lay.addWidget(pick)
        self.filter.setFocus()
        return box

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        first = None
        for i in range(self.choices.count()):
            item = self.choices.item(i)
            hidden = not all(w in item.text().lower() for w in words)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        if first is not None:
            self.choices.setCurrentItem(first)

    def _pick_current(self) -> None:
        item = self.choices.currentItem()
        if item is not None and not item.isHidden() and self.row.spec is not None:
            self.finish(_original(self.row.spec, item.text()))

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file to use as input")
        if path:
            self.finish(path.rsplit("/", 1)[-1])

    def finish(self, value: Any) -> None:
        if self.isVisible():
            self.hide()
            if value != self.row.value:
                self._commit(value)
            self.deleteLater()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape:
                self.hide()
                self.deleteLater()
                return True
            if (
                isinstance(self.editor, QPlainTextEdit)
                and event.key() == Qt.Key.Key_Return
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self.finish(self.editor.toPlainText())
                return True
        return super().eventFilter(watched, event)

    def hideEvent(self, event: Any) -> None:
        if isinstance(self.editor, QPlainTextEdit) and self.editor.toPlainText() != (self.row.value or ""):
            value = self.editor.toPlainText()
            self.editor = QWidget()  # commit once
            self._commit(value)
        super().hideEvent(event)


def _original(spec: WidgetSpec, text: str) -> Any:
    """The choice as the server listed it (choices may be numbers)."""
    return next((c for c in spec.choices if str(c) == text), text)


def open_inline_editor(parent: QWidget, at: QPoint, row: WidgetRow, commit: Commit) -> InlineEditor:
    editor = InlineEditor(parent, row, commit)
    editor.move(at)
    editor.show()
    editor.editor.setFocus()
    return editor
