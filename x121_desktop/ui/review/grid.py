"""The player grid: rows x columns of `FrameView` cells, filled row by row.

Layout only. The sync-play grid proper (pinning, compare modes, ROI) builds on this: every
cell is a FrameView the PlayerController drives from one clock, so lockstep comes for free.
`reshape` switches the layout in place: the clock (frame, in/out, loop) and the cells that stay
go on, cells past the new size stop, and clips that now fit open. Every cell keeps its decoder;
a QPainter cell whose size changed gets its frames decoded at the new size (the player asks for
them; a source never hands out a frame cached at another size), a GL cell draws the same planes.
`put_first` moves one open clip to the first cell the same way (the pinned reference's place);
`no_room` is the sentence that names the clips a layout leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.player import PlayerController


class ReviewGrid(QWidget):
    """Emits `current_changed` when the cell the reviewer works in (`current`) changes: the cell
    last clicked or tabbed to, None until then and after that cell is removed."""

    current_changed = Signal()

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
        self.current: FrameView | None = None
        self._stretch(rows, columns)

    def add_cell(self, label: str) -> FrameView:
        """A new cell in the next free slot (row by row)."""
        if len(self.cells) >= self.rows * self.columns:
            raise ValueError(f"the {self.rows}x{self.columns} grid is full")
        view = FrameView(label, self, prefer_gl=self._prefer_gl)
        n = len(self.cells)
        self._layout.addWidget(view, n // self.columns, n % self.columns)
        self.cells.append(view)
        view.focused.connect(lambda: self.set_current(view))
        return view

    def set_current(self, view: FrameView | None) -> None:
        """Make `view` (one of the cells, or None) the cell the reviewer works in."""
        if view is self.current or (view is not None and view not in self.cells):
            return
        if self.current is not None:
            self.current.set_current(False)
        self.current = view
        if view is not None:
            view.set_current(True)
        self.current_changed.emit()

    def remove_cell(self, view: FrameView) -> None:
        if view is self.current:
            self.set_current(None)
        self._layout.removeWidget(view)
        self.cells.remove(view)
        view.hide()
        view.deleteLater()

    def set_shape(self, rows: int, columns: int) -> None:
        """Lay the cells out rows x columns (row by row); the grid must hold the cells it has."""
        if len(self.cells) > rows * columns:
            raise ValueError(f"{len(self.cells)} cells do not fit a {rows}x{columns} grid")
        for view in self.cells:
            self._layout.removeWidget(view)
        self._stretch(rows, columns, self.rows, self.columns)
        self.rows, self.columns = rows, columns
        for n, view in enumerate(self.cells):
            self._layout.addWidget(view, n // columns, n % columns)
        self._layout.activate()  # cells take their new sizes now, so the player asks for the right size

    def _stretch(self, rows: int, columns: int, old_rows: int = 0, old_columns: int = 0) -> None:
        """Every slot of the shape gets an equal share, filled or not (a 3x3 grid with four clips keeps
        3x3 cells); the old shape's extra rows and columns get none."""
        for r in range(max(old_rows, rows)):
            self._layout.setRowStretch(r, 1 if r < rows else 0)
        for c in range(max(old_columns, columns)):
            self._layout.setColumnStretch(c, 1 if c < columns else 0)


def reshape(grid: ReviewGrid, player: PlayerController, paths: Sequence[Path], rows: int, columns: int) -> None:
    """Switch `grid` to rows x columns without touching the clock: cells past the new size stop
    (decoders joined), the rest move, and `paths` not shown yet open in the new free cells."""
    capacity = rows * columns
    for cell in player.cells[capacity:]:
        player.remove_cell(cell)
        grid.remove_cell(cell.view)
    grid.set_shape(rows, columns)
    for path in paths[len(player.cells) : capacity]:
        player.add_source(path, grid.add_cell(path.name))
    player.tick()  # ask at once for frames at the cells' new sizes


def put_first(grid: ReviewGrid, player: PlayerController, paths: list[Path], index: int) -> None:
    """Move the clip open in cell `index` (its cell, decoder and path) to the first cell; the others keep
    their order, every decoder and the clock go on."""
    if index == 0:
        return
    player.cells.insert(0, player.cells.pop(index))
    grid.cells.insert(0, grid.cells.pop(index))
    paths.insert(0, paths.pop(index))
    grid.set_shape(grid.rows, grid.columns)


def no_room(waiting: Sequence[Path], pinned: Path | None, shown: Sequence[Path], shape: tuple[int, int]) -> str:
    """One sentence naming the clips the layout leaves out ('' when none): why, and how to see them."""
    if not waiting:
        return ""
    named = [f"{p.name} (the pinned reference)" if p == pinned else p.name for p in waiting[:3]]
    more = f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
    keeps = ""
    if pinned is not None and pinned in shown:
        keeps = f" (the pinned reference {pinned.name} keeps the first cell)"
    where = " in the first cell" if pinned in waiting else ""
    it = "it" if len(waiting) == 1 else "them"
    layout = f"{shape[0]}x{shape[1]} layout"
    return f"No room for {', '.join(named)}{more} in the {layout}{keeps}: a larger layout shows {it}{where}."
