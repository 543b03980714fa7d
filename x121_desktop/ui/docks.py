"""Dockable panels, declared once: id, title, default area, factory. The main window builds a dock for each.

No singleton: `app.py` makes a registry with `default_panels()` and passes it to the window. A module
that adds a panel (the library browser, the job queue, …) registers a PanelSpec there:

    panels = default_panels()
    panels.register(PanelSpec("library", "Library", Qt.DockWidgetArea.LeftDockWidgetArea,
                              lambda ctx: LibraryPanel(ctx.services, ctx.tasks), action_id="view.panel.library"))

Dock object names are `dock.<id>`, so a saved layout finds its docks again; ids are stable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from x121_desktop.services.bootstrap import DatabaseInfo
from x121_desktop.services.health import HealthService
from x121_desktop.services.local_dispatcher import LocalDispatcher
from x121_desktop.services.navigator import NavigatorService
from x121_desktop.services.preferences import PreferencesService
from x121_desktop.services.users import UserAdminService

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.ui.concurrency import ProgressCenter, TaskRunner
    from x121_desktop.ui.panels.notifications import Notifier


@dataclass(frozen=True, slots=True)
class WindowServices:
    """The services the window and its panels use (built from the Studio by `from_studio`)."""

    database: DatabaseInfo
    preferences: PreferencesService
    health: HealthService
    navigator: NavigatorService
    users: UserAdminService
    studio: Studio | None = None
    """The composition root's result, for panels that need more (the library)."""
    dispatcher: LocalDispatcher | None = None
    """This window's own dispatcher (off until started from the status bar); None where there is none."""

    @classmethod
    def from_studio(cls, studio: Studio) -> WindowServices:
        dispatcher = LocalDispatcher(studio)
        return cls(
            database=studio.database,
            preferences=PreferencesService(studio.sessions, studio.runtime),
            health=HealthService(
                studio.engine, studio.runtime, studio.database.description, dispatcher=dispatcher.health
            ),
            navigator=NavigatorService(studio.sessions, studio.runtime),
            users=UserAdminService(studio.engine, studio.runtime),
            studio=studio,
            dispatcher=dispatcher,
        )


@dataclass(frozen=True, slots=True)
class PanelContext:
    services: WindowServices
    tasks: TaskRunner
    notifier: Notifier
    progress: ProgressCenter
    window: QMainWindow


@dataclass(frozen=True, slots=True)
class PanelSpec:
    id: str
    title: str
    area: Qt.DockWidgetArea
    factory: Callable[[PanelContext], QWidget]
    action_id: str | None = None
    """The `view.panel.*` action that shows it, if any."""
    visible: bool = True
    """Shown in the default layout."""
    tab_with: str | None = None
    """Tabbed with this panel in the default layout."""


class PanelRegistry:
    def __init__(self, specs: tuple[PanelSpec, ...] = ()) -> None:
        self._specs: dict[str, PanelSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: PanelSpec) -> PanelSpec:
        if spec.id in self._specs:
            raise ValueError(f"panel id '{spec.id}' is registered twice")
        self._specs[spec.id] = spec
        return spec

    def get(self, panel_id: str) -> PanelSpec:
        return self._specs[panel_id]

    def __contains__(self, panel_id: object) -> bool:
        return panel_id in self._specs

    def __iter__(self) -> Iterator[PanelSpec]:
        return iter(self._specs.values())

    def by_action(self, action_id: str) -> PanelSpec | None:
        return next((s for s in self._specs.values() if s.action_id == action_id), None)


def default_panels() -> PanelRegistry:
    from x121_desktop.ui.panels.navigator import navigator_panel
    from x121_desktop.ui.panels.notifications import NotificationsPanel
    from x121_desktop.ui.panels.progress import ProgressPanel

    left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
    return PanelRegistry(
        (
            PanelSpec("navigator", "Navigator", left, navigator_panel),
            PanelSpec("notifications", "Notifications", right, lambda c: NotificationsPanel(c.notifier)),
            PanelSpec("progress", "Operations", right, lambda c: ProgressPanel(c.progress), tab_with="notifications"),
        )
    )
