"""QApplication + qasync loop: sign in through services.bootstrap, then show the main window.

SIGTERM/SIGINT close the window (saving the layout) and quit; `aboutToQuit` releases the database and
the embedded server. Sign out (ui/session.py) replaces the studio and the window without leaving main().
`X121_READY_FILE=path` makes the app write the wall-clock time at which the window became interactive into
`path` and quit (used by benchmarks/bench_startup.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from x121_desktop.core.errors import X121Error
from x121_desktop.services.bootstrap import LaunchOptions, Studio
from x121_desktop.services.handoff import raise_running_window
from x121_desktop.settings.paths import resolve_home
from x121_desktop.ui.docks import PanelContext, PanelSpec
from x121_desktop.ui.session import StudioSession
from x121_desktop.ui.signin import sign_in

if TYPE_CHECKING:
    from x121_desktop.ui.main_window import MainWindow
    from x121_desktop.ui.panels.pulse import CollabWiring
    from x121_desktop.ui.single_instance import LinkOpener

log = logging.getLogger(__name__)
READY_FILE_ENV = "X121_READY_FILE"


def open_or_explain(options: LaunchOptions) -> Studio | None:
    """Sign in and open the studio; on a person-fixable error show the sentence and return None."""
    try:
        return sign_in(options)
    except X121Error as exc:
        print(f"x121: error: {exc.sentence}", file=sys.stderr)  # noqa: T201 - also visible from a terminal
        if os.environ.get(READY_FILE_ENV) is None:
            QMessageBox.critical(None, "X121 Studio cannot start", exc.sentence)
        return None


def main(args: argparse.Namespace) -> int:
    import qasync

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    from x121_desktop.ui.gc_guard import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector(app)
    app.aboutToQuit.connect(collector.stop)
    app.setApplicationName("X121 Studio")
    app.setOrganizationName("X121")
    # Let Python see signals while Qt's loop runs.
    pulse = QTimer()
    pulse.start(250)
    pulse.timeout.connect(lambda: None)

    if raise_running_window(resolve_home(args.home).home):
        print("x121: X121 Studio is already open for this home; it was brought to the front")  # noqa: T201
        return 0
    options = LaunchOptions(database_url=args.database_url, home=args.home)
    studio = open_or_explain(options)
    if studio is None:
        return 3
    try:
        window = _build_window(app, studio)
    except X121Error as exc:
        studio.close()
        print(f"x121: error: {exc.sentence}", file=sys.stderr)  # noqa: T201
        return 3
    session = StudioSession(app, options, studio, window, _build_window)  # Sign out replaces studio and window
    app.aboutToQuit.connect(session.close)

    def stop(*_: object) -> None:
        if session.window is not None:
            session.window.close()
        QTimer.singleShot(4000, app.quit)  # if saving the layout hangs (or no window is open: signing in)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window.show()
    ready_file = os.environ.get(READY_FILE_ENV)
    if ready_file:
        window.started.connect(lambda: _report_ready(app, ready_file))
    with loop:
        loop.create_task(window.start())
        loop.run_until_complete(_until_quit(app))
    session.close()
    return 0


def _build_window(app: QApplication, studio: Studio) -> MainWindow:
    from x121_desktop.ui.characters.install import install_characters
    from x121_desktop.ui.docks import WindowServices, default_panels
    from x121_desktop.ui.main_window import MainWindow
    from x121_desktop.ui.node_editor.panel import node_editor_panel_spec
    from x121_desktop.ui.panels.jobs import jobs_panel_spec
    from x121_desktop.ui.panels.library import LibraryPanel
    from x121_desktop.ui.panels.notifications import Level
    from x121_desktop.ui.panels.pulse import collab_for, install_collab, register_collab_panels, runtime_socket
    from x121_desktop.ui.panels.servers import servers_panel_spec
    from x121_desktop.ui.review.panel import review_panel_spec
    from x121_desktop.ui.scene.install import install_scene_workspace
    from x121_desktop.ui.theme_qt import ThemeSwitcher, apply_theme_named

    choice = apply_theme_named(app, studio.settings.theme)
    themes = ThemeSwitcher(app, choice.theme.name)
    panels = default_panels()
    panels.register(_library_spec(studio))
    panels.register(node_editor_panel_spec(studio))
    panels.register(review_panel_spec())
    panels.register(jobs_panel_spec(studio))
    panels.register(servers_panel_spec(studio))
    register_collab_panels(panels, collab := collab_for(studio))
    window = MainWindow(WindowServices.from_studio(studio), panels=panels, keymap=studio.settings.keymap, themes=themes)
    wiring = install_collab(window, collab, socket_path=runtime_socket(studio.paths.home))
    scene = install_scene_workspace(window, studio)
    install_characters(window, studio)  # New character…, and generated seeds recorded as their jobs finish
    window.add_shutdown_step(scene.stop)  # its LISTEN thread and timer end with the window, not only at quit
    wiring.opener.take_requested.connect(lambda take_id, _frame: scene.workspace.show_take(take_id))
    _open_linked_takes_in_review(window, wiring.opener)
    _close_review_with(window)
    _open_job_links_in_jobs(window, wiring)
    library = window.panel("library", LibraryPanel)
    if library is not None:
        window.started.connect(library.reload_soon)
    if choice.warning:
        window.notifier.post(Level.WARNING, choice.warning)
    themes.warning_raised.connect(lambda text: window.notifier.post(Level.WARNING, text))
    for notice in studio.database.notices:
        window.notifier.post(Level.INFO, notice)
    return window


def _open_linked_takes_in_review(window: MainWindow, opener: LinkOpener) -> None:
    """x121:// links (Studio Pulse, another `x121 open`) put the Review player on the take at the frame."""
    from x121_desktop.ui.review.panel import ReviewPanel
    from x121_desktop.ui.review.tools import ReviewTools

    review = window.panel("review", ReviewPanel)
    if review is None or not isinstance(review.tools, ReviewTools):
        return
    tools = review.tools

    def open_take(take_id: int, frame: int) -> None:
        window.show_panel("review")
        window.tasks.spawn(tools.open_take(take_id, frame), what="open the linked take in Review")

    opener.take_requested.connect(open_take)


def _close_review_with(window: MainWindow) -> None:
    """The Review player's decode and sound threads end with the window (Sign out replaces it), not only when
    the app quits."""
    from x121_desktop.ui.review.panel import ReviewPanel

    review = window.panel("review", ReviewPanel)
    if review is None:
        return

    async def close_player() -> None:
        review.close_player()

    window.add_shutdown_step(close_player)


def _open_job_links_in_jobs(window: MainWindow, wiring: CollabWiring) -> None:
    """`x121://jobs/<id>` links (a failed job's notification in Studio Pulse, `x121 open`) select that job in
    the Jobs panel; scene links go on to the link opener."""
    from x121_desktop.ui.panels.jobs import JobsPanel
    from x121_desktop.ui.panels.pulse import PulsePanel

    opener = wiring.opener
    jobs, pulse = window.panel("jobs", JobsPanel), window.panel("pulse", PulsePanel)
    if jobs is None or pulse is None:
        return

    def route(url: str) -> None:
        if jobs.open_link(url):
            window.show_panel("jobs")
        else:
            opener.open(url)

    pulse.link_activated.disconnect(opener.open)
    pulse.link_activated.connect(route)
    if wiring.server is not None:
        wiring.server.link_received.disconnect(opener.open)
        wiring.server.link_received.connect(route)


def _library_spec(studio: Studio) -> PanelSpec:
    """The library browser (ui/panels/library.py) as a dock below the central view."""

    def make(context: PanelContext) -> QWidget:
        from x121_desktop.services.library import LibraryService
        from x121_desktop.ui.panels.library import LibraryPanel

        panel = LibraryPanel(LibraryService.from_studio(studio))
        panel.error_reported.connect(context.notifier.post_error)
        add_shutdown_step = getattr(context.window, "add_shutdown_step", None)
        if add_shutdown_step is not None:  # its thumbnail loads are its own tasks, not the window's
            add_shutdown_step(panel.shutdown)
        return panel

    area = Qt.DockWidgetArea.BottomDockWidgetArea
    return PanelSpec("library", "Library", area, make, action_id="view.panel.library")


def _report_ready(app: QApplication, path: str) -> None:
    def write() -> None:
        with open(path, "w", encoding="utf-8") as out:
            out.write(f"{time.time():.6f}\n")
        for widget in app.topLevelWidgets():
            if widget.isWindow() and widget.isVisible():
                widget.close()

    QTimer.singleShot(0, write)  # after the first frame has been handled


async def _until_quit(app: QApplication) -> None:
    done = asyncio.Event()
    app.aboutToQuit.connect(done.set)
    await done.wait()
