"""Studio Pulse and user administration in a real window on a real database (pytest-qt, qasync)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
import qasync

from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.core.enums import ActivityKind, UserRole
from x121_desktop.db.engine import DatabaseTarget, make_engine
from x121_desktop.services.collab import CollabServices
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.docks import PanelRegistry, WindowServices, default_panels
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.notifications import NotificationsPanel
from x121_desktop.ui.panels.pulse import PulsePanel, install_collab, register_collab_panels
from x121_desktop.ui.panels.users_admin import ROLE_MATRIX, UsersAdminPanel

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]


@pytest.fixture
def collab_as(secure_studio: SecureStudio) -> Iterator[Callable[[str], CollabServices]]:
    runtime = Runtime()
    engines = []

    def make(who: str) -> CollabServices:
        engine = make_engine(DatabaseTarget(secure_studio.url(who)), pool_size=2)
        engines.append(engine)
        return CollabServices.build(engine, runtime, f"ws-{who}")

    yield make
    runtime.shutdown()
    for engine in engines:
        engine.dispose()


def _window(
    qloop: qasync.QEventLoop,
    who: str,
    collab: CollabServices,
    services_as: Callable[[str], WindowServices],
    window_for: Callable[..., MainWindow],
) -> tuple[MainWindow, PulsePanel, Callable[[], None]]:
    panels: PanelRegistry = default_panels()
    register_collab_panels(panels, collab)
    window = window_for(services_as(who), panels=panels)
    wiring = install_collab(window, collab)
    window.show()
    run(qloop, window.start())
    pulse = window.panel("pulse", PulsePanel)
    assert pulse is not None
    run(qloop, until(lambda: wiring.listener is not None and wiring.listener.wait_listening(0.01), what="listening"))
    return window, pulse, lambda: run(qloop, wiring.stop())


def test_pulse_shows_live_events_and_alerts_only_the_mentioned_user(
    qloop: qasync.QEventLoop,
    secure_studio: SecureStudio,
    services_as: Callable[[str], WindowServices],
    window_for: Callable[..., MainWindow],
    collab_as: Callable[[str], CollabServices],
) -> None:
    s = secure_studio
    window, pulse, stop = _window(qloop, "creator", collab_as("creator"), services_as, window_for)
    other, other_pulse, stop_other = _window(qloop, "reviewer2", collab_as("reviewer2"), services_as, window_for)
    try:
        author = collab_as("reviewer")
        posted = run(
            qloop, author.activity.comment(f"@{s.roles['creator']} hands at 12", take_id=s.ids["take"], frame=12)
        )
        run(qloop, until(lambda: any("hands at 12" in t for t in pulse.texts()), what="the comment in the feed"))
        notes = window.panel("notifications", NotificationsPanel)
        assert notes is not None
        run(qloop, until(lambda: any((posted.link or "?") in t for t in notes.texts()), what="the mention alert"))
        assert any(t.startswith("Mention:") and "hands at 12" in t for t in notes.texts())
        run(qloop, until(lambda: any("hands at 12" in t for t in other_pulse.texts()), what="the other feed"))
        run(qloop, asyncio.sleep(0.3))
        other_notes = other.panel("notifications", NotificationsPanel)
        assert other_notes is not None
        assert not any("Mention:" in t for t in other_notes.texts())

        opened: list[str] = []
        pulse.link_activated.connect(opened.append)
        row = next(pulse.list.item(i) for i in range(pulse.list.count()) if "hands at 12" in pulse.list.item(i).text())
        pulse.list.itemActivated.emit(row)
        assert opened == [posted.link]

        pulse.set_filter(kind=ActivityKind.LOCK_TAKEN)
        run(qloop, until(lambda: not any("hands at 12" in t for t in pulse.texts()), what="the filter"))
        grant = run(qloop, collab_as("creator").locks.acquire(_free_segment(s), ttl_s=30))
        run(qloop, until(lambda: any(" locked segment " in t for t in pulse.texts()), what="the lock event"))
        run(qloop, collab_as("creator").locks.release(grant))
    finally:
        stop()
        stop_other()


def _free_segment(s: SecureStudio) -> int:
    with s.connect(SUPERUSER) as conn:
        row = conn.execute(
            "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) "
            "VALUES (%s, (SELECT max(position) + 1 FROM segments WHERE scene_id = %s), 1, 10) RETURNING id",
            (s.ids["scene"], s.ids["scene"]),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_admin_manages_users_through_the_panel(
    qloop: qasync.QEventLoop,
    secure_studio: SecureStudio,
    services_as: Callable[[str], WindowServices],
    window_for: Callable[..., MainWindow],
) -> None:
    s = secure_studio
    name = s.roles["reviewer"].replace("reviewer", "newbie")
    services = services_as("admin")
    window = window_for(services)
    panel = UsersAdminPanel(services.users, window.tasks, window.notifier)
    panel.reload()
    run(qloop, until(lambda: len(panel.rows) >= 4, what="the user list"))
    assert panel.matrix.rowCount() == len(ROLE_MATRIX)
    assert panel.matrix.item(3, 3).text() == "+ break any"
    try:
        panel.add_user(name, UserRole.REVIEWER, "correct horse battery", "Newbie")
        run(qloop, until(lambda: any(u.name == name for u in panel.rows), what="the new user"))
        panel.set_role(name, UserRole.CREATOR)
        run(qloop, until(lambda: any(u.name == name and u.role is UserRole.CREATOR for u in panel.rows), what="role"))
        panel.set_active(name, False)
        run(qloop, until(lambda: any(u.name == name and not u.active for u in panel.rows), what="disabled"))
        panel.reset_password(name, "short")
        notes = window.panel("notifications", NotificationsPanel)
        assert notes is not None
        run(qloop, until(lambda: any("shorter than 8" in t for t in notes.texts()), what="the refusal"))

        reviewer_services = services_as("reviewer")
        weak = UsersAdminPanel(reviewer_services.users, window.tasks, window.notifier)
        weak.add_user("mallory_x", UserRole.ADMIN, "correct horse battery")
        run(qloop, until(lambda: any("refused to create user 'mallory_x'" in t for t in notes.texts()), what="refusal"))
    finally:
        with s.connect(SUPERUSER, autocommit=True) as conn:
            conn.execute("DELETE FROM users WHERE role_name = %s", (name,))
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')  # type: ignore[arg-type]
