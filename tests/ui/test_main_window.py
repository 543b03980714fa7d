"""The main window on a real database: docks from the panel registry, menus from the action registry,
the navigator tree, focus mode, the palette's entities, and errors routed to notifications."""

from __future__ import annotations

from collections.abc import Callable

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel
from pytestqt.qtbot import QtBot

from tests.db.security_studio import SecureStudio
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import SceneId
from x121_desktop.ui.docks import PanelSpec, WindowServices, default_panels
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.notifications import NotificationsPanel

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]

WindowFactory = Callable[..., MainWindow]


def started(loop: qasync.QEventLoop, window: MainWindow) -> MainWindow:
    window.show()
    run(loop, window.start())
    nav = window.navigator
    assert nav is not None
    run(loop, until(lambda: nav.data is not None, what="the navigator tree"))
    return window


def test_window_assembles_docks_menus_and_the_tree(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    window = started(qloop, window_for(services_as("creator")))
    assert sorted(window.docks) == ["navigator", "notifications", "progress"]
    assert all(d.objectName() == f"dock.{k}" for k, d in window.docks.items())
    assert {"Application", "View", "Playback"} <= {m.title() for m in window.menus.values()}
    nav = window.navigator
    assert nav is not None
    assert nav.tree.topLevelItem(0) is not None
    assert nav.tree.topLevelItem(0).text(0) == "Privileges"  # type: ignore[union-attr]
    assert "1 project · 1 character · 1 scene" in nav.hint.text()
    run(qloop, until(lambda: "Creator" in window.status.user.text(), what="the signed-in user"))
    assert window.windowTitle() == "X121 Studio — Creator"
    run(qloop, until(lambda: window.status.database.state == "up", what="the database indicator"))
    # a panel nobody registered has a disabled action; the navigator's filter hides non-matching rows
    assert not window.qactions["view.panel.library"].isEnabled()
    nav.filter.setText("walk")
    assert not nav.tree.topLevelItem(0).isHidden()  # type: ignore[union-attr]
    nav.filter.setText("nothing-like-this")
    assert nav.tree.topLevelItem(0).isHidden()  # type: ignore[union-attr]


def test_focus_mode_hides_everything_but_the_view_and_comes_back(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    window = started(qloop, window_for(services_as("reviewer")))
    visible = {k for k, d in window.docks.items() if d.isVisible()}
    assert "navigator" in visible
    window.qactions["view.focus_mode"].trigger()
    assert window.qactions["view.focus_mode"].isChecked()
    assert not any(d.isVisible() for d in window.docks.values())
    assert not window.menuBar().isVisible()
    assert not window.status.isVisible()
    assert window.centralWidget() is window.overview
    assert window.overview.isVisible()
    window.qactions["view.focus_mode"].trigger()
    assert not window.qactions["view.focus_mode"].isChecked()
    assert {k for k, d in window.docks.items() if d.isVisible()} == visible
    assert window.menuBar().isVisible()
    # showing a panel from focus mode leaves focus mode
    window.qactions["view.focus_mode"].trigger()
    window.qactions["view.panel.library"].setEnabled(True)
    window.show_panel("notifications")
    assert not window.qactions["view.focus_mode"].isChecked()
    assert window.docks["notifications"].isVisible()


def test_scene_from_navigator_or_palette_opens_in_the_central_view(
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: WindowFactory,
    secure_studio: SecureStudio,
) -> None:
    window = started(qloop, window_for(services_as("creator")))
    entities = window._entities("")
    assert {(e.kind, e.title) for e in entities} == {("project", "Privileges"), ("character", "Ada"), ("scene", "Walk")}
    scene_id = secure_studio.ids["scene"]
    window.command_palette.entity_chosen.emit("scene", str(scene_id))
    assert window.overview.title.text() == "Walk"
    assert "Privileges  /  Ada" in window.overview.subtitle.text()
    nav = window.navigator
    assert nav is not None
    current = nav.tree.currentItem()
    assert current is not None
    assert current.text(0) == "Walk"
    window.open_scene(SceneId(-5))
    panel = window.panel("notifications", NotificationsPanel)
    assert panel is not None
    assert any("Scene #-5 is not in the navigator" in t for t in panel.texts())


def test_errors_of_background_work_become_notifications(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    window = window_for(services_as("creator"))

    async def fails() -> None:
        raise InvalidInput("The seed image is 12 by 12 pixels", "Use an image at least 256 pixels high")

    async def crashes() -> None:
        raise RuntimeError("boom")

    run(qloop, window.tasks.spawn(fails(), what="import the seed"))
    run(qloop, window.tasks.spawn(crashes(), what="import the seed"))
    panel = window.panel("notifications", NotificationsPanel)
    assert panel is not None
    texts = panel.texts()
    assert texts[1] == "The seed image is 12 by 12 pixels. Use an image at least 256 pixels high"
    assert texts[0].startswith("Could not import the seed (RuntimeError: boom)")


def test_a_registered_panel_gets_a_dock_and_its_view_action(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    """The place the library browser plugs in: register a PanelSpec, the window builds the dock."""
    panels = default_panels()
    panels.register(
        PanelSpec(
            "library",
            "Library",
            Qt.DockWidgetArea.BottomDockWidgetArea,
            lambda ctx: QLabel("library here"),
            action_id="view.panel.library",
            visible=False,
        )
    )
    window = started(qloop, window_for(services_as("creator"), panels=panels))
    dock = window.docks["library"]
    assert isinstance(dock, QDockWidget)
    assert not dock.isVisible()
    assert window.qactions["view.panel.library"].isEnabled()
    window.qactions["view.panel.library"].trigger()
    assert dock.isVisible()
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea


def test_open_project_lists_only_projects_and_opens_the_chosen_one_in_the_navigator(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: WindowFactory,
    secure_studio: SecureStudio,
) -> None:
    window = started(qloop, window_for(services_as("creator")))
    nav = window.navigator
    assert nav is not None
    nav.tree.collapseAll()
    window.qactions["app.project.open"].trigger()
    palette = window.command_palette
    assert palette.isVisible()
    assert palette.query.placeholderText() == "Open project…"
    listed = [palette.model.item(r) for r in range(palette.model.rowCount())]
    assert [(i.kind, i.title) for i in listed if i is not None] == [("project", "Privileges")]
    qtbot.keyClicks(palette.query, "priv")
    qtbot.keyClick(palette.query, Qt.Key.Key_Return)
    current = nav.tree.currentItem()
    assert current is not None
    assert current.text(0) == "Privileges"
    assert current.isExpanded()
    window.command_palette.open_palette()  # the everyday palette lists actions again
    everyday = [palette.model.item(r) for r in range(palette.model.rowCount())]
    assert any(i is not None and i.kind == "action" for i in everyday)
    window.command_palette.entity_chosen.emit("project", "-3")
    panel = window.panel("notifications", NotificationsPanel)
    assert panel is not None
    assert any("Project #-3 is not in the navigator" in t for t in panel.texts())
