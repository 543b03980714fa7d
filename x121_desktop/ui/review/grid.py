"""The minimal player grid: rows x columns of `FrameView` cells, filled row by row.

Layout only. The sync-play grid proper (pinning, compare modes, ROI) builds on this: every
cell is a FrameView the PlayerController drives from one clock, so lockstep comes for free.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QWidget

from x121_desktop.ui.review.frame_view import FrameView


class ReviewGrid(QWidget):
    def __init__(
        self, rows: int = 2, columns: int = 2, parent: QWidget | None = None, *, prefer_gl: bool = True
    ) -> None:
        super().__init__(parent)
        self.rows, self.columns = rows, columns
        self._prefer_gl = prefer_gl
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.cells: list[FrameView] = []

    def add_cell(self, label: str) -> FrameView:
        """A new cell in the next free slot (row by row)."""
        if len(self.cells) >= self.rows * self.columns:
            raise ValueError(f"the {self.rows}x{self.columns} grid is full")
        view = FrameView(label, self, prefer_gl=self._prefer_gl)
        n = len(self.cells)
        self._layout.addWidget(view, n // self.columns, n % self.columns)
        self.cells.append(view)
        return view
