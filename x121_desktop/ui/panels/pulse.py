"""Studio Pulse: the live activity feed, who is here, and mention alerts; plus the window's collab wiring.

Live, not polled: one LISTEN thread (services.collab.CollabListener) hands events to `event_arrived`
(a queued signal, so handling runs on the main thread). A feed event is fetched and shown if it
passes the filters; a notification for the signed-in user becomes an in-app + tray notification
with its deep link; presence changes re-read who is here, and a single timer re-reads when the
oldest heartbeat will time out. Double-clicking an item with a link opens it (`link_activated`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from x121_desktop.core.collab import handoff
from x121_desktop.core.collab.feed import describe
from x121_desktop.core.collab.handoff import runtime_socket
from x121_desktop.core.collab.values import ActivityItem, Location, PresenceSnapshot
from x121_desktop.core.enums import ActivityKind
from x121_desktop.services.activity import FeedFilter
from x121_desktop.services.collab import (
    ACTIVITY,
    LOCKS,
    NOTIFICATIONS,
    PRESENCE,
    RECONNECTED,
    CollabEvent,
    CollabListener,
    CollabServices,
)
from x121_desktop.services.presence import PresenceBeacon
from x121_desktop.ui.docks import PanelContext, PanelRegistry, PanelSpec
from x121_desktop.ui.panels.notifications import Level

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.ui.concurrency import TaskRunner
    from x121_desktop.ui.main_window import MainWindow
    from x121_desktop.ui.panels.notifications import Notifier
    from x121_desktop.ui.single_instance import LinkOpener, SingleInstanceServer

__all__ = ["PulsePanel", "collab_for", "install_collab", "register_collab_panels", "runtime_socket"]
LINK_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
MAX_ITEMS = 500


class PulsePanel(QWidget):
    link_activated = Signal(str)
    event_arrived = Signal(object)
    """A CollabEvent; emitted from the listener thread, handled on the main thread (queued)."""
    feed_loaded = Signal()

    def __init__(
        self, collab: CollabServices, tasks: TaskRunner, notifier: Notifier, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("PulsePanel")
        self._collab = collab
        self._tasks = tasks
        self._notifier = notifier
        self.me: int | None = None
        self._loading = 0
        self._arrived: list[ActivityItem] = []
        self.kind = QComboBox(self)
        self.kind.addItem("All activity", None)
        for kind in ActivityKind:
            self.kind.addItem(kind.label, int(kind))
        self.actor = QComboBox(self)
        self.actor.addItem("Everyone", None)
        self.project = QComboBox(self)
        self.project.addItem("All projects", None)
        self.here = QLabel("Nobody else is here.", self)
        self.here.setObjectName("PulsePresence")
        self.here.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.itemActivated.connect(self._activated)
        self.list.itemDoubleClicked.connect(self._activated)
        filters = QHBoxLayout()
        for combo in (self.kind, self.actor, self.project):
            filters.addWidget(combo)
            combo.currentIndexChanged.connect(lambda _i: self.reload())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(self.here)
        layout.addWidget(self.list, 1)
        self.presence = PresenceSnapshot((), collab.presence.timeout_s, None)
        self._expiry = QTimer(self)
        self._expiry.setSingleShot(True)
        self._expiry.timeout.connect(self.refresh_presence)
        self.event_arrived.connect(self._handle, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ filters and loading
    def current_filter(self) -> FeedFilter:
        kind = self.kind.currentData()
        return FeedFilter(
            project_id=self.project.currentData(),
            actor_id=self.actor.currentData(),
            kinds=() if kind is None else (ActivityKind(kind),),
        )

    def set_filter(self, *, kind: ActivityKind | None = None, actor_id: int | None = None) -> None:
        self.kind.setCurrentIndex(max(0, self.kind.findData(None if kind is None else int(kind))))
        if actor_id is not None and self.actor.findData(actor_id) < 0:
            self.actor.addItem(f"user #{actor_id}", actor_id)
        self.actor.setCurrentIndex(max(0, self.actor.findData(actor_id)))

    def reload(self) -> None:
        self._tasks.spawn(self._reload(), what="load the activity feed")

    async def _reload(self) -> None:
        self._loading += 1
        try:
            items = await self._collab.activity.feed(self.current_filter())
        finally:
            self._loading -= 1
        loaded = {i.id for i in items}
        # Events that arrived live while this read was under way may be missing from it: keep them on top.
        late = [i for i in self._arrived if i.id not in loaded and self._matches(i)]
        if not self._loading:
            self._arrived.clear()
        self.list.clear()
        for item in [*sorted(late, key=lambda i: -i.id), *items]:
            self._learn(item)
            self.list.addItem(self._row(item))
        self.feed_loaded.emit()

    def _learn(self, item: ActivityItem) -> None:
        if self.actor.findData(int(item.actor_id)) < 0:
            self.actor.addItem(item.actor_name, int(item.actor_id))
        if item.project_id is not None and self.project.findData(int(item.project_id)) < 0:
            self.project.addItem(f"project #{item.project_id}", int(item.project_id))

    def _row(self, item: ActivityItem) -> QListWidgetItem:
        row = QListWidgetItem(f"{item.at:%H:%M:%S}  {describe(item)}")
        row.setData(ID_ROLE, item.id)
        link = item.data.get("link")
        if isinstance(link, str):
            row.setData(LINK_ROLE, link)
            row.setToolTip(link)
        return row

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _matches(self, item: ActivityItem) -> bool:
        f = self.current_filter()
        return (
            (f.project_id is None or item.project_id == f.project_id)
            and (f.actor_id is None or item.actor_id == f.actor_id)
            and (not f.kinds or item.kind in f.kinds)
        )

    def _activated(self, row: QListWidgetItem) -> None:
        link = row.data(LINK_ROLE)
        if isinstance(link, str):
            self.link_activated.emit(link)

    # ------------------------------------------------------------ live events
    def _handle(self, event: CollabEvent) -> None:
        if event.channel == ACTIVITY and (event_id := event.int_field("id")) is not None:
            self._tasks.spawn(self._add_event(event_id), what="show a feed event")
        elif event.channel == NOTIFICATIONS and self.me is not None and event.int_field("user_id") == self.me:
            self._tasks.spawn(self._alert(), what="show a notification")
        elif event.channel in (PRESENCE, LOCKS):
            self.refresh_presence()
        elif event.channel == RECONNECTED:
            self.reload()
            self.refresh_presence()

    async def _add_event(self, event_id: int) -> None:
        item = await self._collab.activity.event(event_id)
        if item is not None and self._loading:
            self._arrived.append(item)
        if item is None or not self._matches(item):
            return
        self._learn(item)
        self.list.insertItem(0, self._row(item))
        while self.list.count() > MAX_ITEMS:
            self.list.takeItem(self.list.count() - 1)

    async def _alert(self) -> None:
        unread = await self._collab.activity.notifications(unread_only=True)
        for note in reversed(unread):
            link = note.event.data.get("link")
            text = f"{note.kind.label}: {describe(note.event)}" + (f"  {link}" if isinstance(link, str) else "")
            self._notifier.post(Level.INFO, text)
        if unread:
            await self._collab.activity.mark_read([n.id for n in unread])

    def refresh_presence(self) -> None:
        self._tasks.spawn(self._refresh_presence(), what="show who is here")

    async def _refresh_presence(self) -> None:
        snap = await self._collab.presence.snapshot()
        self.presence = snap
        others = [e for e in snap.entries if e.machine != self._collab.machine or e.user_id != self.me]
        if not others:
            self.here.setText("Nobody else is here.")
        else:
            parts = []
            for e in others:
                at = f"scene #{e.location.scene_id}" if e.location.scene_id is not None else "the studio"
                if e.location.segment_id is not None:
                    at += f", segment #{e.location.segment_id}"
                parts.append(f"{e.display_name} ({e.machine}) at {at}")
            self.here.setText("Here now: " + "; ".join(parts))
        if snap.next_expiry_s is not None:
            self._expiry.start(int(snap.next_expiry_s * 1000) + 200)


class CollabWiring:
    """What `install_collab` started for a window; `stop()` ends it (tests, app quit)."""

    def __init__(self, opener: LinkOpener) -> None:
        self.opener = opener
        self.listener: CollabListener | None = None
        self.beacon: PresenceBeacon | None = None
        self.server: SingleInstanceServer | None = None

    def stop_now(self) -> None:
        """Synchronous part of stop(): the LISTEN thread and the socket (the heartbeat dies with the loop)."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        if self.server is not None:
            self.server.close()
            self.server = None

    async def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        if self.beacon is not None:
            await self.beacon.stop()
            self.beacon = None
        if self.server is not None:
            self.server.close()
            self.server = None


def register_collab_panels(panels: PanelRegistry, collab: CollabServices) -> None:
    """Add the Pulse and Users docks to a window's panel registry."""

    right = Qt.DockWidgetArea.RightDockWidgetArea
    panels.register(PanelSpec("pulse", "Studio Pulse", right, lambda c: PulsePanel(collab, c.tasks, c.notifier)))
    panels.register(PanelSpec("users", "Users", right, _users, visible=False, tab_with="pulse"))


def _users(context: PanelContext) -> QWidget:
    from x121_desktop.ui.panels.users_admin import UsersAdminPanel

    return UsersAdminPanel(context.services.users, context.tasks, context.notifier)


def collab_for(studio: Studio) -> CollabServices:
    return CollabServices.from_studio(studio)


def install_collab(
    window: MainWindow, collab: CollabServices, *, socket_path: os.PathLike[str] | None = None
) -> CollabWiring:
    """Start the feed, presence heartbeat, link hand-off and link opener for `window`."""
    from pathlib import Path

    from x121_desktop.ui.single_instance import LinkOpener, SingleInstanceServer, bring_to_front

    opener = LinkOpener(window, collab.activity)
    wiring = CollabWiring(opener)
    pulse = window.panel("pulse", PulsePanel)
    if pulse is not None:
        pulse.link_activated.connect(opener.open)
    if socket_path is not None:
        server = SingleInstanceServer(Path(socket_path), window)
        if server.listen():
            server.link_received.connect(opener.open)
            server.show_requested.connect(lambda: bring_to_front(window))
            wiring.server = server

    async def start() -> None:
        me = await window.services.users.whoami()
        if pulse is not None:
            pulse.me = None if me is None else int(me.id)
            wiring.listener = collab.listen(pulse.event_arrived.emit)
            pulse.reload()
            pulse.refresh_presence()
        wiring.beacon = PresenceBeacon(collab.presence, Location())
        link = os.environ.pop(handoff.LINK_ENV, "")
        if link:
            opener.open(link)

    window.started.connect(lambda: window.tasks.spawn(start(), what="start live collaboration"))
    window.add_shutdown_step(wiring.stop)  # the LISTEN thread, the presence row and the link socket end with it
    return wiring
