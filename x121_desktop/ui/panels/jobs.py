"""The Jobs panel: the shared queue live, a selected job's details, and the job.* actions.

Live, not polled: `JobBoardService.listen` runs one LISTEN thread on the job channel and hands each
committed change to `notice_arrived` (a queued signal, so it is handled on the main thread). A burst
of notices becomes one re-read (debounced); the selected job's details are re-read when it changed.
A one-second timer moves only the age/duration column (while the panel is visible). Reads and
actions run through the task runner, never blocking the GUI thread. The listener and the timers run
from `start()` (the window's `started`) until `stop()`: a shutdown step of the window; the LISTEN
thread also ends when the panel is destroyed (its timers, being its children, end with it).

Actions (window QActions, enabled exactly when the selected job's state allows them; who may act is
decided by the service and the database, whose refusal sentence is shown in the panel and posted, see
`perform`): job.cancel (not yet ended), job.retry (failed or cancelled: a new linked job),
job.move_to_front (queued), each on one selected job (`ui.panels.jobs_actions.JobActions`, which also
binds every job.* action and shows them as buttons); job.hold / job.release on every selected job that
is queued / on hold, and job.pause_queue / job.pause_studio (`ui.panels.jobs_hold.QueueControls`,
which also shows the paused banner, the status-bar indicator and the table's context menu). Rows are
selected with the usual extended selection (Shift/Ctrl + click, Shift + arrows).
`x121://jobs/<id>` links (the orchestrator's failure notifications) open here (`open_link`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.collab.deeplink import job_link_id
from x121_desktop.core.enums import JobStatus
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import JobId
from x121_desktop.services.job_board import (
    BoardFilter,
    BoardListener,
    BoardNotice,
    JobBoardRow,
    JobBoardService,
    QueueNotice,
    Viewer,
)
from x121_desktop.ui.docks import PanelContext, PanelSpec
from x121_desktop.ui.panels.jobs_actions import JobActions
from x121_desktop.ui.panels.jobs_details import JobDetailsView
from x121_desktop.ui.panels.jobs_hold import QueueControls
from x121_desktop.ui.panels.jobs_model import JobsModel
from x121_desktop.ui.panels.notifications import Level

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.ui.concurrency import TaskRunner
    from x121_desktop.ui.panels.notifications import Notifier

ACTIVE_STATES = (
    JobStatus.QUEUED,
    JobStatus.HELD,
    JobStatus.CLAIMED,
    JobStatus.UPLOADING,
    JobStatus.SUBMITTED,
    JobStatus.RUNNING,
    JobStatus.DOWNLOADING,
    JobStatus.LOST,
)
DEBOUNCE_MS = 150


class JobsPanel(QWidget):
    notice_arrived = Signal(object)
    """A BoardNotice or QueueNotice; emitted on the listener thread, handled on the main thread (queued)."""
    reloaded = Signal()
    details_shown = Signal(int)
    selection_changed = Signal()
    message_shown = Signal(str)

    def __init__(
        self, board: JobBoardService, tasks: TaskRunner, notifier: Notifier, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("JobsPanel")
        self._board = board
        self._tasks = tasks
        self._notifier = notifier
        self.viewer: Viewer | None = None
        self.listener: BoardListener | None = None
        self._want_selected: int | None = None
        self._build_filters()
        self._build_table()
        self.queue = QueueControls(self)
        self.job_actions = JobActions(self)
        self._build_layout()
        self._debounce = QTimer(self)
        self._debounce.setObjectName("JobsPanel.debounce")
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.reload)
        self._clock = QTimer(self)
        self._clock.setObjectName("JobsPanel.clock")
        self._clock.setInterval(1000)
        self._clock.timeout.connect(lambda: self.model.tick() if self.isVisible() else None)
        self.scope.currentIndexChanged.connect(lambda _i: self.reload())
        self.state.currentIndexChanged.connect(lambda _i: self.reload())
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selected())
        self.notice_arrived.connect(self._on_notice, Qt.ConnectionType.QueuedConnection)
        stop = self.stop_listening  # a plain callable: the panel's own slots no longer run once it is destroyed
        self.destroyed.connect(lambda *_: stop())

    def _build_filters(self) -> None:
        self.scope = QComboBox(self)
        self.scope.addItem("Everyone's jobs", False)
        self.scope.addItem("My jobs", True)
        self.state = QComboBox(self)
        self.state.addItem("All states", ())
        self.state.addItem("Active", ACTIVE_STATES)
        self.state.addItem("Failed or lost", (JobStatus.FAILED, JobStatus.LOST))
        for status in JobStatus:
            self.state.addItem(status.label, (status,))
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Filter: id, kind, workflow, owner, server")
        self.search.setClearButtonEnabled(True)
        self.count = QLabel(self)
        self.message = QLabel(self)
        self.message.setObjectName("JobsMessage")
        self.message.setWordWrap(True)
        self.message.hide()

    def _build_table(self) -> None:
        self.model = JobsModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("JobsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        # Interactive, fitted once to the first rows: ResizeToContents re-measured all 500 rows on every
        # reload (~110 ms) and every clock tick (~75 ms), on the GUI thread.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(50)
        header.setStretchLastSection(True)
        self._fitted = False
        self.details = JobDetailsView(self)
        self.details.job_link_activated.connect(self.select_job)

    def _build_layout(self) -> None:
        self.buttons = QHBoxLayout()
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)
        split.setSizes([1000, 500])  # the table's ten columns first; the details take the rest
        bar = QHBoxLayout()
        for widget in (self.scope, self.state, self.search):
            bar.addWidget(widget)
        bar.addWidget(self.count)
        bar.addStretch(1)
        bar.addLayout(self.buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.queue.banner)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

    # ------------------------------------------------------------ live
    def start(self) -> None:
        """Listen for job changes, load the queue and tick the clock column (idempotent)."""
        if self.listener is None:
            self.listener = self._board.listen(self.notice_arrived.emit)
        self._clock.start()
        self._spawn(self._who(), "read who you are")
        self.queue.attach_status_bar()
        self.queue.refresh()
        self.reload()

    def stop(self) -> None:
        self._clock.stop()
        self._debounce.stop()
        self.stop_listening()

    def running(self) -> bool:
        """Whether the listener or a timer still runs."""
        return self.listener is not None or self._clock.isActive() or self._debounce.isActive()

    async def shutdown(self) -> None:
        """The window's shutdown step (reads already running are the window's tasks, drained by it)."""
        self.stop()

    def stop_listening(self) -> None:
        """End the LISTEN thread (no Qt calls: also safe once the widget itself is deleted)."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

    def _on_notice(self, notice: BoardNotice | QueueNotice) -> None:
        if isinstance(notice, QueueNotice):
            self.queue.queue_changed(notice)
            return
        if notice.job_id is None:  # the listener reconnected: a pause may have been missed too
            self.queue.refresh()
        self._debounce.start()

    async def _who(self) -> None:
        self.viewer = await self._board.viewer()
        self.queue.update_actions()

    @property
    def board(self) -> JobBoardService:
        return self._board

    # ------------------------------------------------------------ loading
    def current_filter(self) -> BoardFilter:
        return BoardFilter(
            mine=bool(self.scope.currentData()), statuses=tuple(self.state.currentData()), text=self.search.text()
        )

    def reload(self) -> None:
        self._spawn(self._reload(), "load the job queue")

    async def _reload(self) -> None:
        rows = await self._board.rows(self.current_filter())
        keep = self._want_selected if self._want_selected is not None else self.selected_id()
        self.model.set_rows(rows)
        if rows and not self._fitted:
            self._fitted = True
            self.table.resizeColumnsToContents()
        self.count.setText(f"{len(rows)} job{'s' if len(rows) != 1 else ''}")
        if keep is not None and (at := self.model.row_of(keep)) >= 0:
            self._want_selected = None
            self.table.selectionModel().select(
                self.model.index(at, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.table.scrollTo(self.model.index(at, 0))
            self._spawn(self._show(int(keep)), "read the job's details")
        else:
            self._selected()
        self.reloaded.emit()

    def selected_rows(self) -> list[JobBoardRow]:
        """Every selected job, top to bottom."""
        picked = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [row for at in picked if (row := self.model.job_at(at)) is not None]

    def selected_row(self) -> JobBoardRow | None:
        """The job whose details show: the current row when it is selected, else the first selected."""
        current = self.table.currentIndex()
        if current.isValid() and self.table.selectionModel().isRowSelected(current.row()):
            return self.model.job_at(current.row())
        rows = self.selected_rows()
        return rows[0] if rows else None

    def selected_id(self) -> JobId | None:
        row = self.selected_row()
        return None if row is None else row.id

    def _selected(self) -> None:
        row = self.selected_row()
        if row is None:
            self.details.clear()
        elif self.details.details is None or self.details.details.row != row:
            self._spawn(self._show(int(row.id)), "read the job's details")
        self.selection_changed.emit()

    async def _show(self, job_id: int) -> None:
        details = await self._board.details(job_id)
        if self.selected_id() == job_id:
            self.details.show_details(details)
            self.details_shown.emit(job_id)

    def select_job(self, job_id: int) -> None:
        """Show this job: filters widened if it is hidden by them, then selected with its details."""
        self._want_selected = job_id
        if self.model.row_of(job_id) < 0 and (self.scope.currentIndex() or self.state.currentIndex()):
            for combo in (self.scope, self.state):
                combo.blockSignals(True)
                combo.setCurrentIndex(0)
                combo.blockSignals(False)
        if self.search.text():
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
        self.reload()

    def open_link(self, url: str) -> bool:
        """Select the job an `x121://jobs/<id>` link names; False for any other link."""
        job_id = job_link_id(url)
        if job_id is not None:
            self.select_job(job_id)
        return job_id is not None

    # ------------------------------------------------------------ acts
    def select_after_reload(self, job_id: int) -> None:
        """Select this job once the queue is next re-read (a retry's new job)."""
        self._want_selected = job_id

    def perform(
        self,
        work: Coroutine[Any, Any, str | tuple[str, bool]],
        what: str,
        *,
        refused: Callable[[], None] | None = None,
    ) -> None:
        """Run one act: its sentence (or (sentence, error)) shown and posted, then the queue re-read; a refusal's
        sentence shown as an error, then `refused()` (to show again what the database holds)."""

        async def run() -> None:
            try:
                said = await work
            except X121Error as exc:
                self.show_message(exc.sentence, error=True)
                if refused is not None:
                    refused()
                return
            sentence, error = said if isinstance(said, tuple) else (said, False)
            self.show_message(sentence, error=error)
            self.reload()

        self._spawn(run(), what)

    def show_message(self, sentence: str, *, error: bool = False) -> None:
        self.message.setText(sentence)
        self.message.setProperty("error", error)
        self.message.show()
        self._notifier.post(Level.ERROR if error else Level.INFO, sentence)
        self.message_shown.emit(sentence)

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        """Run `coro` as one of the window's tasks (its errors are routed to notifications)."""
        self._tasks.spawn(coro, what=what)

    _spawn = spawn


def jobs_panel_spec(studio: Studio) -> PanelSpec:
    """The Jobs dock (Ctrl+3), tabbed with the library below the central view; live once the window starts."""

    def make(context: PanelContext) -> QWidget:
        panel = JobsPanel(JobBoardService(studio), context.tasks, context.notifier)
        qactions = getattr(context.window, "qactions", None)
        if qactions is not None:
            panel.job_actions.bind(qactions)
        started = getattr(context.window, "started", None)
        if started is not None:
            started.connect(panel.start)
        add_shutdown_step = getattr(context.window, "add_shutdown_step", None)
        if add_shutdown_step is not None:
            add_shutdown_step(panel.shutdown)
        return panel

    area = Qt.DockWidgetArea.BottomDockWidgetArea
    return PanelSpec("jobs", "Jobs", area, make, action_id="view.panel.jobs", tab_with="library")
