"""The one audible cell of the review grid: whose sound playback and vinyl scrubbing play.

By default the sound follows the cell the reviewer works in (`ReviewGrid.current`: the cell last
clicked or tabbed to), never the pinned reference: focusing the reference keeps the sound where it
was, and with no cell chosen it comes from the first cell in grid order that has opened and is not
the reference. `choose_next()` (review.audio.next_cell) moves the sound to the next playable cell
in grid order, the reference included, until the reviewer works in another cell. The audible
cell carries a ♪ mark on its label band (`FrameView.set_audio_mark`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from x121_desktop.ui.review.grid import ReviewGrid
from x121_desktop.ui.review.player import PlayerCell, PlayerController


class AudibleCell(QObject):
    """Emits `changed` when the audible cell (`cell`) becomes another one; `mark(cell)` says what its
    label band shows (set by the panel: volume, mute, no audio track)."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller: PlayerController | None = None
        self.grid: ReviewGrid | None = None
        self.reference: Callable[[], Path | None] = lambda: None
        self.cell: PlayerCell | None = None
        self.chosen: PlayerCell | None = None
        """The cell picked with review.audio.next_cell, until the reviewer works in another cell."""
        self.mark: Callable[[PlayerCell], str] = lambda cell: "♪"

    def follow(
        self, controller: PlayerController, grid: ReviewGrid | None, reference: Callable[[], Path | None]
    ) -> None:
        """Listen to this player and grid (the panel makes new ones per load)."""
        self.controller, self.grid, self.reference = controller, grid, reference
        self.cell = self.chosen = None
        controller.state_changed.connect(self.update)
        controller.cache_changed.connect(self.update)  # also after each worker change: a clip opened
        if grid is not None:
            grid.current_changed.connect(self._working_cell_changed)
        self.update()

    def playable(self) -> list[PlayerCell]:
        """Cells that have opened and did not fail, in grid order."""
        controller = self.controller
        if controller is None:
            return []
        return [c for c in controller.cells if c.source.info is not None and not c.failed]

    def pick(self) -> PlayerCell | None:
        """The cell to hear: the chosen one; else the working cell; while that is the pinned reference
        (or cannot play) the cell heard so far; with no working cell the first in grid order. Never the
        pinned reference unless chosen, never a failed cell or one still opening."""
        playable = self.playable()
        if self.chosen in playable:
            return self.chosen
        reference = self.reference()
        others = [c for c in playable if c.source.path != reference]
        working = self.grid.current if self.grid is not None else None
        picked = next((c for c in others if c.view is working), None)
        if picked is None and working is not None:  # the reference or a cell that cannot play: keep the sound
            picked = self.cell if self.cell in others else None
        return picked if picked is not None else next(iter(others), None)

    def choose_next(self) -> None:
        """Move the sound to the next playable cell in grid order (wrapping)."""
        playable = self.playable()
        if not playable:
            return
        at = playable.index(self.cell) if self.cell in playable else -1
        self.chosen = playable[(at + 1) % len(playable)]
        self.update()

    def update(self) -> None:
        """Re-pick (a clip opened, a cell went, the reference changed) and re-mark the cells."""
        cell = self.pick()
        changed = cell is not self.cell
        self.cell = cell
        self.refresh_marks()
        if changed:
            self.changed.emit()

    def refresh_marks(self) -> None:
        controller = self.controller
        for c in controller.cells if controller is not None else ():
            c.view.set_audio_mark(self.mark(c) if c is self.cell else "")

    def _working_cell_changed(self) -> None:
        self.chosen = None
        self.update()
