from __future__ import annotations

from pytestqt.qtbot import QtBot

from x121_desktop.db.migrate import SchemaStatus
from x121_desktop.services.bootstrap import DatabaseInfo
from x121_desktop.ui.main_window import MainWindow


def test_main_window_shows_the_database_it_runs_on(qtbot: QtBot) -> None:
    info = DatabaseInfo(
        description="embedded database in /home/artist/.local/share/x121-studio/db/pgdata",
        embedded=True,
        server_version="18.4",
        schema=SchemaStatus(current="0002", head="0002"),
        recovered_from_crash=True,
    )
    window = MainWindow(info)
    qtbot.addWidget(window)
    window.show()
    text = window.connection_label.text()
    assert "embedded database in /home/artist" in text
    assert "PostgreSQL 18.4" in text
    assert "Recovered" in text
    assert "schema 0002" in window.statusBar().currentMessage()
    assert window.windowTitle() == "X121 Studio"
