"""Dock layouts are saved per user in the database and restored in a new window (another workstation)."""

from __future__ import annotations

from collections.abc import Callable

import qasync
from PySide6.QtCore import Qt

from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.services.preferences import FOCUS_MODE_KEY, LAYOUT_KEY
from x121_desktop.ui.docks import WindowServices
from x121_desktop.ui.layout_store import LAYOUT_VERSION, apply_layout, encode_layout
from x121_desktop.ui.main_window import MainWindow

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]

WindowFactory = Callable[..., MainWindow]
LEFT, RIGHT, BOTTOM = (
    Qt.DockWidgetArea.LeftDockWidgetArea,
    Qt.DockWidgetArea.RightDockWidgetArea,
    Qt.DockWidgetArea.BottomDockWidgetArea,
)


def rearrange(window: MainWindow) -> None:
    window.addDockWidget(BOTTOM, window.docks["navigator"])
    window.docks["progress"].hide()


def test_layout_saved_on_close_is_restored_in_a_new_window(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    first = window_for(services_as("creator"))
    first.show()
    run(qloop, first.start())
    assert first.dockWidgetArea(first.docks["navigator"]) == LEFT
    rearrange(first)
    first.close()  # saves asynchronously, then closes
    run(qloop, until(lambda: not first.isVisible(), what="the first window to close"))

    second = window_for(services_as("creator"))
    second.show()
    assert second.dockWidgetArea(second.docks["navigator"]) == LEFT  # before start(): the default layout
    run(qloop, second.start())
    assert second.dockWidgetArea(second.docks["navigator"]) == BOTTOM
    assert not second.docks["progress"].isVisible()
    # another user keeps the default layout
    other = window_for(services_as("reviewer"))
    other.show()
    run(qloop, other.start())
    assert other.dockWidgetArea(other.docks["navigator"]) == LEFT


def test_reset_layout_restores_the_default_and_forgets_the_saved_one(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    services = services_as("admin")
    window = window_for(services)
    window.show()
    run(qloop, window.start())
    rearrange(window)
    run(qloop, window.save_layout())
    assert run(qloop, services.preferences.get(LAYOUT_KEY)) is not None
    window.qactions["view.layout.reset"].trigger()
    assert window.dockWidgetArea(window.docks["navigator"]) == LEFT
    assert window.docks["progress"].isVisible() or window.docks["notifications"].isVisible()
    run(qloop, until(lambda: window.tasks.running() == 0, what="the reset to be saved"))
    assert run(qloop, services.preferences.get(LAYOUT_KEY)) is None


def test_focus_mode_persists_but_the_saved_layout_is_the_unfocused_one(
    qloop: qasync.QEventLoop, services_as: Callable[[str], WindowServices], window_for: WindowFactory
) -> None:
    services = services_as("reviewer2")
    window = window_for(services)
    window.show()
    run(qloop, window.start())
    window.qactions["view.focus_mode"].trigger()
    run(qloop, window.save_layout())
    run(qloop, until(lambda: window.tasks.running() == 0, what="focus mode to be saved"))
    assert run(qloop, services.preferences.get(FOCUS_MODE_KEY)) is True
    assert not window.docks["navigator"].isVisible()  # still focused after saving
    again = window_for(services_as("reviewer2"))
    again.show()
    run(qloop, again.start())
    assert again.qactions["view.focus_mode"].isChecked()
    again.qactions["view.focus_mode"].trigger()
    assert again.docks["navigator"].isVisible()  # the saved layout had the docks


def test_foreign_or_damaged_layouts_are_ignored(
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: WindowFactory,
    secure_studio: SecureStudio,
) -> None:
    window = window_for(services_as("creator"))
    window.show()
    good = encode_layout(window)
    assert not apply_layout(window, {**good, "version": LAYOUT_VERSION + 1})
    assert not apply_layout(window, {**good, "state": "%%% not base64 %%%"})
    assert not apply_layout(window, "a string")
    assert apply_layout(window, good)
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute(
            'INSERT INTO user_settings (user_id, key, value) VALUES (%s, %s, \'{"version": 1, "state": 7}\')',
            (secure_studio.user_ids["creator"], LAYOUT_KEY),
        )
    run(qloop, window.start())  # a damaged saved layout does not stop the window
    assert window.dockWidgetArea(window.docks["navigator"]) == LEFT
