"""Seam-centric review: step seam to seam, loop ±k frames around each, ghost N's tail over N+1's head,
and seam grades as traffic lights on the timeline.

`SeamReview` works beside a `ReviewSession`. Stepping (playback.next_seam / prev_seam) asks
ReviewService for the seam's review clip (N's last k frames, then N+1's first k; with ghosting,
N+1's frames carry N's at 50 %), plays it looped (review.loop_seam toggles the loop) and marks
the seam on the timeline in its grade's colour. Verdict keys then judge the take that starts at
the seam and advance to the next seam. On a plain take the timeline shows the seams at its two
ends as traffic lights.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor

from x121_desktop.core.enums import SeamGrade
from x121_desktop.core.review.seams import DEFAULT_REACH, step_seam
from x121_desktop.services.review import ReviewSeam, SeamClip
from x121_desktop.ui.review.colors import color
from x121_desktop.ui.review.tasks import SentenceTasks
from x121_desktop.ui.review.verdicts import ReviewSession

_GRADE = {
    SeamGrade.GREEN: ("seam.good", "#3fb950"),
    SeamGrade.AMBER: ("seam.warn", "#d29922"),
    SeamGrade.RED: ("seam.bad", "#e5534b"),
}


def grade_color(grade: SeamGrade) -> QColor:
    token, fallback = _GRADE[grade]
    c = color(token)
    return c if c != QColor("#ff00ff") else QColor(fallback)


class SeamReview(QObject):
    """Emits `seam_shown(seam id)` once a seam's clip is in the player."""

    seam_shown = Signal(int)

    def __init__(self, session: ReviewSession, k: int = DEFAULT_REACH) -> None:
        super().__init__(session)
        self.session = session
        self.k = k
        self.ghost = False
        self.loop = True
        self.index: int | None = None
        self.clip: SeamClip | None = None
        self._tasks = SentenceTasks(self.session.message.emit)
        session.take_shown.connect(self._take_marks)

    # ------------------------------------------------------------------ actions
    def handlers(self) -> dict[str, Callable[[], object]]:
        return {
            "playback.next_seam": lambda: self.step(1),
            "playback.prev_seam": lambda: self.step(-1),
            "review.loop_seam": self.toggle_loop,
            "review.onion_skin": self.toggle_ghost,
        }

    @property
    def seams(self) -> tuple[ReviewSeam, ...]:
        queue = self.session.queue
        return queue.seams if queue is not None else ()

    def step(self, direction: int) -> asyncio.Task[None] | None:
        start = self.index
        if start is None and self.session.current is not None and direction > 0:
            # from a take: the seam where it ends comes first
            after = [i for i, s in enumerate(self.seams) if s.position >= self.session.current.position]
            start = after[0] - 1 if after else None
        index = step_seam(len(self.seams), start, direction)
        if index is None:
            self.session.message.emit("This scene has no measured seams yet")
            return None
        return self._spawn(self.show_seam(index))

    def toggle_loop(self) -> None:
        self.loop = not self.loop
        if self.index is not None:
            self.session.panel.controller.set_loop(self.loop)

    def toggle_ghost(self) -> None:
        self.ghost = not self.ghost
        if self.index is not None:
            self._spawn(self.show_seam(self.index))

    def leave(self) -> None:
        """Back to plain takes (the take after the last seam shown)."""
        self.index, self.clip = None, None
        self.session.advance = None
        self.session.show_take(self.session.current)

    # ------------------------------------------------------------------ showing
    async def show_seam(self, index: int) -> SeamClip:
        queue = self.session.queue
        assert queue is not None
        seam = queue.seams[index]
        clip = await self.session.review.seam_clip(queue, seam, self.k, ghost=self.ghost)
        panel = self.session.panel
        panel.load([clip.path])
        panel.controller.set_loop(self.loop)
        self.index, self.clip = index, clip
        self.session.current = queue.take(seam.right_take_id)
        self.session.advance = self._advance
        panel.timeline.set_marks([(clip.window.seam_frame, grade_color(seam.grade))])
        ghost = " · ghost 50 %" if self.ghost else ""
        self.session.message.emit(
            f"Seam {seam.position + 1}|{seam.position + 2} of {len(queue.seams)} · {seam.grade.label.lower()} "
            f"{seam.score:.2f} · ±{self.k} frames, seam at frame {clip.window.seam_frame}{ghost}"
            "  ·  ↑/↓ seams · 1 approve · 2 reject · 3 flag (take after the seam)"
        )
        self.seam_shown.emit(seam.seam_id)
        return clip

    def _advance(self, _take_id: int) -> None:
        if self.index is not None and self.index + 1 < len(self.seams):
            self._spawn(self.show_seam(self.index + 1))
        else:
            self.index, self.clip = None, None
            self.session.advance = None
            queue = self.session.queue
            self.session.show_take(queue.next_pending() if queue is not None else None)

    def _take_marks(self, take_id: int) -> None:
        queue = self.session.queue
        take = queue.take(take_id) if queue is not None else None
        if queue is None or take is None:
            return
        marks = []
        if (before := queue.seam_before(take_id)) is not None:
            marks.append((0, grade_color(before.grade)))
        if (after := queue.seam_after(take_id)) is not None and take.frame_count:
            marks.append((take.frame_count - 1, grade_color(after.grade)))
        self.session.panel.timeline.set_marks(marks)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        return self._tasks.spawn(coro)

    async def drain(self) -> None:
        await self._tasks.drain()
