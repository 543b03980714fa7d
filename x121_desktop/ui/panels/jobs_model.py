"""JobsModel: the Jobs panel's table over frozen `JobBoardRow`s (newest first).

`set_rows` replaces everything (a reload after a filter change or a burst of job notices) while
keeping the selected job selectable by id (`row_of`); `tick()` refreshes only the age/duration
column, so a running job's clock moves without reading the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from x121_desktop.core.enums import JobStatus
from x121_desktop.core.ids import JobId
from x121_desktop.services.job_board import JobBoardRow

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
"""data(index, ROW_ROLE) → the row's JobBoardRow."""

COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Job"),
    ("kind", "Kind"),
    ("workflow", "Workflow"),
    ("owner", "Owner"),
    ("priority", "Priority"),
    ("state", "State"),
    ("server", "Server"),
    ("progress", "Progress"),
    ("time", "Age / duration"),
    ("gpu", "GPU-s"),
)
KEYS = tuple(key for key, _ in COLUMNS)
TIME_COLUMN = KEYS.index("time")

Index = QModelIndex | QPersistentModelIndex


def span(seconds: float) -> str:
    if seconds < 10:
        return f"{max(0.0, seconds):.1f}s"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def _now(like: datetime) -> datetime:
    return datetime.now(UTC) if like.tzinfo is not None else datetime.now()


def time_text(row: JobBoardRow) -> str:
    """'queued 12s' / 'on hold 12s' / 'running 1m 03s' / 'took 41s' (age while waiting, duration once started)."""
    if row.started_at is None:
        end = row.finished_at or _now(row.created_at)
        waited = span((end - row.created_at).total_seconds())
        if row.finished_at is not None:
            return f"waited {waited}"
        return f"on hold {waited}" if row.status is JobStatus.HELD else f"queued {waited}"
    end = row.finished_at or _now(row.started_at)
    took = span((end - row.started_at).total_seconds())
    return f"took {took}" if row.finished_at is not None else f"running {took}"


def state_text(row: JobBoardRow) -> str:
    text = row.status.label
    if row.cancel_requested and row.status not in (JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.SUCCEEDED):
        text += " (cancelling)"
    if row.attempts > 1:
        text += f" · attempt {row.attempts}/{row.max_attempts}"
    return text


def progress_text(row: JobBoardRow) -> str:
    if row.status is JobStatus.SUCCEEDED:
        return "done"
    p = row.progress
    if p is None or row.status is not JobStatus.RUNNING:
        return ""
    pct = 100 * p.value // p.max if p.max > 0 else 0
    return f"node {p.node}: {p.value}/{p.max} ({pct}%)" if p.node else f"{p.value}/{p.max} ({pct}%)"


def cell_text(row: JobBoardRow, key: str) -> str:
    if key == "id":
        return f"#{row.id}" + (f" ← #{row.retry_of}" if row.retry_of is not None else "")
    if key == "kind":
        return row.kind.label
    if key == "workflow":
        return row.workflow or "API prompt"
    if key == "owner":
        return row.owner
    if key == "priority":
        return str(row.priority)
    if key == "state":
        return state_text(row)
    if key == "server":
        return row.server or ""
    if key == "progress":
        return progress_text(row)
    if key == "time":
        return time_text(row)
    if key == "gpu":
        return "" if row.gpu_seconds is None else f"{row.gpu_seconds:.2f}"
    raise KeyError(key)


class JobsModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[JobBoardRow] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(row, KEYS[index.column()])
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole and row.error:
            return row.error
        if role == Qt.ItemDataRole.TextAlignmentRole and KEYS[index.column()] in ("priority", "gpu"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_rows(self, rows: list[JobBoardRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> tuple[JobBoardRow, ...]:
        return tuple(self._rows)

    def row_of(self, job_id: JobId | int) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == job_id), -1)

    def job_at(self, row: int) -> JobBoardRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def tick(self) -> None:
        if self._rows:
            top, bottom = self.index(0, TIME_COLUMN), self.index(len(self._rows) - 1, TIME_COLUMN)
            self.dataChanged.emit(top, bottom, [Qt.ItemDataRole.DisplayRole])
