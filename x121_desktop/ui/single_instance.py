"""One studio window per user and home; x121:// links handed to it; opening a link at its place.

`SingleInstanceServer` listens on the local socket of core/collab/handoff.py (a QLocalServer; a
second `x121 open URL` connects with a plain socket, sends the link, gets `ok` or a sentence, and
exits). `LinkOpener` parses a link (malformed → a warning notification, never an exception),
resolves it in the database (missing or mismatched rows → a warning naming them), opens its scene
in the navigator/overview and records the take and frame in `current`. The review player is not
part of this module: it connects to `take_requested(take_id, frame)`, the hook that puts the
player on that take at that frame.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

from x121_desktop.core.collab import handoff
from x121_desktop.core.collab.deeplink import job_link_id, parse_link
from x121_desktop.core.collab.values import LinkTarget
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import SceneId
from x121_desktop.ui.panels.notifications import Level

if TYPE_CHECKING:
    from x121_desktop.services.activity import ActivityService
    from x121_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class SingleInstanceServer(QObject):
    """Accepts `open <url>` requests from other processes; emits link_received on the main thread.

    A bare `open` (a second launch of the studio, `x121 open` without a link) emits show_requested.
    """

    link_received = Signal(str)
    show_requested = Signal()

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        """False when another live window already listens there (this one should hand over and quit)."""
        probe = QLocalSocket()
        probe.connectToServer(str(self.path))
        if probe.waitForConnected(300):
            probe.disconnectFromServer()
            return False
        QLocalServer.removeServer(str(self.path))  # a socket file left by a crashed window
        if not self._server.listen(str(self.path)):
            log.warning("cannot listen for x121:// links on %s: %s", self.path, self._server.errorString())
            return False
        return True

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while (conn := self._server.nextPendingConnection()) is not None:
            conn.readyRead.connect(lambda c=conn: self._read(c))
            conn.disconnected.connect(conn.deleteLater)

    def _read(self, conn: QLocalSocket) -> None:
        if not conn.canReadLine():
            return
        url = handoff.decode_request(bytes(conn.readLine().data()))
        error: str | None = None
        if url is None:
            error = "not an open request"
        elif url and job_link_id(url) is None:
            try:
                parse_link(url)
            except X121Error as exc:
                error = exc.sentence
        conn.write(handoff.encode_reply(error))
        conn.flush()
        conn.disconnectFromServer()
        if error is None and url:
            self.link_received.emit(url)
        elif error is None:
            self.show_requested.emit()


class LinkOpener(QObject):
    """Opens x121:// links in the window: the scene in the navigator + overview, the take and frame recorded."""

    take_requested = Signal(int, int)
    """(take id, frame): the review player's hook; frame is -1 when the link names none."""
    opened = Signal(str)

    def __init__(self, window: MainWindow, activity: ActivityService) -> None:
        super().__init__(window)
        self._window = window
        self._activity = activity
        self.current: LinkTarget | None = None

    def open(self, url: str) -> None:
        try:
            link = parse_link(url)
        except X121Error as exc:
            self._window.notifier.post(Level.WARNING, exc.sentence)
            return
        self._window.tasks.spawn(self._open(link.format()), what=f"open {link.format()}")

    async def _open(self, url: str) -> None:
        try:
            target = await self._activity.resolve_link(url)
        except X121Error as exc:
            self._window.notifier.post(Level.WARNING, exc.sentence)
            return
        if self._window.navigator is not None and self._window.navigator.data is None:
            with contextlib.suppress(X121Error):
                self._window.navigator.show_tree(await self._window.services.navigator.tree())
        self._window.open_scene(SceneId(target.scene_id))
        self.current = target
        if target.take_id is not None:
            where = f"segment {target.segment_number}, take #{target.take_id}"
            if target.frame is not None:
                where += f", frame {target.frame}"
            self._window.overview.selection.setText(f"{self._window.overview.selection.text()}\nLink: {where}".strip())
            self.take_requested.emit(int(target.take_id), -1 if target.frame is None else target.frame)
        bring_to_front(self._window)
        self.opened.emit(url)


def bring_to_front(window: QWidget) -> None:
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
