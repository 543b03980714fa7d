"""QApplication + qasync loop; opens the studio through services.bootstrap and shows the main window."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox

from x121_desktop.core.errors import X121Error
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def _ask_password(where: str) -> str | None:
    text, ok = QInputDialog.getText(
        None, "X121 Studio — sign in", f"Password for {where}:", QLineEdit.EchoMode.Password
    )
    return text if ok and text else None


def open_or_explain(options: LaunchOptions) -> Studio | None:
    """Open the studio; on a person-fixable error show the sentence and return None."""
    try:
        from x121_desktop.services.auth.credentials import remember_password, stored_password

        return open_studio(
            options, prompt_password=_ask_password, stored_password=stored_password, remember_password=remember_password
        )
    except X121Error as exc:
        print(f"x121: error: {exc.sentence}", file=sys.stderr)  # noqa: T201 - also visible from a terminal
        QMessageBox.critical(None, "X121 Studio cannot start", exc.sentence)
        return None


def main(args: argparse.Namespace) -> int:
    import qasync

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("X121 Studio")
    app.setOrganizationName("X121")
    # SIGTERM would otherwise kill us without releasing the embedded server (PLATFORM.md).
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    # Let Python see signals while Qt's loop runs.
    pulse = QTimer()
    pulse.start(250)
    pulse.timeout.connect(lambda: None)

    studio = open_or_explain(LaunchOptions(database_url=args.database_url, home=args.home))
    if studio is None:
        return 3
    app.aboutToQuit.connect(studio.close)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(studio.database)
    window.show()
    with loop:
        loop.run_until_complete(_until_quit(app))
    studio.close()
    return 0


async def _until_quit(app: QApplication) -> None:
    done = asyncio.Event()
    app.aboutToQuit.connect(done.set)
    await done.wait()
