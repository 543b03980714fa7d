"""User administration: studio users are PostgreSQL login roles; PostgreSQL decides every change.

Admins add users, enable/disable them, change roles and reset passwords; everyone changes their own
password. All of it goes through services.users.UserAdminService (SECURITY DEFINER functions of
revision 0002); a refusal comes back as the server's sentence in a notification. The role matrix
(docs/SECURITY.md) is shown beside the list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.enums import UserRole
from x121_desktop.core.errors import X121Error
from x121_desktop.ui.panels.notifications import Level

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from typing import Any

    from x121_desktop.services.users import UserAdminService, UserView
    from x121_desktop.ui.concurrency import TaskRunner
    from x121_desktop.ui.panels.notifications import Notifier

ROLE_MATRIX: tuple[tuple[str, str, str, str], ...] = (
    ("Projects, scenes, segments, takes", "read", "read, write", "read, write"),
    ("Verdicts, annotations, comments", "own", "own + delete own", "own + delete any"),
    ("Final approval", "-", "approve / revoke", "approve / revoke"),
    ("Segment and workflow locks", "see", "take, renew, release", "+ break any"),
    ("Workflows, jobs, media", "read", "read, write", "read, write"),
    ("ComfyUI servers", "read", "report health", "add, change, remove"),
    ("Users and roles", "own name, own password", "own name, own password", "add, disable, role, reset password"),
)
"""What each role may do, as the database enforces it (docs/SECURITY.md, the matrix)."""
COLUMNS = ("User", "Name", "Role", "Active", "Can sign in")


class UsersAdminPanel(QWidget):
    users_loaded = Signal()

    def __init__(
        self, users: UserAdminService, tasks: TaskRunner, notifier: Notifier, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("UsersAdminPanel")
        self._users = users
        self._tasks = tasks
        self._notifier = notifier
        self.rows: tuple[UserView, ...] = ()
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.matrix = QTableWidget(len(ROLE_MATRIX), 4, self)
        self.matrix.setObjectName("RoleMatrix")
        self.matrix.setHorizontalHeaderLabels(("", "Reviewer", "Creator", "Admin"))
        self.matrix.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(ROLE_MATRIX):
            for c, text in enumerate(row):
                self.matrix.setItem(r, c, QTableWidgetItem(text))
        self.add_button = QPushButton("Add user…", self)
        self.toggle_button = QPushButton("Enable / disable", self)
        self.role_box = QComboBox(self)
        for role in UserRole:
            self.role_box.addItem(role.label, role.code)
        self.role_button = QPushButton("Set role", self)
        self.reset_button = QPushButton("Reset password…", self)
        self.own_button = QPushButton("Change my password…", self)
        buttons = QHBoxLayout()
        for w in (
            self.add_button,
            self.toggle_button,
            self.role_box,
            self.role_button,
            self.reset_button,
            self.own_button,
        ):
            buttons.addWidget(w)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.matrix, 1)
        self.add_button.clicked.connect(self._add_dialog)
        self.toggle_button.clicked.connect(self._toggle_selected)
        self.role_button.clicked.connect(self._role_selected)
        self.reset_button.clicked.connect(self._reset_dialog)
        self.own_button.clicked.connect(self._own_dialog)

    # ------------------------------------------------------------ loading
    def reload(self) -> None:
        self._tasks.spawn(self._reload(), what="list users")

    async def _reload(self) -> None:
        self.rows = await self._users.list_users()
        self.table.setRowCount(len(self.rows))
        for r, user in enumerate(self.rows):
            values = (
                user.name,
                user.display_name,
                user.role.label,
                "yes" if user.active else "no",
                "yes" if user.can_login else "no",
            )
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.users_loaded.emit()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self.rows:
            self.reload()

    def selected(self) -> UserView | None:
        row = self.table.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def select(self, name: str) -> bool:
        for r, user in enumerate(self.rows):
            if user.name == name:
                self.table.selectRow(r)
                return True
        return False

    # ------------------------------------------------------------ actions (also called by tests)
    def _run(self, work: Coroutine[Any, Any, object], done: str) -> None:
        async def body() -> None:
            try:
                await work
            except X121Error as exc:
                self._notifier.post(Level.ERROR, exc.sentence)
                return
            self._notifier.post(Level.INFO, done)
            await self._reload()

        self._tasks.spawn(body(), what=done)

    def add_user(self, name: str, role: UserRole, password: str, display_name: str = "") -> None:
        self._run(self._users.add_user(name, role, password, display_name or None), f"Added user {name}.")

    def set_active(self, name: str, active: bool) -> None:
        self._run(self._users.set_active(name, active), f"{'Enabled' if active else 'Disabled'} {name}.")

    def set_role(self, name: str, role: UserRole) -> None:
        self._run(self._users.set_role(name, role), f"{name} is now {role.label}.")

    def reset_password(self, name: str, password: str) -> None:
        self._run(self._users.reset_password(name, password), f"Password of {name} reset.")

    def change_own_password(self, password: str) -> None:
        self._run(self._users.change_own_password(password), "Your password was changed.")

    # ------------------------------------------------------------ dialogs
    def _toggle_selected(self) -> None:
        user = self.selected()
        if user is not None:
            self.set_active(user.name, not user.active)

    def _role_selected(self) -> None:
        user = self.selected()
        if user is not None:
            self.set_role(user.name, UserRole.from_code(str(self.role_box.currentData())))

    def _ask_password(self, title: str) -> str | None:
        text, ok = QInputDialog.getText(
            self, title, "New password (8 characters or more):", QLineEdit.EchoMode.Password
        )
        return text if ok and text else None

    def _reset_dialog(self) -> None:
        user = self.selected()
        if user is not None and (password := self._ask_password(f"Reset the password of {user.name}")):
            self.reset_password(user.name, password)

    def _own_dialog(self) -> None:
        if password := self._ask_password("Change your password"):
            self.change_own_password(password)

    def _add_dialog(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Add a studio user")
        form = QFormLayout(dialog)
        name, display, password = QLineEdit(dialog), QLineEdit(dialog), QLineEdit(dialog)
        password.setEchoMode(QLineEdit.EchoMode.Password)
        role = QComboBox(dialog)
        for r in UserRole:
            role.addItem(r.label, r.code)
        for label, widget in (("Login name", name), ("Shown as", display), ("Role", role), ("Password", password)):
            form.addRow(label, widget)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
        box.accepted.connect(dialog.accept)
        box.rejected.connect(dialog.reject)
        form.addRow(box)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.add_user(
                name.text().strip(), UserRole.from_code(str(role.currentData())), password.text(), display.text()
            )
