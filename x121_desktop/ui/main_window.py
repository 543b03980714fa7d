"""The studio's main window. This is the minimal frame; docks, themes and actions come with the shell."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from x121_desktop.services.bootstrap import DatabaseInfo


class MainWindow(QMainWindow):
    def __init__(self, database: DatabaseInfo) -> None:
        super().__init__()
        self.setWindowTitle("X121 Studio")
        self.resize(1280, 800)
        self._database = database

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(48, 48, 48, 48)
        title = QLabel("X121 Studio", central)
        title.setObjectName("title")
        title.setStyleSheet("font-size: 28px; font-weight: 600;")
        subtitle = QLabel("AI image-to-video production", central)
        subtitle.setStyleSheet("color: #8a8f98; font-size: 14px;")
        self.connection_label = QLabel(self._connection_text(), central)
        self.connection_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.connection_label.setStyleSheet("font-family: monospace; font-size: 12px; margin-top: 24px;")
        for w in (title, subtitle, self.connection_label):
            layout.addWidget(w)
        layout.addStretch(1)
        self.setCentralWidget(central)

        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        state = "embedded" if database.embedded else "shared"
        self.statusBar().showMessage(
            f"Database: {state} · PostgreSQL {database.server_version} · schema {database.schema.current}"
        )

    def _connection_text(self) -> str:
        db = self._database
        lines = [
            f"Database   {db.description}",
            f"Server     PostgreSQL {db.server_version}",
            f"Schema     {db.schema.current} (head {db.schema.head})",
        ]
        if db.recovered_from_crash:
            lines.append("Recovered  an embedded server left behind by a crashed session")
        lines += [f"Note       {notice}" for notice in db.notices]
        return "\n".join(lines)
