"""The Servers panel: registered ComfyUI servers, their state, capacity, capabilities, speed and jobs.

Everything goes through `ServerBoardService` (which uses `services.servers.ServerService`). Adding,
draining, resuming and removing are for admins (the database's grants): for other roles those
buttons are disabled with the reason, and the database refuses anyway. Refreshing capabilities asks
the server itself (GET /object_info, /models…) and is open to creators. While the panel is visible it
re-reads the rows every `POLL_MS` (server state is not announced on a channel), never blocking the
GUI thread; every action re-reads at once. The poll starts with the window (`started`) and stops with it:
a shutdown step of the window, and the timer is the panel's child, so it also ends when the panel is
destroyed.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.enums import ServerStatus
from x121_desktop.core.errors import X121Error
from x121_desktop.services.server_board import ServerBoardRow, ServerBoardService
from x121_desktop.ui.docks import PanelContext, PanelSpec
from x121_desktop.ui.panels.notifications import Level

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.ui.concurrency import TaskRunner
    from x121_desktop.ui.panels.notifications import Notifier

POLL_MS = 5000
ADMIN_ONLY = "Only a studio admin may add, drain, resume or remove servers."
HEADERS = ("Server", "URL", "State", "Capacity", "Capabilities", "VRAM in use", "Speed", "Current jobs")
GIB = 1024**3


def cells(row: ServerBoardRow) -> tuple[str, ...]:
    s = row.server
    state = s.status.label + ("" if s.enabled else " (disabled)")
    capacity = f"{s.slots} running + {s.queued_slots} queued"
    caps = f"{s.node_count} node types, {row.models} models" if s.node_count or row.models else "not checked yet"
    vram = f"{row.vram_used / GIB:.1f} / {row.vram_total / GIB:.1f} GiB" if row.vram_total else ""
    per_job = row.seconds_per_job
    speed = "" if per_job is None else f"{per_job:.1f} s/job" if per_job >= 1 else f"{per_job * 1000:.0f} ms/job"
    jobs = ", ".join(f"#{j}" for j in row.current_jobs)
    return (s.name, s.url, state, capacity, caps, vram, speed, jobs)


def _tooltip(row: ServerBoardRow) -> str:
    s = row.server
    lines = [f"ComfyUI {s.comfyui_version}" if s.comfyui_version else "ComfyUI version unknown (not checked yet)"]
    lines += [f"{d.name}: {(d.vram_total - d.vram_free) / GIB:.1f} of {d.vram_total / GIB:.1f} GiB" for d in s.devices]
    lines += [f"{folder}: {n} files" for folder, n in s.model_counts]
    if s.last_seen_at is not None:
        lines.append(f"last seen {s.last_seen_at:%Y-%m-%d %H:%M:%S}")
    return "\n".join(lines)


class ServersPanel(QWidget):
    reloaded = Signal()
    message_shown = Signal(str)

    def __init__(
        self, board: ServerBoardService, tasks: TaskRunner, notifier: Notifier, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ServersPanel")
        self._board = board
        self._tasks = tasks
        self._notifier = notifier
        self.admin = False
        self.rows: list[ServerBoardRow] = []
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setObjectName("ServersTable")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("Name (e.g. gpu-2)")
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("URL (e.g. http://10.0.0.12:8188)")
        self.add = QPushButton("Add server", self)
        self.refresh = QPushButton("Refresh capabilities", self)
        self.drain = QPushButton("Drain", self)
        self.resume = QPushButton("Resume", self)
        self.remove = QPushButton("Remove", self)
        self.add.clicked.connect(self._add)
        self.refresh.clicked.connect(lambda: self._on_selected("refresh"))
        self.drain.clicked.connect(lambda: self._on_selected("drain"))
        self.resume.clicked.connect(lambda: self._on_selected("resume"))
        self.remove.clicked.connect(lambda: self._on_selected("remove"))
        self._build_layout()
        self._poll = QTimer(self)
        self._poll.setObjectName("ServersPanel.poll")
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_if_visible)
        self._update_buttons()

    def _build_layout(self) -> None:
        self.message = QLabel(self)
        self.message.setObjectName("ServersMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        actions = QHBoxLayout()
        for button in (self.refresh, self.drain, self.resume, self.remove):
            actions.addWidget(button)
        actions.addStretch(1)
        adding = QHBoxLayout()
        adding.addWidget(self.name, 1)
        adding.addWidget(self.url, 2)
        adding.addWidget(self.add)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(actions)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(adding)

    def start(self) -> None:
        self._spawn(self._who(), "read your server permissions")
        self.reload()
        self._poll.start()

    def stop(self) -> None:
        self._poll.stop()

    def polling(self) -> bool:
        return self._poll.isActive()

    async def shutdown(self) -> None:
        """The window's shutdown step: no more polls (the reads already running are the window's tasks)."""
        self.stop()

    async def _who(self) -> None:
        self.admin = await self._board.may_administer()
        self._update_buttons()

    def _poll_if_visible(self) -> None:
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        self._spawn(self._reload(), "read the ComfyUI servers")

    async def _reload(self) -> None:
        rows = await self._board.rows()
        keep = self.selected_name()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(cells(row)):
                item = QTableWidgetItem(value)
                item.setToolTip(_tooltip(row))
                self.table.setItem(r, c, item)
            if row.server.name == keep:
                self.table.selectRow(r)
        self._update_buttons()
        self.reloaded.emit()

    def selected(self) -> ServerBoardRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows and rows[0].row() < len(self.rows) else None

    def selected_name(self) -> str | None:
        row = self.selected()
        return None if row is None else row.server.name

    def select(self, name: str) -> None:
        for r, row in enumerate(self.rows):
            if row.server.name == name:
                self.table.selectRow(r)

    def _update_buttons(self) -> None:
        row = self.selected()
        draining = row is not None and (not row.server.enabled or row.server.status is ServerStatus.DRAINING)
        self.refresh.setEnabled(row is not None)
        self.drain.setEnabled(self.admin and row is not None and not draining)
        self.resume.setEnabled(self.admin and draining)
        self.remove.setEnabled(self.admin and row is not None)
        self.add.setEnabled(self.admin)
        for widget in (self.drain, self.resume, self.remove, self.add, self.name, self.url):
            widget.setToolTip("" if self.admin else ADMIN_ONLY)
        self.name.setEnabled(self.admin)
        self.url.setEnabled(self.admin)

    def _add(self) -> None:
        name, url = self.name.text(), self.url.text()

        async def work() -> str:
            view = await self._board.add(name, url)
            self.name.clear()
            self.url.clear()
            check = await self._board.refresh(view.name)
            return f"Added {view.name}. {check.sentence}"

        self._act(work(), "add the server")

    def _on_selected(self, what: str) -> None:
        name = self.selected_name()
        if name is None:
            return

        async def work() -> str:
            if what == "refresh":
                return (await self._board.refresh(name)).sentence
            if what == "drain":
                await self._board.drain(name)
                return f"{name} is draining: it takes no new jobs; jobs on it now finish there."
            if what == "resume":
                return f"{name} takes jobs again. " + (await self._board.resume(name)).sentence
            return await self._board.remove(name)

        self._act(work(), f"{what} the server")

    def _act(self, work: Coroutine[Any, Any, str], what: str) -> None:
        async def run() -> None:
            try:
                sentence, error = await work, False
            except X121Error as exc:
                sentence, error = exc.sentence, True
            await self._reload()  # the table first, so the sentence never describes a stale row
            self.show_message(sentence, error=error)

        self._spawn(run(), what)

    def show_message(self, sentence: str, *, error: bool = False) -> None:
        self.message.setText(sentence)
        self.message.show()
        self._notifier.post(Level.ERROR if error else Level.INFO, sentence)
        self.message_shown.emit(sentence)

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        self._tasks.spawn(coro, what=what)


def servers_panel_spec(studio: Studio) -> PanelSpec:
    """The Servers dock (Ctrl+4), tabbed with the library; reads start when the window starts."""

    def make(context: PanelContext) -> QWidget:
        panel = ServersPanel(ServerBoardService(studio), context.tasks, context.notifier)
        started = getattr(context.window, "started", None)
        if started is not None:
            started.connect(panel.start)
        add_shutdown_step = getattr(context.window, "add_shutdown_step", None)
        if add_shutdown_step is not None:
            add_shutdown_step(panel.shutdown)
        return panel

    area = Qt.DockWidgetArea.BottomDockWidgetArea
    return PanelSpec("servers", "Servers", area, make, action_id="view.panel.servers", tab_with="library")
