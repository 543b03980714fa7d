"""The progress panel: one row per running long operation (title, bar, message, Cancel)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from x121_desktop.ui.concurrency import Operation, ProgressCenter

BAR_STEPS = 1000


class OperationRow(QWidget):
    def __init__(self, op: Operation, center: ProgressCenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.op_id = op.id
        self.setObjectName(f"operation-{op.id}")
        self.title = QLabel(op.title, self)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.message = QLabel("", self)
        self.message.setProperty("role", "muted")
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setObjectName("CancelOperation")
        self.cancel.clicked.connect(lambda: center.cancel(self.op_id))
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        self.show_operation(op)

    def show_operation(self, op: Operation) -> None:
        if op.total > 0:
            self.bar.setRange(0, BAR_STEPS)
            self.bar.setValue(round(BAR_STEPS * min(max(op.done / op.total, 0.0), 1.0)))
            percent = f"{100.0 * op.done / op.total:.0f} %"
            self.message.setText(f"{percent} · {op.message}" if op.message else percent)
        else:
            self.bar.setRange(0, 0)  # busy: the amount of work is not known yet
            self.message.setText(op.message)
        self.cancel.setVisible(op.cancellable)
        self.cancel.setEnabled(not op.cancel_requested)


class ProgressPanel(QWidget):
    """A view of the window's ProgressCenter."""

    def __init__(self, center: ProgressCenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProgressPanel")
        self._center = center
        self.rows: dict[int, OperationRow] = {}
        self.idle = QLabel("No operations running.", self)
        self.idle.setProperty("role", "muted")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.setSpacing(2)
        self._layout.addWidget(self.idle)
        self._layout.addStretch(1)
        center.operation_started.connect(self._started)
        center.operation_progressed.connect(self._progressed)
        center.operation_finished.connect(self._finished)
        for op in center.operations():
            self._started(op.id)

    def _started(self, op_id: int) -> None:
        op = self._center.get(op_id)
        if op is None or op_id in self.rows:
            return
        row = OperationRow(op, self._center, self)
        self.rows[op_id] = row
        self._layout.insertWidget(self._layout.count() - 1, row)
        self.idle.hide()

    def _progressed(self, op_id: int) -> None:
        op = self._center.get(op_id)
        row = self.rows.get(op_id)
        if op is not None and row is not None:
            row.show_operation(op)

    def _finished(self, op_id: int) -> None:
        row = self.rows.pop(op_id, None)
        if row is not None:
            self._layout.removeWidget(row)
            row.deleteLater()
        self.idle.setVisible(not self.rows)
