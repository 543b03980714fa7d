"""The signed-in studio and its window for the life of the app: Sign out replaces both in this process.

Sign out (`app.sign_out`):
1. asks first (ui/sign_out.py) when there is something to say: work in flight in this window, a password
   the keyring keeps (the "Forget my password on this computer" box), or, on the embedded single-user
   database, which studio login to switch to (or one sentence saying there is none, and nothing happens);
2. closes the window the way quitting does (MainWindow.closeEvent: layout saved, dispatcher stopped,
   presence row deleted, segment locks given back, listeners stopped) and waits for it, then drains its
   tasks (`shutdown`);
3. forgets the password if asked, remembers that this user signed out (services/auth/login.py), and closes
   the studio (executors, engine, embedded handle);
4. asks who signs in (ui/signin.py, the user name prefilled with the one who left), again with the
   server's sentence until it works; cancelling quits the app. On the embedded database the chosen login
   opens directly;
5. builds the new window with the start-up builder (ui/app.py) and starts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QMessageBox

from x121_desktop.core.errors import X121Error
from x121_desktop.services.auth.credentials import database_key
from x121_desktop.services.auth.login import (
    Credentials,
    LoginMemory,
    database_url,
    forget_password,
    open_as,
    password_is_kept,
    url_user,
)
from x121_desktop.ui.panels.notifications import Level
from x121_desktop.ui.sign_out import (
    NOTHING_TO_SWITCH,
    SignOutChoice,
    SignOutDialog,
    switch_choices,
    who,
    work_in_flight,
)
from x121_desktop.ui.signin import LoginChoice, SignInRequest, ask_in_dialog, finished

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from x121_desktop.services.bootstrap import LaunchOptions, Studio
    from x121_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

WindowBuilder = Callable[["QApplication", "Studio"], "MainWindow"]
CLOSE_S = 30.0
"""How long the window may take to save its layout and stop its work before it is shut down anyway."""


class StudioSession(QObject):
    window_opened = Signal(object)
    """A new window (MainWindow) after a switch; it is shown and starting."""

    def __init__(
        self,
        app: QApplication,
        options: LaunchOptions,
        studio: Studio,
        window: MainWindow,
        build: WindowBuilder,
        *,
        quit_app: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.app, self.options, self._build = app, options, build
        self.studio: Studio | None = studio
        self.window: MainWindow | None = window
        self._quit = quit_app if quit_app is not None else app.quit
        self._task: asyncio.Task[bool] | None = None
        self._starting: set[asyncio.Task[None]] = set()
        self._attach(window)

    def _attach(self, window: MainWindow) -> None:
        action = window.qactions["app.sign_out"]
        action.setEnabled(True)
        action.triggered.connect(self.request_sign_out)

    @property
    def switching(self) -> bool:
        return self._task is not None and not self._task.done()

    def request_sign_out(self) -> asyncio.Task[bool] | None:
        """Start signing out (once at a time); the task's result says whether someone signed in again."""
        if self.switching:
            return None
        self._task = asyncio.get_event_loop().create_task(self._sign_out_reporting(), name="x121-sign-out")
        return self._task

    def close(self) -> None:
        """Release the current studio (app quit); idempotent."""
        if self.studio is not None:
            self.studio.close()

    # ------------------------------------------------------------ the switch

    async def sign_out(self) -> bool:
        """True when someone signed in again (a new window); False when the person stayed or cancelled (quit)."""
        window, studio = self.window, self.studio
        if window is None or studio is None:
            return False
        asked = await self._confirm(window)
        if asked is None:
            return False
        user, choice, choices = asked
        quits = self.app.quitOnLastWindowClosed()
        self.app.setQuitOnLastWindowClosed(False)  # the window closes before the next one opens
        try:
            await self._close(window)
            self.window = None
            self._leave(studio, user, choice)
            await asyncio.to_thread(studio.close)
            self.studio = None
            return await self._sign_in(user, choice, choices)
        finally:
            self.app.setQuitOnLastWindowClosed(quits)

    async def _sign_out_reporting(self) -> bool:
        try:
            return await self.sign_out()
        except Exception as exc:
            log.exception("sign out failed")
            sentence = exc.sentence if isinstance(exc, X121Error) else f"{type(exc).__name__}: {exc}"
            if self.window is not None:
                self.window.notifier.post(Level.ERROR, f"Signing out failed: {sentence}")
                return False
            box = QMessageBox(QMessageBox.Icon.Critical, "X121 Studio", f"Signing out failed ({sentence}); X121 quits.")
            await finished(box)
            box.deleteLater()
            self._quit()
            return False

    async def _confirm(self, window: MainWindow) -> tuple[str, SignOutChoice, tuple[LoginChoice, ...]] | None:
        """Who is leaving, and what they chose; None: they stay (cancelled, or nobody to switch to)."""
        me = await window.services.users.whoami()
        url = database_url(self.options)
        user = me.name if me is not None else (url_user(url) if url is not None else None) or ""
        leaving = who(me.display_name, me.name) if me is not None else user
        choices: tuple[LoginChoice, ...] = ()
        if url is None:
            choices = switch_choices(await window.services.users.list_users(), user)
            if not choices:
                window.notifier.post(Level.INFO, NOTHING_TO_SWITCH)
                return None
        stopping = work_in_flight(window)
        can_forget = url is not None and password_is_kept(self.options, user)
        if not (choices or stopping or can_forget):
            return user, SignOutChoice(forget_password=False, switch_to=None), choices
        dialog = SignOutDialog(leaving, stopping, can_forget=can_forget, choices=choices, parent=window)
        try:
            accepted = await finished(dialog) == QDialog.DialogCode.Accepted.value
            return (user, dialog.choice(), choices) if accepted else None
        finally:
            dialog.deleteLater()

    async def _close(self, window: MainWindow) -> None:
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_closed() -> None:
            if not closed.done():
                closed.set_result(None)

        window.closed.connect(on_closed)
        window.close()
        try:
            await asyncio.wait_for(closed, CLOSE_S)
        except TimeoutError:
            log.warning("the window did not close within %g s; shutting it down", CLOSE_S)
        await window.shutdown()  # what the close left running (it is idempotent)
        window.close()
        window.deleteLater()

    def _leave(self, studio: Studio, user: str, choice: SignOutChoice) -> None:
        url = database_url(self.options)
        if url is None:
            return
        if choice.forget_password and not forget_password(self.options, user):
            log.warning("no password of %s was kept in the keyring to forget", user)
        LoginMemory(studio.paths.home).signed_out(url, user)

    async def _sign_in(self, user: str, choice: SignOutChoice, choices: tuple[LoginChoice, ...]) -> bool:
        url = database_url(self.options)
        if url is None:
            request = SignInRequest("embedded single-user database", user, choices=choices)
            credentials: Credentials | None = Credentials(choice.switch_to or user, "", remember=False)
        else:
            request, credentials = SignInRequest(database_key(url), user), None
        while True:
            if credentials is None:
                credentials = await ask_in_dialog(request)
                if credentials is None:
                    self._quit()
                    return False
            try:
                studio = await asyncio.to_thread(open_as, self.options, credentials)
                try:
                    self._open(studio)
                except BaseException:
                    studio.close()
                    raise
            except X121Error as exc:
                request = replace(request, user=credentials.user, problem=exc.sentence)
                credentials = None
                continue
            return True

    def _open(self, studio: Studio) -> None:
        window = self._build(self.app, studio)
        self.studio, self.window = studio, window
        self._attach(window)
        window.show()
        starting = asyncio.get_running_loop().create_task(window.start(), name="x121-window-start")
        self._starting.add(starting)
        starting.add_done_callback(self._starting.discard)
        self.window_opened.emit(window)
