"""PlayerController: one shared clock driving any number of frame views, each fed by its own
decode worker (`services.review_media.FrameSource`).

Threads: workers decode and fill their caches; they report through `on_change`, which emits a
Qt signal (queued to this thread). Everything else (clock, drop policy, views) runs on the UI
thread, on a precise timer while playing or while a view waits for its frame. The frame number
a view prints is the index the decoder delivered with the picture, never the clock's.

Sizes: a QPainter view draws rgb24 made at its own size (the full frame under a region of
interest). Each tick asks every source for that size, and a source hands out only frames of that
exact size (`FrameSource.usable`), so when a cell is resized (a layout switch, a dock dragged, a
zoom region set) its old frame stays on screen until the frame at the new size is decoded, then
that frame replaces it: nothing is stretched and no decoder is reopened. The controller watches
its views' resizes itself; `tick()` after a region change asks at once.

Rates: the clock counts frames at `timeline_rate` when one is given (the scene's rate, set by the
review session), else at the rate of the lead cell (`lead`: the first cell in grid order that is not
the pinned reference), never at that of whichever clip happens to open first; cells at other rates
show the frame of the same instant (`core.review.clock.map_frame`) and carry their own rate on their
label band. The frame count is the clock's frames covering the longest clip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal

from x121_desktop.core.review import DisplayScheduler, PlaybackClock, map_frame
from x121_desktop.core.review.clock import frames_covering, order_for, rate_label
from x121_desktop.services.review_media import DEFAULT_BUDGET, FrameSource, SourceWant, fits
from x121_desktop.ui.review.frame_view import FrameView

TICK_MS = 4


class _Wake(QObject):
    changed = Signal()


def _drawable(source: FrameSource, size: tuple[int, int] | None) -> Callable[[int], bool]:
    """Frames the view can draw: rgb24 at exactly its size for a QPainter view, Y/U/V planes for a
    GL one. A worker briefly holds frames of another form or size (decoded before the view's
    latest want reached it)."""
    return lambda index: source.usable(index, size) is not None


def _outdated(view: FrameView, size: tuple[int, int] | None) -> bool:
    """The view shows a frame of another form or size than it now draws (it was resized)."""
    frame = view.state.frame
    return frame is not None and not fits(frame, size)


@dataclass(eq=False)
class PlayerCell:
    source: FrameSource
    view: FrameView
    scheduler: DisplayScheduler = field(default_factory=DisplayScheduler)
    failed: bool = False

    def target(self, frame: int, rate: Fraction) -> int:
        info = self.source.info
        if info is None:
            return frame
        return min(map_frame(frame, rate, info.rate), info.frame_count - 1)

    def span(self, rate: Fraction) -> int | None:
        """How many `rate` clock frames the clip plays for; None while it is opening."""
        info = self.source.info
        return None if info is None else frames_covering(info.frame_count, info.rate, rate)


class PlayerController(QObject):
    """Transport for a set of cells in lockstep. Emits `frame_changed(clock frame)` and `state_changed`."""

    frame_changed = Signal(int)
    frames_shown = Signal()
    """At least one view put up a new frame on this tick."""
    state_changed = Signal()
    cache_changed = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        now: Callable[[], int] = time.monotonic_ns,
        budget_bytes: int = DEFAULT_BUDGET,
        hwaccel: bool = True,
        timeline_rate: Fraction | None = None,
        reference: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.clock = PlaybackClock(timeline_rate or Fraction(24), 1, now=now)
        self.cells: list[PlayerCell] = []
        self.timeline_rate = timeline_rate
        """The rate the clock counts in whatever the clips' rates (the scene's); None: the lead cell's."""
        self.reference = reference
        """The pinned reference clip: the lead cell is another one where there is one."""
        self._budget = budget_bytes
        self._hwaccel = hwaccel
        self._last_frame = -1
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)
        self._wake = _Wake(self)
        self._wake.changed.connect(self._on_worker_change, Qt.ConnectionType.QueuedConnection)
        self._refresh_timer = QTimer(self)  # owned: it dies with the controller, unlike singleShot
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self._refresh)

    # ------------------------------------------------------------------ cells
    def _source(self, path: Path | str) -> FrameSource:
        return FrameSource(path, budget_bytes=self._budget, on_change=self._wake.changed.emit, hwaccel=self._hwaccel)

    def add_source(self, path: Path | str, view: FrameView) -> PlayerCell:
        cell = PlayerCell(self._source(path), view)
        self.cells.append(cell)
        view.installEventFilter(self)
        cell.source.start()
        return cell

    def replace_source(self, cell: PlayerCell, path: Path | str) -> None:
        """Play `path` in `cell` from now on: its view, its place in the grid and the clock stay. The old
        decoder is joined; the view keeps its picture, without a frame number, until the new clip's frame
        is decoded."""
        cell.source.close()
        cell.source = self._source(path)
        cell.failed = False
        cell.scheduler.reset()
        cell.view.new_clip(Path(path).name)
        cell.source.start()
        self.state_changed.emit()
        self._on_worker_change()

    def set_timeline_rate(self, rate: Fraction | None) -> None:
        """Count the clock in `rate` whatever the clips' rates (None: the lead cell's); the time shown stays."""
        self.timeline_rate = rate
        self._on_worker_change()

    def remove_cell(self, cell: PlayerCell) -> None:
        """Stop a cell's decoding (thread joined) and drop it; the clock and the other cells go on."""
        cell.source.close()
        cell.view.removeEventFilter(self)
        self.cells.remove(cell)

    def lead(self) -> PlayerCell | None:
        """The cell whose rate the clock counts in (without a timeline rate): the first cell in grid order
        that is not the pinned reference (the reference when it is alone) and did not fail to open; None
        while that cell is still opening. The same cell whichever clip opens first."""
        ordered = sorted(self.cells, key=lambda c: c.source.path == self.reference)  # stable: grid order
        for cell in ordered:
            if cell.source.error is None and not cell.failed:
                return cell if cell.source.info is not None else None
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A view was resized: ask its source for frames at the new size on the next turn."""
        if event.type() == QEvent.Type.Resize and not self._refresh_timer.isActive():
            self._refresh_timer.start()
        return False

    def close(self) -> None:
        """Stop the timer and every decode thread (joined)."""
        self._timer.stop()
        self._refresh_timer.stop()
        for cell in self.cells:
            cell.source.close()

    @property
    def ready(self) -> bool:
        """Every cell has opened (or failed)."""
        return all(c.source.info is not None or c.source.error is not None for c in self.cells)

    def frames_ready(self, frame: int) -> bool:
        """Every playable cell holds its frame for clock frame `frame`."""
        rate = self.clock.rate

        def ready(c: PlayerCell) -> bool:
            info = c.source.info
            if c.failed or info is None:
                return True
            return c.source.usable(c.target(frame, rate), c.view.rgb_size((info.width, info.height))) is not None

        return all(ready(c) for c in self.cells)

    def cached_everywhere(self) -> list[int]:
        """Clock frames ready in every playable cell (what the cache bar shows): a cell at another rate
        than the clock's is ready on a clock frame when the frame it shows then is cached."""
        rate, count = self.clock.rate, self.clock.frame_count
        ready: set[int] | None = None
        for cell in self.cells:
            info = cell.source.info
            if info is None or cell.failed:
                continue
            cached = set(cell.source.cached())
            if info.rate != rate or info.frame_count < count:
                cached = {f for f in range(count) if cell.target(f, rate) in cached}
            ready = cached if ready is None else ready & cached
        return sorted(ready or ())

    def rate_source(self) -> str:
        """Where the clock's rate comes from, for the status line: 'scene rate' or the lead clip's name."""
        if self.timeline_rate is not None:
            return "scene rate"
        lead = self.lead()
        return "" if lead is None else lead.source.path.name

    # ------------------------------------------------------------------ transport
    def play_pause(self) -> None:
        self.clock.toggle_play()
        self._moved(jump=False)

    def play(self, speed: int = 1) -> None:
        self.clock.play(speed)
        self._moved(jump=True)

    def stop(self) -> None:
        self.clock.pause()
        self._moved(jump=False)

    def shuttle_forward(self) -> None:
        self.clock.shuttle_forward()
        self._moved(jump=False)

    def shuttle_reverse(self) -> None:
        self.clock.shuttle_reverse()
        self._moved(jump=False)

    def step(self, n: int) -> None:
        self.clock.step(n)
        self._moved(jump=True)

    def seek(self, frame: int) -> None:
        self.clock.seek(frame)
        self._moved(jump=True)

    def mark_in(self) -> None:
        self.clock.set_in()
        self._moved(jump=False)

    def mark_out(self) -> None:
        self.clock.set_out()
        self._moved(jump=False)

    def clear_in(self) -> None:
        self.clock.clear_in()
        self._moved(jump=False)

    def clear_out(self) -> None:
        self.clock.clear_out()
        self._moved(jump=False)

    def clear_in_out(self) -> None:
        self.clock.clear_in()
        self.clock.clear_out()
        self._moved(jump=False)

    def mark_range(self, first: int, last: int) -> None:
        """In at `first`, out at `last` (inclusive clock frames, clamped to the clip); the playhead stays."""
        self.clock.set_out(last)
        self.clock.set_in(first)
        self._moved(jump=False)

    def set_loop(self, loop: bool) -> None:
        self.clock.loop = loop
        self._moved(jump=False)

    def handlers(self) -> dict[str, Callable[[], object]]:
        """Action id → handler, for `ui.actions_qt.connect` (the timeline scope)."""
        second = max(1, round(self.clock.rate))
        return {
            "playback.play_pause": self.play_pause,
            "playback.shuttle_forward": self.shuttle_forward,
            "playback.shuttle_reverse": self.shuttle_reverse,
            "playback.stop": self.stop,
            "playback.step_forward": lambda: self.step(1),
            "playback.step_back": lambda: self.step(-1),
            "playback.step_forward_5": lambda: self.step(5),
            "playback.step_back_5": lambda: self.step(-5),
            "playback.step_forward_10": lambda: self.step(10),
            "playback.step_back_10": lambda: self.step(-10),
            "playback.step_forward_second": lambda: self.step(second),
            "playback.step_back_second": lambda: self.step(-second),
            "playback.go_to_start": lambda: self.seek(0),
            "playback.go_to_end": lambda: self.seek(self.clock.frame_count - 1),
            "playback.mark_in": self.mark_in,
            "playback.mark_out": self.mark_out,
            "playback.go_to_in": lambda: self.seek(self.clock.order().start),
            "playback.go_to_out": lambda: self.seek(self.clock.order().stop - 1),
            "playback.clear_in": self.clear_in,
            "playback.clear_out": self.clear_out,
            "playback.clear_in_out": self.clear_in_out,
            "playback.loop": lambda: self.set_loop(not self.clock.loop),
        }

    # ------------------------------------------------------------------ ticking
    def tick(self) -> None:
        """Show what is due in every cell; keep ticking while playing or while a cell waits."""
        clock = self.clock
        frame = clock.frame()
        speed = clock.speed
        direction = (speed > 0) - (speed < 0)
        order = clock.order()
        waiting = shown = False
        for cell in self.cells:
            info = cell.source.info
            if cell.failed or info is None:
                continue
            target = cell.target(frame, clock.rate)
            corder = order_for(order, info.frame_count)
            size = cell.view.rgb_size((info.width, info.height))
            cell.source.want(SourceWant(target, direction, corder, size))
            if _outdated(cell.view, size):
                cell.scheduler.reset()  # put up the frame due at the new size as soon as it is decoded
            pick = cell.scheduler.decide(target, direction, corder, _drawable(cell.source, size))
            if pick is not None:
                decoded = cell.source.usable(pick, size)
                if decoded is not None:
                    cell.view.show_frame(decoded)
                    shown = True
            waiting = waiting or cell.view.shown_index != target or _outdated(cell.view, size)
        if frame != self._last_frame:
            self._last_frame = frame
            self.frame_changed.emit(frame)
        if shown:
            self.frames_shown.emit()
        if speed or waiting:
            if not self._timer.isActive():
                self._timer.start()
        elif self._timer.isActive():
            self._timer.stop()
            self.state_changed.emit()

    def _moved(self, *, jump: bool) -> None:
        if jump:
            for cell in self.cells:
                cell.scheduler.reset()
        self.state_changed.emit()
        self.tick()

    def _on_worker_change(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh(self) -> None:
        changed = False
        for cell in self.cells:
            if cell.source.error is not None and not cell.failed:
                cell.failed = True
                cell.view.show_error(str(cell.source.error))
                changed = True
        lead = self.lead()
        rate = self.timeline_rate or (lead.source.info.rate if lead is not None and lead.source.info else None)
        if rate is not None and rate != self.clock.rate:  # None: the lead cell is still opening
            self.clock.rate = rate  # the time shown stays; frame numbers, in and out become the new rate's
            changed = True
        opened = [c.source.info for c in self.cells if c.source.info is not None and not c.failed]
        if rate is not None and opened:  # none: all (re)opening; keep in/out
            count = max(frames_covering(i.frame_count, i.rate, rate) for i in opened)
            if count != self.clock.frame_count:
                self.clock.set_frame_count(count)
                changed = True
        for cell in self.cells:
            info = cell.source.info
            cell.view.set_info_text("" if info is None or info.rate == self.clock.rate else rate_label(info.rate))
        if changed:
            self.state_changed.emit()
        self.cache_changed.emit()
        self.tick()
