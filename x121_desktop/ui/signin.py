"""Sign-in: the shared database with the user's own PostgreSQL role.

At start the user is the one who signed in last on this computer (services/auth/login.py), else the user
name of the database URL; the password comes from the URL, X121_DATABASE_PASSWORD or the keyring, and only
when none of them works (or that person signed out last time) is the person asked here, for the user name
(prefilled) and the password. A wrong password is asked again with the server's sentence, up to MAX_TRIES.
The embedded single-user database signs in silently. Whether a typed password is kept in the keyring is the
person's choice (the checkbox) and the outcome is said in one sentence (a notice on the window). After
Sign out (ui/session.py) the same dialog is shown without blocking the event loop (`ask_in_dialog`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.errors import DatabaseError
from x121_desktop.services.auth.credentials import database_key, stored_password
from x121_desktop.services.auth.login import (
    Credentials,
    LoginMemory,
    database_url,
    has_explicit_password,
    login_url,
    open_as,
    url_user,
)
from x121_desktop.services.auth.resolve import plan_login
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio

MAX_TRIES = 3
BUTTON_ROOM = 48
"""Pixels beside a button's text: the theme's icon and padding."""
TRUSTED = "This single-user database trusts this computer's account, so no password is asked."


@dataclass(frozen=True, slots=True)
class LoginChoice:
    """A login offered by name (the embedded database, where nothing is typed)."""

    user: str
    label: str


@dataclass(frozen=True, slots=True)
class SignInRequest:
    where: str
    """The database, as `host[:port]/database`."""
    user: str = ""
    """Prefilled user name (the last login)."""
    problem: str | None = None
    choices: tuple[LoginChoice, ...] = ()
    """When given: pick one of these logins, no password (the embedded database)."""


# the request → what the person typed, or None when they cancel
AskCredentials = Callable[[SignInRequest], Credentials | None]


class SignInDialog(QDialog):
    def __init__(self, request: SignInRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SignInDialog")
        self.setWindowTitle("X121 Studio — sign in")
        self.setModal(True)
        heading = QLabel("Sign in to the studio database", self)
        heading.setProperty("role", "heading")
        self.where = QLabel(request.where, self)
        self.where.setProperty("role", "mono")
        self.problem = QLabel(request.problem or "", self)
        self.problem.setObjectName("SignInProblem")
        self.problem.setProperty("role", "warning")
        self.problem.setWordWrap(True)
        self.problem.setVisible(bool(request.problem))
        self.choices = QComboBox(self)
        self.choices.setObjectName("SignInChoice")
        for choice in request.choices:
            self.choices.addItem(choice.label, choice.user)
        self.user = QLineEdit(request.user, self)
        self.user.setObjectName("SignInUser")
        self.user.setPlaceholderText("User name (your studio login)")
        self.password = QLineEdit(self)
        self.password.setObjectName("SignInPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("Password (empty: the one this computer's keyring keeps)")
        self.remember = QCheckBox("Keep the password in this computer's keyring", self)
        self.remember.setChecked(True)
        trusted = QLabel(TRUSTED, self)
        trusted.setWordWrap(True)
        trusted.setProperty("role", "muted")
        buttons = ok_cancel(self, "Sign in")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(8)
        picking = bool(request.choices)
        typing = [QLabel("User name", self), self.user, QLabel("Password", self), self.password]
        shown = [self.choices, trusted] if picking else typing
        for widget in (heading, self.where, self.problem, *shown, self.remember, buttons):
            layout.addWidget(widget)
        for widget in (self.choices, trusted, self.user, self.password, self.remember):
            widget.setVisible(widget in shown or (widget is self.remember and not picking))
        self.setMinimumWidth(440)
        (self.choices if picking else self.password if request.user else self.user).setFocus()

    def answer(self) -> Credentials | None:
        """What was typed, or None while there is no user name to sign in as."""
        if self.choices.isVisibleTo(self):
            user = self.choices.currentData()
            return Credentials(user, "", False) if isinstance(user, str) else None
        user = self.user.text().strip()
        return Credentials(user, self.password.text(), self.remember.isChecked()) if user else None


def ok_cancel(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    """OK (named `ok_text`) and Cancel wired to the dialog. The theme draws the default button semi-bold but
    sizes it for the regular weight (its text was cut: "Sign ir"), so it gets room for the bold text."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    if ok is not None:
        ok.setText(ok_text)
        bold = QFont(ok.font())
        bold.setWeight(QFont.Weight.DemiBold)
        ok.setMinimumWidth(QFontMetrics(bold).horizontalAdvance(ok_text) + BUTTON_ROOM)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def ask_with_dialog(request: SignInRequest) -> Credentials | None:
    """The dialog, modal, before the event loop runs (start-up)."""
    dialog = SignInDialog(request)
    try:
        return dialog.answer() if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()


async def ask_in_dialog(request: SignInRequest, parent: QWidget | None = None) -> Credentials | None:
    """The dialog without a nested event loop (`open()`, then await its end): for use inside a running task."""
    dialog = SignInDialog(request, parent)
    try:
        return dialog.answer() if await finished(dialog) == QDialog.DialogCode.Accepted.value else None
    finally:
        dialog.deleteLater()


async def finished(dialog: QDialog) -> int:
    """Open `dialog` (window-modal, not blocking) and return its result code once it closes."""
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def end(result: int) -> None:
        if not done.done():
            done.set_result(result)

    dialog.finished.connect(end)
    dialog.open()
    return await done


def sign_in(options: LaunchOptions, ask: AskCredentials = ask_with_dialog) -> Studio:
    """Open the studio, asking for the user name and password only when needed; raises the last X121Error."""
    url = database_url(options)
    if url is None:
        return open_studio(options)  # the embedded single-user database: silently, as its owner
    plan = plan_login(options)  # the CLI's rule too: X121_DATABASE_USER, a URL password, the last sign-in, the URL
    user = plan.user or ""
    problem: str | None = None
    if not plan.signed_out:
        given = url if user == url_user(url) else login_url(url, user)
        had_password = has_explicit_password(url) or stored_password(url, user) is not None
        try:
            studio = open_studio(replace(options, database_url=given), stored_password=stored_password)
        except DatabaseError as exc:
            if "password" not in exc.problem:
                raise
            problem = exc.sentence if had_password else None
        else:
            LoginMemory(studio.paths.home).signed_in(url, user)
            return studio
    for attempt in range(MAX_TRIES):
        answer = ask(SignInRequest(database_key(url), user, problem))
        if answer is None:
            raise DatabaseError("Sign-in was cancelled", "Start X121 Studio again to sign in")
        user = answer.user
        try:
            return open_as(options, answer)
        except DatabaseError as exc:
            if "password" not in exc.problem or attempt == MAX_TRIES - 1:
                raise
            problem = exc.sentence
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
