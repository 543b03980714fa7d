"""One-handed verdicts: 1 approve, 2 reject, 3 flag (keys come from the keymap), then auto-advance.

`ReviewSession` walks a scene's review queue (`services.review.ReviewService`): it shows the
current take in the Review panel's working cell (the layout, a pinned reference and compare mode
stay; the player's clock counts in the scene's rate), records the reviewer's verdict (one transaction, as the
signed-in user) and moves on to the next take without the reviewer's verdict, wrapping around;
when none is left it says so. A reject with "regenerate on reject" ticked also queues the
segment's regeneration (creators/admins; a reviewer gets the database's refusal as a sentence
and the verdict stands). A press while a verdict is being written is ignored, so a double tap
never votes on the next take by accident.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from x121_desktop.core.enums import Verdict
from x121_desktop.core.errors import X121Error
from x121_desktop.services.review import ReviewQueue, ReviewService, ReviewTake, VerdictRecorded
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.tasks import SentenceTasks

VERDICT_ACTIONS = {
    "review.verdict.approve": Verdict.APPROVE,
    "review.verdict.reject": Verdict.REJECT,
    "review.verdict.flag": Verdict.FLAG,
}


class VerdictBar(QWidget):
    """The line under the player: which take, how many are left, the last verdict, regenerate-on-reject."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdictBar")
        self.label = QLabel("No scene open for review", self)
        self.label.setObjectName("verdictStatus")
        self.label.setWordWrap(True)  # a long seam status wraps instead of widening the dock
        self.regenerate = QCheckBox("Regenerate on reject", self)
        self.regenerate.setToolTip("A reject (2) also queues this segment's regeneration (creators and admins)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.regenerate)


class ReviewSession(QObject):
    """A scene under review in a ReviewPanel. Emits `take_shown(take id)` and `verdict_recorded(take id, verdict)`."""

    take_shown = Signal(int)
    verdict_recorded = Signal(int, int)
    message = Signal(str)

    def __init__(self, panel: ReviewPanel, review: ReviewService, bar: VerdictBar | None = None) -> None:
        super().__init__(panel)
        self.panel = panel
        self.review = review
        self.bar = bar if bar is not None else VerdictBar(panel)
        self.queue: ReviewQueue | None = None
        self.current: ReviewTake | None = None
        self.busy = False
        self.advance: Callable[[int], None] | None = None
        """Set by a review mode that advances on its own (seam stepping); default: next pending take."""
        self.clip_takes: dict[Path, Callable[[int], tuple[int, int] | None]] = {}
        """Clips made from takes (seam clips): clip frame → (take id, that take's frame)."""
        self._last = ""
        self._tasks = SentenceTasks(self.message.emit)
        self.message.connect(self.bar.label.setText)

    # ------------------------------------------------------------------ scene
    async def open_scene(self, scene_id: int, take_id: int | None = None) -> None:
        """Review `scene_id`, starting on `take_id` if given (also a take that is not its segment's current
        one, e.g. from a link to an earlier version), else on the first pending take."""
        self.queue = await self.review.queue(scene_id)
        self.panel.set_timeline_rate(self.queue.rate)
        chosen = self.queue.take(take_id) if take_id is not None else None
        if take_id is not None and chosen is None:
            chosen = await self.review.take(take_id)
        self.show_take(chosen or self.queue.next_pending() or (self.queue.takes[0] if self.queue.takes else None))

    def show_take(self, take: ReviewTake | None) -> None:
        """Show `take` in the panel's working cell (ReviewPanel.show_clip: the other cells, the layout and
        compare mode stay), from frame 0."""
        self.current = take
        if take is None or take.video is None:
            self.message.emit(self._status("Nothing to review here"))
            return
        self.panel.show_clip(take.video)
        self.take_shown.emit(take.take_id)
        self.message.emit(self._status())

    def go(self, take_id: int) -> None:
        """Show another take of the queue (for seam stepping and the navigator)."""
        if self.queue is not None and (take := self.queue.take(take_id)) is not None:
            self.show_take(take)

    def take_at(self, path: Path, frame: int) -> tuple[int, int] | None:
        """(take id, take frame) a clip on screen shows at its frame `frame`: a take's own video (of the
        scene's queue, or the take shown from a link) frame for frame, a seam clip through its mapping;
        None for a file that is no take of this session."""
        mapped = self.clip_takes.get(Path(path))
        if mapped is not None:
            return mapped(frame)
        takes = [*(self.queue.takes if self.queue is not None else ()), *([self.current] if self.current else [])]
        take = next((t for t in takes if t.video is not None and Path(t.video) == Path(path)), None)
        return None if take is None else (take.take_id, frame)

    # ------------------------------------------------------------------ verdicts
    def handlers(self) -> dict[str, Callable[[], object]]:
        """Action id → handler for `ui.actions_qt.connect` (the timeline scope: keys live in the panel)."""
        return {action: self._requester(verdict) for action, verdict in VERDICT_ACTIONS.items()}

    def _requester(self, verdict: Verdict) -> Callable[[], object]:
        return lambda: self.request(verdict)

    def request(self, verdict: Verdict) -> asyncio.Task[None] | None:
        """A key press: start recording `verdict` for the current take (ignored while one is being written)."""
        if self.busy or self.current is None:
            return None
        return self._spawn(self.give(verdict))

    async def give(self, verdict: Verdict) -> VerdictRecorded | None:
        take = self.current
        if take is None or self.busy:
            return None
        self.busy = True
        try:
            regenerate = verdict is Verdict.REJECT and self.bar.regenerate.isChecked()
            done = await self.review.record_verdict(take.take_id, verdict, regenerate=regenerate)
        except X121Error as exc:
            self.message.emit(exc.sentence)
            return None
        finally:
            self.busy = False
        self.queue = done.queue
        extra = ""
        if done.regeneration_queued:
            extra = " · regeneration queued"
        elif done.regeneration_refused:
            extra = f" · not regenerated: {done.regeneration_refused}"
        self._last = f"segment {take.position + 1}: {verdict.label.lower()}{extra}"
        self.verdict_recorded.emit(take.take_id, int(verdict))
        if self.advance is not None:
            self.advance(take.take_id)
        else:
            self.show_take(done.queue.next_pending(take.take_id))
        return done

    # ------------------------------------------------------------------ helpers
    def _status(self, lead: str = "") -> str:
        queue, take = self.queue, self.current
        parts = [lead] if lead else []
        if queue is not None and take is not None and not lead:
            mine = f" (you: {take.my_verdict.label.lower()})" if take.my_verdict else ""
            other = "" if queue.take(take.take_id) is not None else f", not its current take ({take.status.label})"
            parts.append(f"Take {take.take_id} · segment {take.position + 1}/{len(queue.takes)}{other}{mine}")
        if queue is not None:
            left = len(queue.pending())
            parts.append("all reviewed" if left == 0 else f"{left} pending")
        if self._last:
            parts.append(f"last: {self._last}")
        parts.append("1 approve · 2 reject · 3 flag")
        return "  ·  ".join(parts)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        return self._tasks.spawn(coro)

    async def drain(self) -> None:
        """Wait for verdicts still being written (tests, closing)."""
        await self._tasks.drain()
