"""The Jobs panel's holds and paused queues (revision 0013, a render farm's "suspend").

`QueueControls` drives, for one `JobsPanel`:
- job.hold / job.release on every selected job that is queued / on hold (one transaction, each job's
  outcome said in the panel's message line);
- job.pause_queue (checkable): pause or resume the signed-in user's queue; job.pause_studio
  (checkable, admins only): pause or resume the studio queue; both show the state the database
  holds, which every client reads and hears (NOTIFY x121_job_queue), and are disabled with the
  reason where the viewer may not use them;
- the paused banner above the table and an indicator in the window's status bar, for everyone;
- the table's context menu (right click, the Menu key or Shift+F10): the job.* actions, views of the
  action registry like the menus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu

from x121_desktop.core.enums import JobStatus
from x121_desktop.services.job_board import JobBoardRow, QueueNotice, QueuePause, QueueState

if TYPE_CHECKING:
    from datetime import datetime

    from PySide6.QtGui import QAction

    from x121_desktop.ui.panels.jobs import JobsPanel

HOLD_ACTIONS = ("job.hold", "job.release")
PAUSE_ACTIONS = ("job.pause_queue", "job.pause_studio")
MENU = ("job.hold", "job.release", None, "job.cancel", "job.retry", "job.move_to_front", None, *PAUSE_ACTIONS)
"""The context menu, top to bottom (None: a separator)."""
ADMINS_ONLY = "Only a studio admin can pause or resume the studio queue."
NO_QUEUE = "Your login cannot submit jobs, so it has no queue to pause."


def holdable(rows: Sequence[JobBoardRow], action_id: str) -> list[int]:
    """The selected jobs `action_id` (job.hold / job.release) acts on: the queued ones / the ones on hold, by id."""
    wanted = JobStatus.QUEUED if action_id == "job.hold" else JobStatus.HELD
    return sorted(int(r.id) for r in rows if r.status is wanted)


def _since(at: datetime) -> str:
    return at.astimezone().strftime("%H:%M")


def banner_text(state: QueueState) -> str:
    """What the banner says, one line per paused queue that matters to the viewer ('' when nothing is paused)."""
    lines = []
    if state.studio is not None:
        lines.append(
            f"Studio queue paused by {state.studio.paused_by_name} since {_since(state.studio.paused_at)}: "
            "no job starts until an admin resumes it; running jobs finish."
        )
    if state.mine is not None:
        lines.append(
            f"Your queue is paused since {_since(state.mine.paused_at)}: your queued jobs are on hold, and so is "
            "every job you submit, until you resume it (Pause my queue)."
        )
    others = [p.user for p in state.users if p is not state.mine and p.user]
    if others:
        lines.append(f"Also paused: {', '.join(others)}'s queue{'s' if len(others) > 1 else ''}.")
    return "\n".join(lines)


def indicator_text(state: QueueState) -> str:
    parts = (["Studio queue paused"] if state.studio else []) + (["my queue paused"] if state.mine else [])
    return " · ".join(parts).capitalize() if parts else ""


class QueueControls(QObject):
    state_shown = Signal()
    """A queue state was read and shown (the banner, the indicator and the two pause actions)."""

    def __init__(self, panel: JobsPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.state: QueueState | None = None
        self.qactions: dict[str, QAction] = {}
        self.banner = QLabel(panel)
        self.banner.setObjectName("JobsQueuePaused")
        self.banner.setProperty("role", "warning")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.indicator: QLabel | None = None
        table = panel.table
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self.open_menu)

    # ------------------------------------------------------------ wiring
    def bind(self, qactions: dict[str, QAction]) -> None:
        self.qactions = qactions
        qactions["job.hold"].triggered.connect(lambda _c=False: self.act_on_selected(True))
        qactions["job.release"].triggered.connect(lambda _c=False: self.act_on_selected(False))
        qactions["job.pause_queue"].triggered.connect(lambda checked: self.set_paused(bool(checked), studio=False))
        qactions["job.pause_studio"].triggered.connect(lambda checked: self.set_paused(bool(checked), studio=True))
        self.update_actions()
        # the window enables every `always` action once its panels are built: apply ours again after that
        QTimer.singleShot(0, self, self.update_actions)

    def attach_status_bar(self) -> None:
        """Show the paused indicator in the window's status bar (hidden while nothing is paused); once the window
        is built (it replaces its status bar while assembling), so from `start()`. No window: no indicator."""
        window = self.panel.window()
        if self.indicator is not None or not isinstance(window, QMainWindow):
            return
        bar = window.statusBar()
        self.indicator = QLabel(bar)
        self.indicator.setObjectName("status.queue_paused")
        self.indicator.setProperty("role", "warning")
        self.indicator.setContentsMargins(8, 0, 8, 0)
        self.indicator.hide()
        bar.addPermanentWidget(self.indicator)

    def update_actions(self) -> None:
        """Enable job.hold / job.release for the selection, and the pause actions for who is signed in."""
        if not self.qactions:
            return
        rows = self.panel.selected_rows()
        for action_id in HOLD_ACTIONS:
            self.qactions[action_id].setEnabled(bool(holdable(rows, action_id)))
        viewer, state = self.panel.viewer, self.state
        mine, studio = self.qactions["job.pause_queue"], self.qactions["job.pause_studio"]
        mine.setEnabled(viewer is not None and viewer.may_submit and state is not None)
        studio.setEnabled(viewer is not None and viewer.admin and state is not None)
        mine.setChecked(state is not None and state.mine is not None)
        studio.setChecked(state is not None and state.studio is not None)
        for action, refusal in ((mine, NO_QUEUE), (studio, ADMINS_ONLY)):
            tip = "" if action.isEnabled() or viewer is None else refusal
            action.setToolTip(tip or action.text())
            action.setStatusTip(tip)

    # ------------------------------------------------------------ state
    def refresh(self) -> None:
        self.panel.spawn(self._read(), "read the paused queues")

    async def _read(self) -> None:
        self.show_state(await self.panel.board.queue_state())

    def show_state(self, state: QueueState) -> None:
        self.state = state
        text = banner_text(state)
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        if self.indicator is not None:
            short = indicator_text(state)
            self.indicator.setText(short)
            self.indicator.setToolTip(text)
            self.indicator.setVisible(bool(short))
        self.update_actions()
        self.state_shown.emit()

    def queue_changed(self, notice: QueueNotice) -> None:
        """Another client (or this one) paused or resumed a queue: re-read; say a studio change made by someone else."""
        viewer = self.panel.viewer
        if notice.user_id is None and (viewer is None or notice.by_user != viewer.user_id):
            self.panel.spawn(self._say_studio(notice.paused), "read the paused queues")
        else:
            self.refresh()

    async def _say_studio(self, paused: bool) -> None:
        await self._read()
        studio: QueuePause | None = self.state.studio if self.state is not None else None
        if paused and studio is not None:
            self.panel.show_message(
                f"{studio.paused_by_name} paused the studio queue: no job starts until it is resumed."
            )
        elif not paused:
            self.panel.show_message("The studio queue is running again.")

    # ------------------------------------------------------------ acts
    def act_on_selected(self, hold: bool) -> None:
        ids = holdable(self.panel.selected_rows(), "job.hold" if hold else "job.release")
        if not ids:
            return
        board = self.panel.board

        async def act() -> tuple[str, bool]:
            result = await (board.hold(ids) if hold else board.release(ids))
            return result.sentence, bool(result.refused) and not result.changed

        self.panel.perform(act(), "put the jobs on hold" if hold else "release the jobs")

    def set_paused(self, paused: bool, *, studio: bool) -> None:
        board = self.panel.board

        async def act() -> str:
            change = await (board.pause_studio(paused) if studio else board.pause_my_queue(paused))
            await self._read()
            return change.sentence

        what = "the studio queue" if studio else "your queue"
        self.panel.perform(act(), f"{'pause' if paused else 'resume'} {what}", refused=self.update_actions)

    # ------------------------------------------------------------ context menu
    def build_menu(self) -> QMenu:
        """The context menu over the table: the job.* actions in `MENU` order (the pause actions last)."""
        menu = QMenu(self.panel)
        menu.setObjectName("JobsContextMenu")
        for action_id in MENU:
            if action_id is None:
                menu.addSeparator()
            elif action_id in self.qactions:
                menu.addAction(self.qactions[action_id])
        return menu

    def open_menu(self, pos: QPoint) -> None:
        """Right click, or the Menu key / Shift+F10 (then at the current row): the job actions for the selection."""
        if not self.qactions:
            return
        table = self.panel.table
        current = table.currentIndex()
        keyboard = not table.indexAt(pos).isValid() and current.isValid()  # Menu key: under the current row
        at = table.visualRect(current).center() if keyboard else pos
        menu = self.build_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one menu per request, gone once closed
        menu.popup(table.viewport().mapToGlobal(at))
