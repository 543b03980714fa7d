"""Sign-in: the shared database with the user's own PostgreSQL role.

The role comes from the database URL; the password from the URL, X121_DATABASE_PASSWORD or the keyring
(bootstrap looks), and only when none of them works is the person asked here. A wrong password is asked
again with the server's sentence, up to MAX_TRIES. The embedded single-user database signs in silently.
Whether a typed password is kept in the keyring is the person's choice (the checkbox) and the outcome is
said in one sentence (a notice on the window).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.errors import DatabaseError
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio

MAX_TRIES = 3

# (where, problem or None) → (password, remember) or None when the person cancels
AskPassword = Callable[[str, str | None], tuple[str, bool] | None]


class SignInDialog(QDialog):
    def __init__(self, where: str, problem: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SignInDialog")
        self.setWindowTitle("X121 Studio — sign in")
        self.setModal(True)
        heading = QLabel("Sign in to the studio database", self)
        heading.setProperty("role", "heading")
        self.where = QLabel(where, self)
        self.where.setProperty("role", "mono")
        self.problem = QLabel(problem or "", self)
        self.problem.setObjectName("SignInProblem")
        self.problem.setProperty("role", "warning")
        self.problem.setWordWrap(True)
        self.problem.setVisible(bool(problem))
        self.password = QLineEdit(self)
        self.password.setObjectName("SignInPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("Password")
        self.remember = QCheckBox("Keep the password in this computer's keyring", self)
        self.remember.setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setText("Sign in")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(8)
        for widget in (heading, self.where, self.problem, self.password, self.remember, buttons):
            layout.addWidget(widget)
        self.setMinimumWidth(440)
        self.password.setFocus()

    def answer(self) -> tuple[str, bool] | None:
        text = self.password.text()
        return (text, self.remember.isChecked()) if text else None


def ask_with_dialog(where: str, problem: str | None) -> tuple[str, bool] | None:
    dialog = SignInDialog(where, problem)
    try:
        return dialog.answer() if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()


def sign_in(options: LaunchOptions, ask: AskPassword = ask_with_dialog) -> Studio:
    """Open the studio, asking for the password only when needed; raises the last X121Error otherwise."""
    from x121_desktop.services.auth.credentials import remember_password, stored_password

    problem: str | None = None
    choice: dict[str, bool] = {"remember": True, "cancelled": False}
    for attempt in range(MAX_TRIES):

        def prompt(where: str, problem: str | None = problem) -> str | None:
            answer = ask(where, problem)
            if answer is None:
                choice["cancelled"] = True
                return None
            password, choice["remember"] = answer
            return password

        def remember(url: str, role: str, password: str) -> str:
            if not choice["remember"]:
                return "The password was not kept in the keyring (you chose not to); you will be asked next time."
            return remember_password(url, role, password)

        try:
            return open_studio(
                options,
                prompt_password=prompt,
                stored_password=stored_password if attempt == 0 else None,
                remember_password=remember,
            )
        except DatabaseError as exc:
            if choice["cancelled"]:
                raise DatabaseError("Sign-in was cancelled", "Start X121 Studio again to sign in") from exc
            if "password" not in exc.problem or attempt == MAX_TRIES - 1:
                raise
            problem = exc.sentence
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
