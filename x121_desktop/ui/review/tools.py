"""The review tools on a ReviewPanel: verdicts, notes, seams, compare, cinema and voice memos.

`ReviewTools` builds them over one `ReviewSession`, adds their bars under the player and merges
their action handlers (keys come from the keymap; the timeline scope makes them live while focus
is in the panel). `open_take(take, frame)` is the hook for x121:// links and the navigator: the take
goes to the working cell (the layout, a pinned reference and compare mode stay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from x121_desktop.services.review import ReviewService
from x121_desktop.ui.review.cinema import CinemaMode
from x121_desktop.ui.review.compare import CompareController
from x121_desktop.ui.review.memos import MemoController
from x121_desktop.ui.review.notes import NotesController
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.seams import SeamReview
from x121_desktop.ui.review.verdicts import VERDICT_ACTIONS, ReviewSession

SEAM_ACTIONS = ("playback.next_seam", "playback.prev_seam", "review.loop_seam", "review.heal_ab")


class ReviewTools(QObject):
    def __init__(self, panel: ReviewPanel, review: ReviewService) -> None:
        super().__init__(panel)
        self.panel = panel
        self.session = ReviewSession(panel, review)
        self.notes = NotesController(self.session)
        self.seams = SeamReview(self.session)
        self.compare = CompareController(panel)
        self.cinema = CinemaMode(panel)
        self.memos = MemoController(self.session)
        for bar in (self.notes.bar, self.memos.bar, self.session.bar):
            panel.add_bar(bar)
        self._pending_frame = -1
        self._seeking_on: QObject | None = None  # the player `_seek_pending` listens to
        self._qactions: Mapping[str, QAction] = {}

    def attach(self, qactions: Mapping[str, QAction]) -> None:
        """Connect the window's actions and keep the review ones enabled by what is on screen: the window
        enables only `always` actions at start, so verdicts wait for a take and seam keys for seams."""
        from x121_desktop.ui.actions_qt import connect

        connect(qactions, self.handlers())
        self._qactions = qactions
        self.session.take_shown.connect(self._update_enabled)
        self.seams.seam_shown.connect(self._update_enabled)
        self._update_enabled()

    def _update_enabled(self, *_: object) -> None:
        has_take, has_seams = self.session.current is not None, bool(self.seams.seams)
        for action_id, on in [*((a, has_take) for a in VERDICT_ACTIONS), *((a, has_seams) for a in SEAM_ACTIONS)]:
            if action_id in self._qactions:
                self._qactions[action_id].setEnabled(on)

    def handlers(self) -> dict[str, Callable[[], object]]:
        out: dict[str, Callable[[], object]] = {}
        for part in (self.session, self.notes, self.seams, self.compare, self.cinema):
            out |= part.handlers()
        return out

    async def open_take(self, take_id: int, frame: int = -1) -> None:
        """Review the scene of `take_id`, starting on that take (and `frame` once it has opened, if ≥ 0)."""
        scene = await self.session.review.scene_of_take(take_id)
        await self.session.open_scene(scene, take_id)
        if frame >= 0:
            self._pending_frame = frame
            controller = self.panel.controller
            if controller is not self._seeking_on:  # the player stays when a take replaces a cell's clip
                self._seeking_on = controller
                controller.state_changed.connect(self._seek_pending)
            self._seek_pending()

    def _seek_pending(self) -> None:
        """Once the take's clip has opened (every cell has), go to the frame the link names."""
        frame = self._pending_frame
        controller = self.panel.controller
        if frame >= 0 and controller.ready and controller.clock.frame_count > frame:
            self._pending_frame = -1
            self.panel.controller.seek(frame)
