"""Notifications: an in-app list (a dock) and, when the window is not in front, the system tray.

`Notifier.post(level, sentence)` is what the rest of the UI calls (errors from TaskRunner, the status
bar's "database lost/back", finished long operations). The panel is a view of the Notifier.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.ui.theme_qt import current_theme, qcolor

MAX_KEPT = 500


class Level(Enum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


_TOKENS = {
    Level.INFO: "fg.secondary",
    Level.SUCCESS: "status.approved.fg",
    Level.WARNING: "status.flagged.fg",
    Level.ERROR: "status.failed.fg",
}
_FALLBACK = {Level.INFO: "#9aa0a6", Level.SUCCESS: "#3fb950", Level.WARNING: "#d29922", Level.ERROR: "#f85149"}


def level_color(level: Level) -> QColor:
    app = QApplication.instance()
    theme = current_theme(app) if isinstance(app, QApplication) else None
    return qcolor(theme.colors[_TOKENS[level]]) if theme is not None else QColor(_FALLBACK[level])


def dot_icon(color: QColor, size: int = 10) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    level: Level
    text: str
    at: datetime


class Notifier(QObject):
    """Keeps the window's notifications; also shows warnings and errors in the tray when one exists."""

    notification_posted = Signal(int)
    notifications_cleared = Signal()

    def __init__(self, parent: QObject | None = None, *, use_tray: bool = True) -> None:
        super().__init__(parent)
        self._items: dict[int, Notification] = {}
        self._ids = itertools.count(1)
        self.tray: QSystemTrayIcon | None = None
        if use_tray and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(dot_icon(level_color(Level.INFO), 16), self)
            self.tray.setToolTip("X121 Studio")
            self.tray.show()

    def post(self, level: Level, text: str) -> int:
        note = Notification(next(self._ids), level, text, datetime.now())
        self._items[note.id] = note
        while len(self._items) > MAX_KEPT:
            del self._items[next(iter(self._items))]
        self.notification_posted.emit(note.id)
        if self.tray is not None and level in (Level.WARNING, Level.ERROR) and QApplication.activeWindow() is None:
            icon = QSystemTrayIcon.MessageIcon.Critical if level is Level.ERROR else QSystemTrayIcon.MessageIcon.Warning
            self.tray.showMessage("X121 Studio", text, icon, 8000)
        return note.id

    def post_error(self, text: str) -> int:
        return self.post(Level.ERROR, text)

    def get(self, note_id: int) -> Notification | None:
        return self._items.get(note_id)

    def items(self) -> tuple[Notification, ...]:
        return tuple(self._items.values())

    def clear(self) -> None:
        self._items.clear()
        self.notifications_cleared.emit()

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
            self.tray.deleteLater()
            self.tray = None


class NotificationsPanel(QWidget):
    """Newest first; each row is the sentence with its time and a coloured level dot."""

    def __init__(self, notifier: Notifier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NotificationsPanel")
        self._notifier = notifier
        self.list = QListWidget(self)
        self.list.setObjectName("NotificationList")
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.empty = QLabel("No notifications.", self)
        self.empty.setProperty("role", "muted")
        clear = QPushButton("Clear", self)
        clear.setObjectName("ClearNotifications")
        clear.clicked.connect(notifier.clear)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.empty, 1)
        top.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        notifier.notification_posted.connect(self._add)
        notifier.notifications_cleared.connect(self._reset)
        for note in notifier.items():
            self._add(note.id)
        self._update_empty()

    def _add(self, note_id: int) -> None:
        note = self._notifier.get(note_id)
        if note is None:
            return
        item = QListWidgetItem(dot_icon(level_color(note.level)), f"{note.at:%H:%M:%S}  {note.text}")
        item.setData(Qt.ItemDataRole.UserRole, note.id)
        item.setToolTip(note.text)
        self.list.insertItem(0, item)
        while self.list.count() > MAX_KEPT:
            self.list.takeItem(self.list.count() - 1)
        self._update_empty()

    def _reset(self) -> None:
        self.list.clear()
        self._update_empty()

    def _update_empty(self) -> None:
        count = self.list.count()
        self.empty.setText("No notifications." if count == 0 else f"{count} notification{'s' * (count != 1)}")

    def texts(self) -> list[str]:
        return [self.list.item(i).toolTip() for i in range(self.list.count())]
