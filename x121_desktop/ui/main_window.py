"""The studio's main window. It only assembles: docks from the panel registry (ui/dock_assembly.py), menus and
shortcuts from the action registry, the service status bar, the command palette, focus mode and the saved layout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QByteArray, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QMainWindow

from x121_desktop.actions.catalog import build_registry
from x121_desktop.actions.keymap import Keymap
from x121_desktop.actions.palette_model import PaletteEntity
from x121_desktop.core.ids import ProjectId, SceneId
from x121_desktop.services.preferences import FOCUS_MODE_KEY, LAYOUT_KEY, THEME_KEY
from x121_desktop.ui.actions_qt import bind, build_menus, update_enabled
from x121_desktop.ui.concurrency import ProgressCenter, TaskRunner
from x121_desktop.ui.dock_assembly import build_docks, size_default_docks
from x121_desktop.ui.docks import PanelContext, PanelRegistry, WindowServices, default_panels
from x121_desktop.ui.layout_store import LAYOUT_VERSION, LayoutStore, apply_layout
from x121_desktop.ui.overview import OverviewView
from x121_desktop.ui.palette import CommandPalette
from x121_desktop.ui.panels.navigator import NavigatorPanel
from x121_desktop.ui.panels.notifications import Level, Notifier
from x121_desktop.ui.settings_dialogs import WindowSettings
from x121_desktop.ui.statusbar import POLL_MS, HealthMonitor, ServiceStatusBar
from x121_desktop.ui.theme_qt import ThemeSwitcher
from x121_desktop.ui.window_keymap import WindowKeymap

log = logging.getLogger(__name__)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


SAVE_ON_CLOSE_S = 3.0


class MainWindow(QMainWindow):
    started = Signal()
    closed = Signal()
    """The close went through (layout saved, background work stopped); Sign out waits for it (ui/session.py)."""
    focus_mode_changed = Signal(bool)

    def __init__(
        self,
        services: WindowServices,
        *,
        panels: PanelRegistry | None = None,
        keymap: str = "default",
        themes: ThemeSwitcher | None = None,
        health_interval_ms: int = POLL_MS,
        use_tray: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle("X121 Studio")
        screen = QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else None
        if area is not None and area.width() > 0:
            self.resize(min(1600, area.width()), min(1000, area.height()))
        else:
            self.resize(1440, 900)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )
        self.services = services
        self.themes = themes
        self.notifier = Notifier(self, use_tray=use_tray)
        self.progress = ProgressCenter(self)
        self.tasks = TaskRunner(self.notifier.post_error, self.progress, self)
        self._shutdown_steps: list[Callable[[], Awaitable[None]]] = []  # panel factories add theirs
        self._background_stopped = False
        self.overview = OverviewView(services.database, self)
        self.setCentralWidget(self.overview)

        # Actions exist before any panel is built: panel factories bind their scoped shortcuts to them.
        self.registry = build_registry()
        self.keymaps = WindowKeymap(self.registry, keymap)
        self.qactions = bind(self.registry, self.keymaps.effective, self)
        self.keymaps.attach(self.qactions)
        self.settings = WindowSettings(self)

        self.panels = panels if panels is not None else default_panels()
        context = PanelContext(services, self.tasks, self.notifier, self.progress, self)
        self.docks = build_docks(self, self.panels, context)
        size_default_docks(self, self.docks)
        self.navigator = self.panel("navigator", NavigatorPanel)

        self.menus = build_menus(self.menuBar(), self.registry, self.qactions)
        self.command_palette = CommandPalette(
            self.registry, self._keys_for, actions=self.qactions, entities=self._entities, parent=self
        )
        self.command_palette.entity_chosen.connect(self._open_entity)
        self._wire_actions()
        for warning in self.keymaps.warnings:
            self.notifier.post(Level.WARNING, warning)

        self.status = ServiceStatusBar(self.notifier, self)
        self.setStatusBar(self.status)
        self.monitor = HealthMonitor(services.health, self.tasks, health_interval_ms)
        self.monitor.snapshot_taken.connect(self.status.show_snapshot)
        self.status.reconnect_requested.connect(self.reconnect)
        self.status.server_check_requested.connect(self.monitor.poll)
        self.status.server_restart_requested.connect(self.restart_server)
        self.status.dispatcher_restart_requested.connect(self.restart_dispatcher)

        if self.navigator is not None:
            self.navigator.scene_activated.connect(lambda scene_id: self.open_scene(SceneId(scene_id)))

        self.layouts = LayoutStore(services.preferences)
        self.default_state: QByteArray = self.saveState(LAYOUT_VERSION)
        self._focus_state: QByteArray | None = None
        self._closing = False
        self._saved_on_close = False

    # ------------------------------------------------------------ assembly

    def panel[W](self, panel_id: str, kind: type[W]) -> W | None:
        dock = self.docks.get(panel_id)
        widget = dock.widget() if dock is not None else None
        return widget if isinstance(widget, kind) else None

    def _wire_actions(self) -> None:
        a = self.qactions
        a["app.quit"].triggered.connect(self.close)
        a["app.command_palette"].triggered.connect(self.command_palette.open_palette)
        a["view.focus_mode"].toggled.connect(self.set_focus_mode)
        a["view.fullscreen"].toggled.connect(lambda on: self.showFullScreen() if on else self.showNormal())
        a["view.layout.reset"].triggered.connect(self.reset_layout)
        if self.themes is not None:
            a["view.theme.next"].triggered.connect(self.next_theme)
        usable = {"always"}
        update_enabled(a, self.registry, usable.__contains__)
        for action_id, qaction in a.items():
            if action_id.startswith("view.panel."):
                spec = self.panels.by_action(action_id)
                qaction.setEnabled(spec is not None)
                if spec is not None:
                    qaction.triggered.connect(lambda _=False, pid=spec.id: self.show_panel(pid))
        a["app.preferences"].triggered.connect(self.settings.open_preferences)
        a["view.theme.choose"].triggered.connect(self.settings.open_preferences)
        a["view.keymap.choose"].triggered.connect(self.settings.open_preferences)
        a["app.keyboard_shortcuts"].triggered.connect(self.settings.open_shortcuts)
        for action_id in ("view.theme.next", "view.theme.choose"):
            a[action_id].setEnabled(self.themes is not None)
        a["app.project.open"].triggered.connect(lambda: self.command_palette.open_scoped("project", "Open project…"))
        a["app.project.open"].setEnabled(self.navigator is not None)
        a["app.sign_out"].setEnabled(False)  # the session that can replace this window enables it (ui/session.py)

    # ------------------------------------------------------------ start and stop

    async def start(self) -> None:
        """After show(): restore the user's layout and preferences, load the tree, start the health monitor."""
        prefs = self.services.preferences
        self.monitor.start()
        try:
            saved = await prefs.get_many("ui.")
        except Exception as exc:  # the database may be away; the window still works
            self.notifier.post(Level.WARNING, f"Your saved layout could not be read: {exc}")
            saved = {}
        if LAYOUT_KEY in saved:
            apply_layout(self, saved[LAYOUT_KEY])
        theme = saved.get(THEME_KEY)
        if self.themes is not None and isinstance(theme, str) and theme != self.themes.current:
            self.themes.switch_to(theme)
        for notice in self.keymaps.restore(saved):
            self.notifier.post(Level.WARNING, notice)
        if saved.get(FOCUS_MODE_KEY) is True:
            self.qactions["view.focus_mode"].setChecked(True)
        if self.navigator is not None:
            self.navigator.refresh()
        self.tasks.spawn(self._show_user(), what="look up the signed-in user")
        self.started.emit()

    async def _show_user(self) -> None:
        me = await self.services.users.whoami()
        if me is not None:
            self.status.show_user(f"{me.display_name} · {me.role.label.lower()}")
            self.setWindowTitle(f"X121 Studio — {me.display_name}")

    async def save_layout(self) -> None:
        state = self._focus_state
        if state is not None:  # save the layout the user sees outside focus mode
            self.restoreState(state, LAYOUT_VERSION)
        try:
            await self.layouts.save(self)
        finally:
            if state is not None:
                self._enter_focus()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._saved_on_close or self._closing:
            self.monitor.stop()
            self.notifier.close()
            event.accept()
            self.closed.emit()
            return
        event.ignore()
        self._closing = True
        self.tasks.spawn(self._save_then_close(), what="save your layout")

    async def _save_then_close(self) -> None:
        try:
            await asyncio.wait_for(self.save_layout(), SAVE_ON_CLOSE_S)
        except Exception as exc:
            log.warning("layout not saved on close: %s", exc)
        try:
            await self._stop_background_work()
        finally:
            self._saved_on_close = True
            self.close()

    def add_shutdown_step(self, step: Callable[[], Awaitable[None]]) -> None:
        """Work a panel started that must end with the window (listeners, presence), run on close or shutdown()."""
        self._shutdown_steps.append(step)

    async def _stop_background_work(self) -> None:
        """Each step once, however often the window is closed or shut down."""
        if self._background_stopped:
            return
        self._background_stopped = True
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [(repr(s), s) for s in self._shutdown_steps]
        if self.services.dispatcher is not None:  # gives back claimed jobs not yet on a server
            steps.insert(0, ("the local dispatcher", self.services.dispatcher.stop))
        for what, step in steps:
            try:
                await asyncio.wait_for(step(), SAVE_ON_CLOSE_S)
            except Exception as exc:
                log.warning("%s did not stop cleanly: %s", what, exc)

    # ------------------------------------------------------------ behaviour

    def show_panel(self, panel_id: str) -> None:
        dock = self.docks[panel_id]
        if self.qactions["view.focus_mode"].isChecked():
            self.qactions["view.focus_mode"].setChecked(False)
        dock.show()
        dock.raise_()
        widget = dock.widget()
        if widget is not None:
            widget.setFocus()

    def reset_layout(self) -> None:
        self.qactions["view.focus_mode"].setChecked(False)
        self.restoreState(self.default_state, LAYOUT_VERSION)
        self.tasks.spawn(self.layouts.forget(), what="forget your saved layout")

    def set_focus_mode(self, on: bool) -> None:
        if on and self._focus_state is None:
            self._focus_state = self.saveState(LAYOUT_VERSION)
            self._enter_focus()
        elif not on and self._focus_state is not None:
            state, self._focus_state = self._focus_state, None
            self.menuBar().show()
            self.status.show()
            self.restoreState(state, LAYOUT_VERSION)
        else:
            return
        self.focus_mode_changed.emit(on)
        self.tasks.spawn(self.services.preferences.set(FOCUS_MODE_KEY, on), what="remember focus mode")

    def _enter_focus(self) -> None:
        for dock in self.docks.values():
            dock.hide()
        self.menuBar().hide()
        self.status.hide()
        central = self.centralWidget()
        if central is not None:
            central.setFocus()

    @property
    def keymap(self) -> Keymap:
        """The keymap in force: the chosen preset with the person's own shortcuts on top."""
        return self.keymaps.effective

    @property
    def focus_mode(self) -> bool:
        return self._focus_state is not None

    def next_theme(self) -> None:
        if self.themes is None:
            return
        choice = self.themes.next()
        self.tasks.spawn(self.services.preferences.set(THEME_KEY, choice.theme.name), what="remember your theme")

    def reconnect(self) -> None:
        async def work() -> None:
            db = await self.services.health.reconnect()
            self.notifier.post(
                Level.SUCCESS if db.up else Level.ERROR,
                "Reconnected to the database." if db.up else (db.problem or "The database does not answer."),
            )
            self.monitor.poll()

        self.tasks.spawn(work(), what="reconnect to the database")

    def restart_server(self, name: str, url: str) -> None:
        async def work() -> None:
            said = await self.services.health.restart_server(name, url)
            self.notifier.post(Level.INFO, said)
            self.monitor.poll()

        self.tasks.spawn(work(), what=f"restart ComfyUI server {name!r}")

    def restart_dispatcher(self) -> None:
        dispatcher = self.services.dispatcher
        if dispatcher is None:
            self.notifier.post(Level.WARNING, "This window has no local dispatcher; run `x121 worker` instead.")
            return

        async def work() -> None:
            health = await (dispatcher.restart() if dispatcher.running else dispatcher.start())
            self.notifier.post(Level.INFO if health.running else Level.ERROR, f"Local dispatcher: {health.detail}")
            self.monitor.poll()

        self.tasks.spawn(work(), what="start the local dispatcher")

    def open_scene(self, scene_id: SceneId) -> None:
        data = self.navigator.data if self.navigator is not None else None
        found = data.find_scene(scene_id) if data is not None else None
        if found is None:
            if self.overview.open_scene(scene_id):  # the scene workspace reads it from the database itself
                return
            self.notifier.post(Level.WARNING, f"Scene #{scene_id} is not in the navigator; refresh it and retry.")
            return
        self.overview.show_scene(*found)
        if self.navigator is not None:
            self.navigator.select_scene(scene_id)

    def _open_entity(self, kind: str, ref: str) -> None:
        if kind == "scene":
            self.open_scene(SceneId(int(ref)))
        elif kind == "project" and self.navigator is not None:
            self.show_panel("navigator")
            if not self.navigator.focus_project(ProjectId(int(ref))):
                self.notifier.post(Level.WARNING, f"Project #{ref} is not in the navigator; refresh it and retry.")

    def _keys_for(self, action_id: str) -> tuple[str, ...]:
        return self.keymap.keys_for(action_id)  # late-bound: the keymap changes with the user's preference

    def _entities(self, _query: str) -> list[PaletteEntity]:
        data = self.navigator.data if self.navigator is not None else None
        if data is None:
            return []
        out: list[PaletteEntity] = []
        for project in data.projects:
            out.append(
                PaletteEntity("project", str(project.id), project.name, _count(len(project.characters), "character"))
            )
            for character in project.characters:
                out.append(PaletteEntity("character", str(character.id), character.name, project.name))
                out += [
                    PaletteEntity("scene", str(s.id), s.name, f"{project.name} / {character.name}")
                    for s in character.scenes
                ]
        return out

    async def shutdown(self) -> None:
        """Stop polling and wait for running tasks (tests; app quit); a later close() saves nothing. Idempotent."""
        self._saved_on_close = True
        self.monitor.stop()
        await self._stop_background_work()
        await self.tasks.drain()
        self.notifier.close()
