"""Seam-centric review: step seam to seam, loop ±k frames around each, ghost N's tail over N+1's head,
seam grades as traffic lights on the timeline, and "before heal / after heal" A/B.

`SeamReview` works beside a `ReviewSession`. Stepping (playback.next_seam / prev_seam) asks
ReviewService for the seam's review clip (N's last k frames, then N+1's first k; with ghosting,
N+1's frames carry N's at 50 %), puts it in the grid's working cell as a take would go there
(`ReviewPanel.show_clip`: the layout, the other cells and their clips, the pinned reference, compare
mode, the audible cell and the notes on the other cells stay, and every cell plays on from the one
clock), sets in/out over the clip's frames once it has opened and loops them (review.loop_seam
toggles the loop), and marks the seam on the timeline in its grade's colour. The seam clip is made
at the scene's rate, the rate the session's clock counts in, so clip frames are clock frames. Verdict
keys then judge the take that starts at the seam and advance to the next seam; leaving seam mode
shows that take in the same cell, without in/out. On a plain take the timeline shows the seams at
its two ends as traffic lights.

Where the healing ladder healed a seam (colour match, crossfade), review.heal_ab switches the
clip between the healed take and the take it was made from, on the same clip frame and in the
same play state (both clips share N's frames and the seam frame), and the status line names the
remedy and the seam's grade and score before and after. From a healed take, the key opens the
seam it starts at, before the heal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor

from x121_desktop.core.enums import SeamGrade
from x121_desktop.core.review.seams import DEFAULT_REACH, step_seam
from x121_desktop.services.review import ReviewSeam
from x121_desktop.services.review_seams import SeamClip
from x121_desktop.ui.review.colors import color
from x121_desktop.ui.review.player import PlayerCell
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


def _seam_frame(clip: SeamClip, left: int, right: int, frame: int) -> tuple[int, int] | None:
    """(take id, take frame) of a seam clip's frame: the left take's own frame number before the seam,
    the right take's from its head trim on after it (notes drawn on a seam clip go to that take)."""
    if not 0 <= frame < clip.window.length:
        return None
    side, source = clip.window.source_of(frame)
    return (left, source) if side == 0 else (right, clip.right_head + source)


@dataclass(frozen=True, slots=True)
class _Placing:
    """A seam clip put in `cell` that has not opened yet: once it has, in/out go over its frames and, unless
    the reviewer moved the clock meanwhile, the clock goes to `frame` and plays at `speed`."""

    cell: PlayerCell
    path: Path
    frame: int
    speed: int


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
        self.before_heal = False
        """On a healed seam: show the take the heal was made from (review.heal_ab toggles)."""
        self._placing: _Placing | None = None
        self._following: QObject | None = None  # the player whose changes `_place` listens to
        self._tasks = SentenceTasks(self.session.message.emit)
        session.take_shown.connect(self._take_marks)

    # ------------------------------------------------------------------ actions
    def handlers(self) -> dict[str, Callable[[], object]]:
        return {
            "playback.next_seam": lambda: self.step(1),
            "playback.prev_seam": lambda: self.step(-1),
            "review.loop_seam": self.toggle_loop,
            "review.onion_skin": self.toggle_ghost,
            "review.heal_ab": self.toggle_heal,
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
        self.before_heal = False
        return self._spawn(self.show_seam(index))

    def toggle_loop(self) -> None:
        self.loop = not self.loop
        if self.index is not None:
            self.session.panel.controller.set_loop(self.loop)

    def toggle_ghost(self) -> None:
        self.ghost = not self.ghost
        if self.index is not None:
            self._spawn(self.show_seam(self.index, keep_frame=True))

    def toggle_heal(self) -> asyncio.Task[None] | None:
        """Before heal ⇄ after heal on the healed seam shown (or the one the healed take on screen starts at)."""
        index = self.index
        if index is None:  # from a take: the seam it starts at
            take = self.session.current
            before = self.session.queue.seam_before(take.take_id) if self.session.queue and take else None
            index = self.seams.index(before) if before is not None else None
        if index is None or self.seams[index].heal is None:
            self.session.message.emit(
                "This seam was not healed by the healing ladder, so there is no before and after to compare"
            )
            return None
        same = index == self.index
        self.before_heal = not self.before_heal if same else True
        return self._spawn(self.show_seam(index, keep_frame=same))

    def leave(self) -> None:
        """Back to plain takes (the take after the last seam shown)."""
        self.index, self.clip, self.before_heal, self._placing = None, None, False, None
        self.session.advance = None
        self.session.show_take(self.session.current)

    # ------------------------------------------------------------------ showing
    async def show_seam(self, index: int, *, keep_frame: bool = False) -> SeamClip:
        """Load seam `index`'s clip (before the heal if `before_heal` and it was healed). `keep_frame`: stay
        on the clip frame shown now (the same frame relative to the seam) and keep playing if it played."""
        queue = self.session.queue
        assert queue is not None
        seam = queue.seams[index]
        before = self.before_heal and seam.heal is not None
        clip = await self.session.review.seam_clip(queue, seam, self.k, ghost=self.ghost, before_heal=before)
        panel = self.session.panel
        old, frame, speed = self.clip, panel.controller.clock.frame(), panel.controller.clock.speed
        if self._placing is not None:  # toggled again before the last clip opened: where that one was going
            frame, speed = self._placing.frame, self._placing.speed
        cell = panel.show_clip(clip.path)
        controller = panel.controller
        controller.set_loop(self.loop)
        if keep_frame and old is not None:
            target = frame - old.window.seam_frame + clip.window.seam_frame
            self._placing = _Placing(cell, clip.path, min(max(target, 0), clip.window.length - 1), speed)
        else:
            self._placing = _Placing(cell, clip.path, 0, 0)
        if controller is not self._following:  # show_clip keeps the player; a load() made a new one
            self._following = controller
            controller.cache_changed.connect(self._place)  # after every worker change, the clock counted
        self.index, self.clip = index, clip
        right_id = seam.heal.unhealed_take_id if before and seam.heal is not None else seam.right_take_id
        self.session.clip_takes[clip.path] = partial(_seam_frame, clip, seam.left_take_id, right_id)
        self.session.current = queue.take(seam.right_take_id)
        self.session.advance = self._advance
        grade = seam.heal.grade_before if before and seam.heal is not None else seam.grade
        panel.timeline.set_marks([(clip.window.seam_frame, grade_color(grade))])
        self.session.message.emit(self._status(seam, clip, before))
        self.seam_shown.emit(seam.seam_id)
        self._place()
        return clip

    def _status(self, seam: ReviewSeam, clip: SeamClip, before: bool) -> str:
        count = len(self.seams)
        parts = [f"Seam {seam.position + 1}|{seam.position + 2} of {count}"]
        heal = seam.heal
        if heal is None:
            parts.append(f"{seam.grade.label.lower()} {seam.score:.2f}")
        else:
            parts.append(
                f"healed by {heal.remedy.replace('_', ' ').replace('+', ' + ')}: "
                f"{heal.grade_before.label.lower()} {heal.score_before:.2f} → {seam.grade.label.lower()} "
                f"{seam.score:.2f}"
            )
            shown = f"take {heal.unhealed_take_id}" if before else f"take {seam.right_take_id}"
            parts.append(f"showing {'BEFORE' if before else 'AFTER'} heal ({shown}) · H before/after")
        ghost = " · ghost 50 %" if self.ghost else ""
        parts.append(f"±{self.k} frames, seam at frame {clip.window.seam_frame}{ghost}")
        return "  ·  ".join([" · ".join(parts), "↑/↓ seams · 1 approve · 2 reject · 3 flag (take after the seam)"])

    def _place(self) -> None:
        """The seam clip has opened in its cell: in/out over its frames (the other cells play the same
        clock frames), then the frame and play state a toggle kept, unless the reviewer moved the clock
        since show_clip left it on frame 0, paused. Another clip in that cell or a new player: nothing."""
        placing, controller = self._placing, self.session.panel.controller
        if placing is None:
            return
        cell, clock = placing.cell, controller.clock
        if cell not in controller.cells or cell.source.path != placing.path:
            self._placing = None
            return
        span = cell.span(clock.rate)
        if span is None or clock.frame_count < span:  # still opening (or not counted yet)
            return
        self._placing = None
        untouched = clock.speed == 0 and clock.frame() == 0
        controller.mark_range(0, span - 1)
        if untouched and placing.frame:
            controller.seek(placing.frame)
        if untouched and placing.speed:
            controller.play(placing.speed)

    def _advance(self, _take_id: int) -> None:
        self.before_heal = False
        if self.index is not None and self.index + 1 < len(self.seams):
            self._spawn(self.show_seam(self.index + 1))
        else:
            self.index, self.clip, self._placing = None, None, None
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
