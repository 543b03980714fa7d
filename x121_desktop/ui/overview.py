"""The central view: a welcome page (keys, connection) until a scene is opened, then the scene workspace
(ui/scene/workspace.py) when the window has one attached, else the scene's name and status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QStackedLayout, QVBoxLayout, QWidget

from x121_desktop.services.bootstrap import DatabaseInfo
from x121_desktop.services.navigator import CharacterNode, ProjectNode, SceneNode

if TYPE_CHECKING:
    from x121_desktop.ui.scene.workspace import SceneWorkspace

HINTS = (
    ("Ctrl+K", "command palette — actions, characters, scenes"),
    ("`", "focus mode — only this view"),
    ("Ctrl+1…7", "show a panel"),
    ("F11", "full screen"),
)


class OverviewView(QWidget):
    def __init__(self, database: DatabaseInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OverviewView")
        self.welcome = QWidget(self)
        self.workspace: SceneWorkspace | None = None
        self.stack = QStackedLayout(self)
        self.stack.addWidget(self.welcome)
        self._build_welcome(database)

    def _build_welcome(self, database: DatabaseInfo) -> None:
        self.title = QLabel("X121 Studio", self.welcome)
        self.title.setProperty("role", "heading")
        self.subtitle = QLabel("Select a scene in the navigator, or press Ctrl+K.", self.welcome)
        self.subtitle.setProperty("role", "muted")
        self.selection = QLabel("", self.welcome)
        self.selection.setObjectName("OverviewSelection")
        self.selection.setProperty("role", "mono")
        self.selection.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        keys = QFrame(self.welcome)
        grid = QGridLayout(keys)
        grid.setContentsMargins(0, 12, 0, 12)
        grid.setHorizontalSpacing(16)
        for row, (key, text) in enumerate(HINTS):
            k = QLabel(key, keys)
            k.setProperty("role", "mono")
            d = QLabel(text, keys)
            d.setProperty("role", "muted")
            grid.addWidget(k, row, 0)
            grid.addWidget(d, row, 1)
        grid.setColumnStretch(2, 1)
        self.connection = QLabel(connection_text(database), self.welcome)
        self.connection.setObjectName("OverviewConnection")
        self.connection.setProperty("role", "mono")
        self.connection.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self.welcome)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(6)
        for widget in (self.title, self.subtitle, self.selection, keys):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.connection)

    def attach(self, workspace: SceneWorkspace) -> None:
        """Opened scenes show in `workspace` from now on."""
        self.workspace = workspace
        workspace.setParent(self)
        self.stack.addWidget(workspace)

    def open_scene(self, scene_id: int) -> bool:
        """Show the scene in the workspace (it reads the scene itself); False when there is no workspace."""
        if self.workspace is None:
            return False
        self.stack.setCurrentWidget(self.workspace)
        self.workspace.open_scene(scene_id)
        return True

    def show_scene(self, project: ProjectNode, character: CharacterNode, scene: SceneNode) -> None:
        if self.open_scene(int(scene.id)):
            return
        self.title.setText(scene.name)
        self.subtitle.setText(f"{project.name}  /  {character.name}")
        self.selection.setText(
            f"scene #{scene.id}   status {scene.status.label}   segments {scene.segment_count}\n"
            "This window has no scene workspace (it needs a studio); open the scene in Review."
        )


def connection_text(db: DatabaseInfo) -> str:
    lines = [
        f"Database   {db.description}",
        f"Server     PostgreSQL {db.server_version}",
        f"Schema     {db.schema.current} (head {db.schema.head})",
    ]
    if db.recovered_from_crash:
        lines.append("Recovered  an embedded server left behind by a crashed session")
    lines += [f"Note       {notice}" for notice in db.notices]
    return "\n".join(lines)
