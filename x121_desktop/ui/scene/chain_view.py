"""The chain of a scene as a table: one row per segment, in order, with the seam light into it and its lock.

Row k shows segment k+1: planned frames, status, current take, the seam from segment k's current take
into this one's (green/amber/red with the engine's score; grey while not measured) and who holds its
lock. Up/Down move through segments, Shift+Up/Down select a range (for regenerating N-M), Right goes
to the take tree beside it (`take_tree_requested`).
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QTableWidgetSelectionRange,
    QWidget,
)

from x121_desktop.core.collab import leases
from x121_desktop.services.scene_workspace import ChainLink, Workspace
from x121_desktop.ui.panels.notifications import dot_icon
from x121_desktop.ui.review.seams import grade_color

COLUMNS = ("#", "Frames", "Status", "Current take", "Seam in", "Lock")
SEAM_COLUMN = 4
LOCK_COLUMN = 5
UNMEASURED = QColor("#6e7681")


def seam_text(link: ChainLink) -> tuple[str, QColor | None]:
    """What the seam cell says and the light's colour (None: no seam into segment 1)."""
    if link.segment.position == 0:
        return "—", None
    if link.seam_before is None:
        return "not measured", UNMEASURED
    seam = link.seam_before
    healed = " · healed" if (seam.remedy or {}).get("verdict") == "healed" else ""
    return f"{seam.grade.label.lower()} {seam.score:.2f}{healed}", grade_color(seam.grade)


def lock_text(link: ChainLink, me: int | None) -> str:
    if link.lock is None:
        return ""
    who = "you" if me is not None and int(link.lock.holder_id) == me else link.lock.holder_name
    return f"{who} on {link.lock.machine} ({leases.describe_remaining(link.lock.remaining)})"


class ChainView(QTableWidget):
    segment_selected = Signal(int)
    """Position (0-based) of the segment now current; -1 when none."""
    take_tree_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("SceneChain")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(LOCK_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.links: tuple[ChainLink, ...] = ()
        self.itemSelectionChanged.connect(self._selection_changed)

    def show_chain(self, workspace: Workspace) -> None:
        """Fill the rows; the selection (by position) is kept."""
        first, last = self.selected_range() or (-1, -1)
        self.blockSignals(True)
        try:
            self.links = workspace.chain
            self.setRowCount(len(workspace.chain))
            for row, link in enumerate(workspace.chain):
                self._fill(row, link, workspace)
            if first >= 0 and last < self.rowCount():
                self.select_range(first, last)
        finally:
            self.blockSignals(False)
        self._selection_changed()

    def _fill(self, row: int, link: ChainLink, workspace: Workspace) -> None:
        seg, take = link.segment, link.current
        approved = take is not None and take.id in workspace.view.approvals
        cells = [
            str(seg.position + 1),
            str(seg.planned_frames),
            seg.status.label + (" · final" if approved else ""),
            "—" if take is None else f"#{take.id} {take.reason.label.lower()} · {take.status.label.lower()}",
            "",
            lock_text(link, workspace.me),
        ]
        seam, colour = seam_text(link)
        cells[SEAM_COLUMN] = seam
        for column, value in enumerate(cells):
            item = QTableWidgetItem(value)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if column == SEAM_COLUMN and colour is not None:
                item.setIcon(dot_icon(colour, 12))
                item.setData(Qt.ItemDataRole.UserRole, colour.name())
                if link.seam_before is not None:
                    reasons = link.seam_before.metrics.get("reasons") or []
                    item.setToolTip("\n".join(str(r) for r in reasons) or "no problem found")
            if column == LOCK_COLUMN and link.lock is not None:
                item.setToolTip(f"Locked by {link.lock.holder_name} on {link.lock.machine}")
            self.setItem(row, column, item)

    # ------------------------------------------------------------ selection

    def selected_range(self) -> tuple[int, int] | None:
        rows = sorted({index.row() for index in self.selectedIndexes()})
        return (rows[0], rows[-1]) if rows else None

    def select_range(self, first: int, last: int) -> None:
        self.clearSelection()
        self.setCurrentCell(first, 0, QItemSelectionModel.SelectionFlag.NoUpdate)
        self.setRangeSelected(QTableWidgetSelectionRange(first, 0, last, self.columnCount() - 1), True)

    def current_position(self) -> int:
        """The segment the cursor is on (-1 when none is selected)."""
        selected = self.selected_range()
        if selected is None:
            return -1
        row = self.currentRow()
        return row if selected[0] <= row <= selected[1] else selected[0]

    def current_link(self) -> ChainLink | None:
        position = self.current_position()
        return self.links[position] if 0 <= position < len(self.links) else None

    def _selection_changed(self) -> None:
        self.segment_selected.emit(self.current_position())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Right and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.take_tree_requested.emit()
            return
        super().keyPressEvent(event)
