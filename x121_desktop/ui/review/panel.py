"""ReviewPanel: the player as a dock — grid of cells, cache bar, scrub timeline, transport line.

Sound: one audible cell (`audible`, marked ♪ on its label) plays at 1x in step with the clock
(`sound`, ui/review/playback_audio.py) and gives vinyl mode its grains; the transport line holds
the mute button and volume slider (review.audio.* keys).

Clips: `load` replaces every cell (a new player) around the pinned reference, which keeps the first
cell; it is the one way a set of clips arrives ("Open clips…", `CompareController.show` and `pin`, a
scene's take-and-parent compare), and clips a layout has no room for wait, named under the transport line
(`room_note`). `show_clip` puts one clip in the working cell and
keeps the rest (layout, pinned reference, compare mode, zoom) and the clock's rate and loop. The
clock's rate follows one rule whatever brought the clips (a take, a seam clip, "Open clips…"): the
scene's (`timeline_rate`) while a scene is under review, else the lead clip's (`PlayerController.lead`:
the first cell in grid order that is not the pinned reference). The transport line says the rate and
where it comes from; cells at another rate say theirs.

`review_panel_spec()` registers it with the window's panel registry; the playback.* actions of
the "timeline" scope (J/K/L, ←/→, I/O, …) are live while focus is inside the panel.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from x121_desktop.core.review.clock import rate_label
from x121_desktop.core.timebase import frames_to_timecode
from x121_desktop.ui.docks import PanelContext, PanelSpec
from x121_desktop.ui.review.audible import AudibleCell
from x121_desktop.ui.review.audio_controls import AudioControls
from x121_desktop.ui.review.cache_bar import CacheBar
from x121_desktop.ui.review.grid import ReviewGrid, no_room, put_first, reshape
from x121_desktop.ui.review.jog_dial import JogDial
from x121_desktop.ui.review.playback_audio import PlaybackAudio
from x121_desktop.ui.review.player import PlayerCell, PlayerController
from x121_desktop.ui.review.timeline import TimelineBar
from x121_desktop.ui.review.vinyl import VinylScrubber, VinylToggle


class ReviewPanel(QWidget):
    """Plays up to rows x columns clips in lockstep from one clock. Emits `loaded` after each `load`,
    `layout_changed` after `set_grid` (and after `show_clip` added a cell)."""

    loaded = Signal()
    layout_changed = Signal()

    def __init__(
        self, parent: QWidget | None = None, *, rows: int = 2, columns: int = 2, prefer_gl: bool = True
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reviewPanel")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._rows, self._columns, self._prefer_gl = rows, columns, prefer_gl
        self.paths: list[Path] = []
        self.tools: object | None = None
        """The review tools (ui/review/tools.py) when the panel runs on a studio database."""
        self.pinned: Path | None = None
        """The pinned reference clip (CompareController.pin): vinyl mode never plays it."""
        self.timeline_rate: Fraction | None = None
        """The rate the clock counts in (the scene's, set by the review session); None: the lead clip's."""
        self.controller = PlayerController(self)
        self.grid = ReviewGrid(rows, columns, self, prefer_gl=prefer_gl)
        self.cache_bar = CacheBar(self)
        self.timeline = TimelineBar(self)
        self.jog = JogDial(self)
        self.audible = AudibleCell(self)
        """The one cell whose sound plays (playback and vinyl), marked ♪ on its label band."""
        self.vinyl = VinylScrubber(self, audible=self.audible)
        self.sound = PlaybackAudio(self.audible, self)
        self.vinyl.gain = self.sound.gain  # a bound method: a lambda over self would keep the panel alive
        self.status = QLabel(self)
        self.status.setObjectName("reviewStatus")
        self.room_note = _note_line("reviewRoomNote", self)
        """Names the clips the layout has no room for (a pinned reference among them): `no_room`."""
        open_button = QPushButton("Open clips…", self)
        open_button.clicked.connect(self._ask_files)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        vinyl_toggle = VinylToggle(self.vinyl, self)
        self.audio_controls = AudioControls(self.sound, self)
        for widget in (self.audio_controls.button, self.audio_controls.slider, vinyl_toggle, open_button):
            bottom.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self.grid, 1)
        layout.addLayout(self._transport(bottom, [self.room_note, vinyl_toggle.note, self.audio_controls.note]))
        self.timeline.scrub_requested.connect(self.controller.seek)
        self.controller.frames_shown.connect(self._update_transport)
        self.controller.state_changed.connect(self._update_transport)
        self.controller.cache_changed.connect(self._update_cache)
        self._cache_timer = QTimer(self)
        self._cache_timer.setInterval(250)
        self._cache_timer.timeout.connect(self._update_cache)
        self._update_transport()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close_player)

    def _transport(self, bottom: QHBoxLayout, notes: list[QLabel]) -> QHBoxLayout:
        """Timeline, cache bar, transport line and the sound notes in a column; the jog/shuttle dial on their right."""
        column = QVBoxLayout()
        for widget in (self.timeline, self.cache_bar):
            column.addWidget(widget)
        column.addLayout(bottom)
        for note in notes:
            column.addWidget(note)
        row = QHBoxLayout()
        row.addLayout(column, 1)
        row.addWidget(self.jog)
        # Lambdas, not bound methods: load() replaces the controller. play(0) pauses.
        self.jog.jog_requested.connect(lambda frames: self.controller.step(frames))  # noqa: PLW0108
        self.jog.shuttle_changed.connect(lambda speed: self.controller.play(speed))  # noqa: PLW0108
        self.timeline.scrub_started.connect(lambda: self.vinyl.set_scrubbing(True))
        self.timeline.scrub_finished.connect(lambda: self.vinyl.set_scrubbing(False))
        self._follow_sound()
        return row

    def load(self, paths: Sequence[Path | str]) -> None:
        """Show `paths` in a new player, around the pinned reference; each clip opens and decodes on its own
        thread. Every set of clips comes here ("Open clips…", `CompareController.show` and `pin`), so no
        way of opening clips can drop the reference while `pinned` still names it: the lead-clip rule (the
        clock's rate) and the audible-cell rule skip the reference, and would skip nothing, or a clip
        opened from the same file, if it had left the grid. As in RV or xStudio, a pinned reference stays
        until unpinned: it keeps the first cell in every layout, the clips fill the cells after it in their
        order (the reference's own file among them is not opened twice), and clips with no cell wait in
        `paths`, named under the transport line, until a larger layout opens them. So in 1x1 the reference
        stays on screen and the new clips wait: the reviewer pinned it to keep it in view, and a layout
        change (or unpinning) is one key away, said in the note. Nothing is dropped silently."""
        chosen = [Path(p) for p in paths]
        if self.pinned is not None:
            chosen = [self.pinned, *(p for p in chosen if p != self.pinned)]
        self.controller.close()
        self.controller.deleteLater()
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.removeWidget(self.grid)
        self.grid.hide()
        self.grid.deleteLater()
        self.controller = PlayerController(self, timeline_rate=self.timeline_rate, reference=self.pinned)
        self.grid = ReviewGrid(self._rows, self._columns, self, prefer_gl=self._prefer_gl)
        layout.insertWidget(0, self.grid, 1)
        self.paths = chosen
        self.timeline.set_marks([])  # marks belong to what was shown; tools set new ones
        for path in self.paths[: self._rows * self._columns]:
            self.controller.add_source(path, self.grid.add_cell(path.name))
        self.timeline.scrub_requested.connect(self.controller.seek)
        self.controller.frames_shown.connect(self._update_transport)
        self.controller.state_changed.connect(self._update_transport)
        self.controller.cache_changed.connect(self._update_cache)
        self._follow_sound()
        self._cache_timer.start()
        self._update_room()
        self.loaded.emit()

    def set_timeline_rate(self, rate: Fraction | None) -> None:
        """Count the clock in `rate` (the scene's) from now on, this player and the next; None: the lead clip's."""
        self.timeline_rate = rate
        self.controller.set_timeline_rate(rate)

    def working_cell(self) -> PlayerCell | None:
        """The cell a take shown from a link or the scene workspace goes to: the one last clicked or tabbed
        to unless it shows the pinned reference, else the first cell that does not; None where every cell
        shows the reference (or there is none)."""
        cells = [c for c in self.controller.cells if c.source.path != self.pinned]
        chosen = next((c for c in cells if c.view is self.grid.current), None)
        return chosen if chosen is not None else next(iter(cells), None)

    def show_clip(self, path: Path | str) -> PlayerCell:
        """Show `path` in the working cell and keep the rest: the layout, the other cells (the pinned
        reference, clips compared beside it), compare mode and zoom. Where every cell shows the reference,
        a free slot takes the clip; an empty player loads it. A 1x1 layout shows only the clip (a verdict
        judges the take on screen): the pinned reference, still pinned, waits right behind it in `paths`,
        said under the transport line, and goes back to the first cell when a larger layout opens it. The
        clock keeps its rate and loop and goes to frame 0, paused, without in/out points (they were the old
        clip's). Returns the cell that shows it."""
        path = Path(path)
        controller = self.controller
        cell = self.working_cell()
        if not controller.cells:
            self.load([path])
            return next((c for c in self.controller.cells if c.source.path == path), self.controller.cells[0])
        if cell is None and len(controller.cells) < self._rows * self._columns:
            self.paths = [*self.paths[: len(controller.cells)], path]
            cell = controller.add_source(path, self.grid.add_cell(path.name))
            self.layout_changed.emit()  # a new cell: its tools (notes, zoom) attach as after a layout switch
        else:
            cell = cell if cell is not None else controller.cells[0]
            at = controller.cells.index(cell)
            reference = self.pinned
            over = reference is not None and cell.source.path == reference != path  # 1x1: the reference waits
            self.paths[at : at + 1] = [path, reference] if over and reference is not None else [path]
            controller.replace_source(cell, path)
        self._update_room()
        self.timeline.set_marks([])
        controller.stop()
        controller.clear_in_out()
        controller.seek(0)
        return cell

    def _follow_sound(self) -> None:
        """The audible cell, vinyl and playback sound follow this player and grid; the audible cell
        skips the pinned reference (read through a weak reference: it is the panel's child and must
        not keep it alive)."""
        me = weakref.ref(self)

        def pinned() -> Path | None:
            panel = me()
            return None if panel is None else panel.pinned

        self.audible.follow(self.controller, self.grid, pinned)
        self.vinyl.follow(self.controller)
        self.sound.follow(self.controller)

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self._rows, self._columns

    def set_grid(self, rows: int, columns: int) -> None:
        """Change the layout (1x1, 1x2, 2x2, 3x3, …); playback keeps its frame and in/out (grid.reshape).
        Clips waiting for room open; a pinned reference that waited (behind a clip shown in 1x1) opens
        in the first cell."""
        self._rows, self._columns = rows, columns
        reshape(self.grid, self.controller, self.paths, rows, columns)
        shown = [c.source.path for c in self.controller.cells]
        if self.pinned in shown:
            put_first(self.grid, self.controller, self.paths, shown.index(self.pinned))
        self._update_room()
        self.layout_changed.emit()

    def _update_room(self) -> None:
        shown = [c.source.path for c in self.controller.cells]
        sentence = no_room(self.paths[len(shown) :], self.pinned, shown, self.grid_shape)
        self.room_note.setText(sentence)
        self.room_note.setVisible(bool(sentence))

    def add_bar(self, widget: QWidget) -> None:
        """A line of review tools (verdicts, notes, seams) under the transport line."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.addWidget(widget)

    def close_player(self) -> None:
        self._cache_timer.stop()
        self.controller.close()
        self.vinyl.close()
        self.sound.close()

    def _ask_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open clips", "", "Video (*.mp4 *.mov *.mkv *.webm)")
        if files:  # as any load: around the pinned reference; the clock in the scene's rate, else the lead clip's
            self.load(files)

    def _update_transport(self, *_: object) -> None:
        clock = self.controller.clock
        frame = clock.frame()
        self.timeline.set_state(clock.frame_count, frame, clock.in_point, clock.out_point)
        cells = self.controller.cells
        dropped = sum(c.scheduler.stats.dropped for c in cells)
        lead = self.controller.lead()  # the lead clip's frame, in the clock's units (not a reference's)
        shown = [c.view.shown_index for c in (lead, *cells) if c is not None and c.view.shown_index is not None]
        speed = clock.speed
        state = "paused" if speed == 0 else f"{speed:+d}x"
        self.jog.set_speed(speed)
        loop = "loop" if clock.loop else "once"
        source = self.controller.rate_source()
        rate = f"{rate_label(clock.rate)} ({source})" if source else rate_label(clock.rate)
        self.status.setText(
            f"{frames_to_timecode(frame, clock.rate)}  ·  frame {shown[0] if shown else '—'} / "
            f"{clock.frame_count}  ·  {rate}  ·  {state}  ·  {loop}  ·  dropped {dropped}"
        )

    def _update_cache(self) -> None:
        self.cache_bar.set_cached(self.controller.clock.frame_count, self.controller.cached_everywhere())


def review_panel_spec() -> PanelSpec:
    """The Review dock, tabbed with the library; playback shortcuts live while it has focus."""

    def make(context: PanelContext) -> QWidget:
        from x121_desktop.ui.actions_qt import attach_scope, connect

        panel = ReviewPanel()
        qactions = getattr(context.window, "qactions", None)
        registry = getattr(context.window, "registry", None)
        tools = None
        studio = getattr(context.services, "studio", None)
        if studio is not None:
            from x121_desktop.services.review import ReviewService
            from x121_desktop.ui.review.tools import ReviewTools

            tools = ReviewTools(panel, ReviewService(studio))
            panel.tools = tools
        if qactions is not None and registry is not None:
            attach_scope(qactions, registry, "timeline", panel)
            connect(qactions, {k: _live_handler(panel, k) for k in panel.controller.handlers()})
            connect(qactions, {"review.vinyl_mode": panel.vinyl.toggle, **panel.sound.handlers()})
            panel.vinyl.enabled_changed.connect(qactions["review.vinyl_mode"].setChecked)
            mute = qactions["review.audio.mute"]
            panel.sound.changed.connect(lambda: mute.setChecked(panel.sound.muted))
            # The window enables only `always` actions; the player's keys (has_media) wait for clips.
            media = [qactions[a.id] for a in registry if a.scope == "timeline" and a.enabled_when == "has_media"]
            panel.loaded.connect(lambda: [q.setEnabled(bool(panel.paths)) for q in media])
            if tools is not None:
                tools.attach(qactions)
        return panel

    area = Qt.DockWidgetArea.BottomDockWidgetArea
    return PanelSpec("review", "Review", area, make, action_id="view.panel.review", tab_with="library")


def _note_line(name: str, parent: QWidget) -> QLabel:
    """A sentence on a line of its own under the transport line, hidden while empty."""
    note = QLabel(parent)
    note.setObjectName(name)
    note.setWordWrap(True)
    note.hide()
    return note


def _live_handler(panel: ReviewPanel, action_id: str) -> Callable[[], object]:
    """A handler that reaches the panel's current controller (load() replaces it)."""

    def run() -> object:
        return panel.controller.handlers()[action_id]()

    return run
