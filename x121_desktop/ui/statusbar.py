"""The service status bar: the database, every ComfyUI server, workers and the dispatcher, live.

`HealthMonitor` asks `HealthService.snapshot()` every few seconds (never two at once) and hands the
frozen snapshot to `ServiceStatusBar.show_snapshot` on the main thread. Each indicator is a button;
clicking it opens a menu with the details and what can be done there (reconnect the database, check a
server now, restart it through ComfyUI-Manager). State changes that matter are posted as notifications.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMenu, QStatusBar, QToolButton, QWidget

from x121_desktop.core.enums import ServerStatus
from x121_desktop.services.health import HealthService, HealthSnapshot, ServerHealth, describe_vram
from x121_desktop.ui.concurrency import TaskRunner
from x121_desktop.ui.panels.notifications import Level, Notifier, dot_icon, level_color

POLL_MS = 3000
_SERVER_LEVEL = {
    ServerStatus.ONLINE: Level.SUCCESS,
    ServerStatus.BUSY: Level.WARNING,
    ServerStatus.DRAINING: Level.WARNING,
    ServerStatus.OFFLINE: Level.ERROR,
    ServerStatus.ERRORED: Level.ERROR,
}


class HealthMonitor(QObject):
    snapshot_taken = Signal(object)  # HealthSnapshot (frozen)

    def __init__(self, health: HealthService, tasks: TaskRunner, interval_ms: int = POLL_MS) -> None:
        super().__init__(tasks)
        self.health = health
        self._tasks = tasks
        self._busy = False
        self.last: HealthSnapshot | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def poll(self) -> None:
        if not self._busy:
            self._busy = True
            self._tasks.spawn(self._take(), what="check the studio's services")

    async def _take(self) -> None:
        try:
            snapshot = await self.health.snapshot()
        finally:
            self._busy = False
        self.last = snapshot
        self.snapshot_taken.emit(snapshot)


class Indicator(QToolButton):
    """A dot and a short text; `state` is a property tests and stylesheets can read."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAutoRaise(True)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(self.toolButtonStyle().ToolButtonTextBesideIcon)
        self.setMenu(QMenu(self))
        # the whole indicator opens its menu; the arrow Qt adds would only clutter a dense bar
        self.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; } QToolButton { padding: 0 6px; }")
        self.show_state("unknown", Level.INFO, name, "")

    def show_state(self, state: str, level: Level, text: str, tooltip: str) -> None:
        self.setProperty("state", state)
        self.setIcon(dot_icon(level_color(level)))
        self.setText(text)
        self.setToolTip(tooltip)

    @property
    def state(self) -> str:
        return str(self.property("state"))


class ServiceStatusBar(QStatusBar):
    reconnect_requested = Signal()
    server_check_requested = Signal()
    server_restart_requested = Signal(str, str)  # name, url
    dispatcher_restart_requested = Signal()

    def __init__(self, notifier: Notifier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ServiceStatusBar")
        self.setSizeGripEnabled(False)
        self._notifier = notifier
        self.database = Indicator("status.database", self)
        self.workers = Indicator("status.workers", self)
        self.dispatcher = Indicator("status.dispatcher", self)
        self.user = QLabel("", self)
        self.user.setObjectName("status.user")
        self.user.setProperty("role", "muted")
        self.user.setContentsMargins(8, 0, 12, 0)
        self.no_servers = QLabel("no ComfyUI servers registered", self)
        self.no_servers.setObjectName("status.no_servers")
        self.no_servers.setProperty("role", "muted")
        self.no_servers.setToolTip("Register one with `x121 server add URL --name NAME` (admins)")
        self.no_servers.hide()
        self.servers: dict[str, Indicator] = {}
        self._server_slot = 2
        self.addPermanentWidget(self.database)
        self.addPermanentWidget(self.no_servers)
        self.addPermanentWidget(self.workers)
        self.addPermanentWidget(self.dispatcher)
        self.addPermanentWidget(self.user)
        self.last: HealthSnapshot | None = None

    # ------------------------------------------------------------ applying snapshots (main thread)

    def show_snapshot(self, snap: HealthSnapshot) -> None:
        previous, self.last = self.last, snap
        self._show_database(snap, previous)
        self._show_servers(snap, previous)
        self._show_workers(snap)

    def _show_database(self, snap: HealthSnapshot, previous: HealthSnapshot | None) -> None:
        db = snap.database
        if db.up:
            latency = f"{db.latency_ms:.0f} ms" if db.latency_ms is not None else ""
            self.database.show_state("up", Level.SUCCESS, f"DB {latency}".strip(), f"Database {db.description}")
        else:
            self.database.show_state("down", Level.ERROR, "DB offline", db.problem or "The database does not answer")
        menu = self._fresh_menu(self.database)
        menu.addAction(f"Database: {db.description}").setEnabled(False)
        menu.addAction("Connected" if db.up else (db.problem or "Not connected")).setEnabled(False)
        menu.addSeparator()
        menu.addAction("Reconnect now", self.reconnect_requested.emit)
        if previous is not None and previous.database.up != db.up:
            if db.up:
                self._notifier.post(Level.SUCCESS, "The database connection is back.")
            else:
                self._notifier.post(Level.ERROR, f"Lost the database connection: {db.problem}")

    def _show_servers(self, snap: HealthSnapshot, previous: HealthSnapshot | None) -> None:
        names = {s.name for s in snap.servers}
        self.no_servers.setVisible(not names)
        for gone in set(self.servers) - names:
            button = self.servers.pop(gone)
            self.removeWidget(button)
            button.deleteLater()
        for index, server in enumerate(snap.servers):
            found = self.servers.get(server.name)
            if found is None:
                found = Indicator(f"status.server.{server.name}", self)
                self.servers[server.name] = found
                self.insertPermanentWidget(self._server_slot + index, found)
            button = found
            self._show_server(button, server)
            before = previous.server(server.name) if previous is not None else None
            if before is not None and before.status != server.status and server.enabled:
                went_down = server.status in (ServerStatus.OFFLINE, ServerStatus.ERRORED)
                level = Level.ERROR if went_down else Level.SUCCESS
                text = f"ComfyUI server {server.name!r} is {server.status.label.lower()}."
                self._notifier.post(level, f"{text} {server.problem}" if went_down and server.problem else text)

    def _show_server(self, button: Indicator, server: ServerHealth) -> None:
        vram = describe_vram(server)
        down = server.status in (ServerStatus.OFFLINE, ServerStatus.ERRORED)
        label = server.name if down else f"{server.name} {vram}"
        details = [
            f"{server.name} — {server.url}",
            f"Status: {server.status.label}" + ("" if server.enabled else " (disabled)"),
        ]
        if server.gpu:
            details.append(f"GPU: {server.gpu}")
        if vram:
            details.append(f"VRAM used: {vram}")
        if server.running or server.pending:
            details.append(f"Queue: {server.running} running, {server.pending} pending")
        if server.problem:
            details.append(server.problem)
        button.show_state(server.status.code, _SERVER_LEVEL[server.status], label.strip(), "\n".join(details))
        menu = self._fresh_menu(button)
        for line in details:
            menu.addAction(line).setEnabled(False)
        menu.addSeparator()
        menu.addAction("Check now", self.server_check_requested.emit)
        restart = menu.addAction("Restart ComfyUI (through ComfyUI-Manager)")
        restart.triggered.connect(lambda _=False, n=server.name, u=server.url: self.server_restart_requested.emit(n, u))

    def _show_workers(self, snap: HealthSnapshot) -> None:
        local = sum(1 for w in snap.workers if w.local)
        queued = "?" if snap.queued_jobs is None else str(snap.queued_jobs)
        level = Level.SUCCESS if snap.workers else Level.INFO
        self.workers.show_state(
            "active" if snap.workers else "idle",
            level,
            f"workers {len(snap.workers)} · queue {queued}",
            f"{len(snap.workers)} dispatchers hold job leases ({local} on this machine); {queued} jobs queued",
        )
        menu = self._fresh_menu(self.workers)
        if not snap.workers:
            menu.addAction("No dispatcher is running jobs right now").setEnabled(False)
        for w in snap.workers:
            menu.addAction(f"{w.holder}{' (this machine)' if w.local else ''}: {w.jobs} jobs").setEnabled(False)
        d = snap.dispatcher
        self.dispatcher.show_state(
            "running" if d.running else "stopped",
            Level.SUCCESS if d.running else Level.INFO,
            "dispatcher on" if d.running else "dispatcher off",
            f"This window's dispatcher: {d.detail}",
        )
        menu = self._fresh_menu(self.dispatcher)
        menu.addAction(f"Local dispatcher: {d.detail}").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Restart local dispatcher" if d.running else "Start local dispatcher").triggered.connect(
            self.dispatcher_restart_requested.emit
        )

    def show_user(self, text: str) -> None:
        self.user.setText(text)

    @staticmethod
    def _fresh_menu(button: QToolButton) -> QMenu:
        menu = button.menu()
        assert menu is not None
        menu.clear()
        return menu

    def server_state(self, name: str) -> str | None:
        button = self.servers.get(name)
        return None if button is None else button.state
