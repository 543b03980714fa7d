"""What Sign out asks before it closes the window: what will stop, whether to forget the password, and, on
the embedded single-user database, which studio login to switch to (ui/session.py does the switching)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QLabel, QVBoxLayout, QWidget

from x121_desktop.ui.signin import TRUSTED, LoginChoice, ok_cancel

if TYPE_CHECKING:
    from x121_desktop.services.users import UserView
    from x121_desktop.ui.main_window import MainWindow

NOTHING_TO_SWITCH = (
    "This single-user database has no other studio login to switch to; an admin adds one with "
    "`x121 user add NAME --role creator` (or in the Users panel)."
)


@dataclass(frozen=True, slots=True)
class SignOutChoice:
    forget_password: bool
    switch_to: str | None
    """The login chosen on the embedded database; None on a shared one (the sign-in dialog asks)."""


def work_in_flight(window: MainWindow) -> tuple[str, ...]:
    """What signing out stops or gives back in this window, one phrase each (empty: nothing)."""
    from x121_desktop.ui.node_editor.panel import NodeEditorPanel
    from x121_desktop.ui.scene.install import SceneWindowWiring

    said = [f"{op.title} (running in this window)" for op in window.progress.operations()]
    scene = window.findChild(SceneWindowWiring)
    if isinstance(scene, SceneWindowWiring) and any(scene.ops.following(s) for s in scene.ops.directing):
        said.append("following generation here (its queued jobs stay queued and render on any dispatcher)")
    editor = window.panel("node_editor", NodeEditorPanel)
    if editor is not None and editor.editor.modified:
        said.append("the unsaved changes to the workflow in the node editor (they are lost)")
    dispatcher = window.services.dispatcher
    if dispatcher is not None and dispatcher.running:
        said.append("this window's job dispatcher (jobs it has not sent to a server go back to the queue)")
    held = len(scene.locks.held()) if isinstance(scene, SceneWindowWiring) else 0
    if held:
        said.append(f"{held} segment lock{'s' if held != 1 else ''} you hold here (given back)")
    return tuple(said)


def who(display_name: str, login: str) -> str:
    """`Ada Artist (ada)`; the login once when the name already says it (`Database owner (postgres)`)."""
    return display_name if f"({login})" in display_name else f"{display_name} ({login})"


def switch_choices(users: tuple[UserView, ...], me: str) -> tuple[LoginChoice, ...]:
    """The logins one can switch to: active, allowed to log in, not the one signed in."""
    return tuple(
        LoginChoice(u.name, f"{who(u.display_name, u.name)} · {u.role.label.lower()}")
        for u in users
        if u.active and u.can_login and u.name != me
    )


class SignOutDialog(QDialog):
    """Shown when there is something to say: work that stops, a kept password, logins to pick from."""

    def __init__(
        self,
        who: str,
        stopping: tuple[str, ...],
        *,
        can_forget: bool = False,
        choices: tuple[LoginChoice, ...] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("SignOutDialog")
        self.setWindowTitle("Switch user" if choices else "Sign out")
        self.setModal(True)
        heading = QLabel(f"Switch from {who} to:" if choices else f"Sign out {who}?", self)
        heading.setProperty("role", "heading")
        self.stopping = QLabel("Signing out stops " + "; ".join(stopping) + "." if stopping else "", self)
        self.stopping.setObjectName("SignOutStopping")
        self.stopping.setProperty("role", "warning")
        self.stopping.setWordWrap(True)
        self.login = QComboBox(self)
        self.login.setObjectName("SignOutSwitchTo")
        for choice in choices:
            self.login.addItem(choice.label, choice.user)
        trusted = QLabel(TRUSTED, self)
        trusted.setWordWrap(True)
        trusted.setProperty("role", "muted")
        self.forget = QCheckBox("Forget my password on this computer", self)
        self.forget.setObjectName("SignOutForget")
        buttons = ok_cancel(self, "Switch user" if choices else "Sign out")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(8)
        for widget in (heading, self.login, trusted, self.stopping, self.forget, buttons):
            layout.addWidget(widget)
        self.login.setVisible(bool(choices))
        trusted.setVisible(bool(choices))
        self.stopping.setVisible(bool(stopping))
        self.forget.setVisible(can_forget)
        self.setMinimumWidth(440)

    def choice(self) -> SignOutChoice:
        user = self.login.currentData() if self.login.isVisibleTo(self) else None
        forget = self.forget.isVisibleTo(self) and self.forget.isChecked()
        return SignOutChoice(forget, user if isinstance(user, str) else None)
