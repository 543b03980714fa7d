"""Keyboard shortcuts (Ctrl+Alt+K): choose a keymap preset and give any command your own keys.

Keyboard first: type to filter (by command, category, id or key), ↑/↓ through the list, Enter to
record a new key for the selected command, Backspace to clear its keys, Ctrl+Z / Ctrl+Shift+Z to
undo and redo. Nothing changes in the studio until OK; the edits themselves live in the Qt-free
`ShortcutEdits`, which runs the same merge the window will run, so a key taken from another command
is said before it is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.actions.keymap import Keymap
from x121_desktop.actions.overrides import Overrides
from x121_desktop.actions.registry import ActionRegistry
from x121_desktop.actions.shortcut_edits import ShortcutEdits
from x121_desktop.core.errors import ConfigError, InvalidInput

COLUMNS = ("Command", "Category", "Shortcut", "")


def native(sequence: str) -> str:
    """A canonical sequence as the platform writes it (⌘ on macOS)."""
    return QKeySequence(sequence, QKeySequence.SequenceFormat.PortableText).toString(
        QKeySequence.SequenceFormat.NativeText
    )


class _KeyRecorder(QKeySequenceEdit):
    """One key combination; Enter or a pause ends the recording (Esc cancels it)."""

    recorded = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setMaximumSequenceLength(1)
        self.editingFinished.connect(self._finish)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.clear()
            self.cancelled.emit()
            return
        super().keyPressEvent(event)

    def _finish(self) -> None:
        text = self.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
        self.clear()
        if text:
            self.recorded.emit(text)


class ShortcutsDialog(QDialog):
    def __init__(
        self,
        registry: ActionRegistry,
        presets: Mapping[str, str],
        load_preset: Callable[[str], Keymap],
        current: Keymap,
        overrides: Overrides,
        parent: QWidget | None = None,
    ) -> None:
        """`presets` maps preset name → title; `load_preset` reads one (the window's keymap loader)."""
        super().__init__(parent)
        self.setObjectName("ShortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(760, 620)
        self._registry = registry
        self._load_preset = load_preset
        self.edits = ShortcutEdits(registry, current, overrides)
        self._rows: list[str] = []  # action id per table row
        self._build(presets, current)
        self._fill()
        self.table.selectRow(0)
        self.filter.setFocus()

    def _build(self, presets: Mapping[str, str], current: Keymap) -> None:
        self.preset_box = QComboBox(self)
        for name, title in presets.items():
            self.preset_box.addItem(title or name, name)
        self.preset_box.setCurrentIndex(max(0, self.preset_box.findData(current.name)))
        self.preset_box.activated.connect(self._preset_chosen)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Search commands or keys")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.filter.installEventFilter(self)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.installEventFilter(self)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemDoubleClicked.connect(lambda _item: self.start_recording())

        self.recorder = _KeyRecorder(self)
        self.recorder.recorded.connect(self._recorded)
        self.recorder.cancelled.connect(self.table.setFocus)
        self.record_button = QPushButton("Add key…", self)
        self.record_button.clicked.connect(self.start_recording)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(self.clear_selected)
        self.reset_button = QPushButton("Reset to preset", self)
        self.reset_button.clicked.connect(self.reset_selected)
        self.reset_all_button = QPushButton("Reset all", self)
        self.reset_all_button.clicked.connect(lambda: self._do(self.edits.reset_all))
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_button.clicked.connect(lambda: self._do(self.edits.undo))
        self.redo_button = QPushButton("Redo", self)
        self.redo_button.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        self.redo_button.clicked.connect(lambda: self._do(self.edits.redo))
        self._lay_out()

    def _lay_out(self) -> None:
        self.message = QLabel(self)
        self.message.setObjectName("ShortcutsMessage")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(QLabel("Preset", self))
        top.addWidget(self.preset_box)
        top.addWidget(self.filter, 1)
        keys = QHBoxLayout()
        keys.addWidget(QLabel("New key", self))
        keys.addWidget(self.recorder, 1)
        for button in (self.record_button, self.clear_button, self.reset_button):
            keys.addWidget(button)
        history = QHBoxLayout()
        for button in (self.undo_button, self.redo_button, self.reset_all_button):
            history.addWidget(button)
        history.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(keys)
        layout.addWidget(self.message)
        layout.addLayout(history)
        layout.addWidget(self.buttons)

    # ------------------------------------------------------------ what the caller reads after OK

    @property
    def preset_name(self) -> str:
        return self.edits.preset.name

    @property
    def overrides(self) -> dict[str, tuple[str, ...]]:
        return self.edits.overrides

    # ------------------------------------------------------------ commands (buttons and keys)

    def selected_action(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self._rows[rows[0].row()] if rows else None

    def start_recording(self) -> None:
        if self.selected_action() is not None:
            self.recorder.clear()
            self.recorder.setFocus()
            self.message.setText("Press the new key combination (Esc cancels).")

    def record(self, sequence: str) -> None:
        """Give the selected command `sequence` (the recorder calls this; tests may too)."""
        action_id = self.selected_action()
        if action_id is None:
            return
        try:
            before = self.edits.effective
            canonical = self.edits.add_key(action_id, sequence)
        except InvalidInput as exc:
            self.message.setText(f"{exc.problem}. {exc.fix}.")
            return
        self._refresh(action_id)
        taken = [self._registry.get(a).title for a in before.actions_for(canonical) if a != action_id]
        said = f"{native(canonical)} now runs “{self._registry.get(action_id).title}”."
        self.message.setText(said + (f" It was taken from “{', '.join(taken)}”." if taken else ""))

    def clear_selected(self) -> None:
        action_id = self.selected_action()
        if action_id is not None:
            self._do(lambda: self.edits.clear(action_id))

    def reset_selected(self) -> None:
        action_id = self.selected_action()
        if action_id is not None:
            self._do(lambda: self.edits.reset(action_id))

    # ------------------------------------------------------------ internals

    def _recorded(self, sequence: str) -> None:
        self.record(sequence)
        self.table.setFocus()

    def _preset_chosen(self, index: int) -> None:
        name = str(self.preset_box.itemData(index))
        if name == self.edits.preset.name:
            return
        try:
            preset = self._load_preset(name)
        except ConfigError as exc:
            self.preset_box.setCurrentIndex(max(0, self.preset_box.findData(self.edits.preset.name)))
            self.message.setText(f"{exc.problem}. {exc.fix}.")
            return
        self._do(lambda: self.edits.switch_preset(preset))

    def _do(self, edit: Callable[[], None]) -> None:
        action_id = self.selected_action()
        edit()
        self._refresh(action_id)
        self.message.setText(" ".join(self.edits.notices))

    def _fill(self) -> None:
        actions = sorted(self._registry, key=lambda a: (a.category, a.title))
        self._rows = [a.id for a in actions]
        self.table.setRowCount(len(actions))
        for row, action in enumerate(actions):
            name = QTableWidgetItem(action.title)
            name.setToolTip(f"{action.id}\n{action.description}".strip())
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(action.category))
            self.table.setItem(row, 2, QTableWidgetItem())
            self.table.setItem(row, 3, QTableWidgetItem())
        self._refresh(None)

    def _refresh(self, keep_selected: str | None) -> None:
        for row, action_id in enumerate(self._rows):
            keys = self.edits.keys_for(action_id)
            self._cell(row, 2).setText(", ".join(native(k) for k in keys))
            self._cell(row, 3).setText("yours" if self.edits.is_overridden(action_id) else "")
            if action_id == keep_selected:
                self.table.selectRow(row)
        index = self.preset_box.findData(self.edits.preset.name)
        if index >= 0:
            self.preset_box.setCurrentIndex(index)
        self.undo_button.setEnabled(self.edits.can_undo)
        self.redo_button.setEnabled(self.edits.can_redo)
        self._apply_filter(self.filter.text())

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row, action_id in enumerate(self._rows):
            haystack = " ".join([action_id] + [self._cell(row, c).text() for c in range(len(COLUMNS))]).lower()
            self.table.setRowHidden(row, bool(needle) and needle not in haystack)

    def _selection_changed(self) -> None:
        has = self.selected_action() is not None
        for button in (self.record_button, self.clear_button, self.reset_button):
            button.setEnabled(has)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """From the search box, ↑/↓ move the list; in the list, Enter records and Backspace clears."""
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key = event.key()
        if watched is self.filter and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self._move(-1 if key == Qt.Key.Key_Up else 1)
            return True
        plain = event.modifiers() == Qt.KeyboardModifier.NoModifier
        if watched in (self.filter, self.table) and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            self.start_recording()
            return True
        if watched is self.table and key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self.clear_selected()
            return True
        return super().eventFilter(watched, event)

    def _move(self, step: int) -> None:
        visible = [r for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]
        if not visible:
            return
        rows = self.table.selectionModel().selectedRows()
        current = rows[0].row() if rows else -1
        after = [r for r in visible if (r > current if step > 0 else r < current)]
        target = (after[0] if step > 0 else after[-1]) if after else (visible[-1] if step > 0 else visible[0])
        self.table.selectRow(target)
        self.table.scrollToItem(self._cell(target, 0))

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.table.item(row, column)
        assert item is not None, "every cell is filled in _fill"
        return item
