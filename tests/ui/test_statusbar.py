"""The service status bar under a running window: a ComfyUI server going offline, the database stopping
and starting again (red, then green, no restart of the app), and a restart through ComfyUI-Manager."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import qasync
from sqlalchemy import create_engine

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.services.test_health import _Manager, manager
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, services_for, until, window_for
from x121_desktop.core.enums import ServerStatus
from x121_desktop.db.embedded import EmbeddedServer, start_embedded
from x121_desktop.db.lan import pg_ctl
from x121_desktop.db.migrate import upgrade
from x121_desktop.ui.docks import WindowServices
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.notifications import NotificationsPanel

__all__ = ["comfy_server", "manager", "qloop", "secure_studio", "services_as", "window_for"]

WindowFactory = Callable[..., MainWindow]
FAST_MS = 150


def register(studio: SecureStudio, name: str, url: str) -> None:
    with studio.connect(SUPERUSER) as conn:
        conn.execute(
            "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES (%s, %s, %s)",
            (name, url, ServerStatus.OFFLINE),
        )


@pytest.fixture
def cleanup_servers(secure_studio: SecureStudio) -> Iterator[None]:
    yield
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute("DELETE FROM comfy_servers WHERE name LIKE 'ui-%'")


def notes(window: MainWindow) -> list[str]:
    panel = window.panel("notifications", NotificationsPanel)
    assert panel is not None
    return panel.texts()


@pytest.mark.usefixtures("cleanup_servers")
def test_status_bar_reflects_a_server_going_offline(
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: WindowFactory,
    secure_studio: SecureStudio,
    comfy_server: ComfyTestServer,
) -> None:
    register(secure_studio, "ui-gpu", comfy_server.url)
    window = window_for(services_as("reviewer"), interval_ms=FAST_MS)
    window.show()
    run(qloop, window.start())
    bar = window.status
    run(qloop, until(lambda: bar.server_state("ui-gpu") == "online", what="ui-gpu online"))
    button = bar.servers["ui-gpu"]
    assert "GB" in button.text()  # VRAM used/total from the server's /system_stats
    assert "VRAM used" in button.toolTip()
    comfy_server.stop()
    run(qloop, until(lambda: bar.server_state("ui-gpu") == "offline", what="ui-gpu offline"))
    assert "cannot be reached" in button.toolTip() or "refused" in button.toolTip()
    assert any("ComfyUI server 'ui-gpu' is offline" in t for t in notes(window))
    assert bar.database.state == "up"


@pytest.mark.usefixtures("cleanup_servers")
def test_restart_a_server_from_its_status_menu_through_comfyui_manager(
    qloop: qasync.QEventLoop,
    services_as: Callable[[str], WindowServices],
    window_for: WindowFactory,
    secure_studio: SecureStudio,
    manager: tuple[str, type[_Manager]],
) -> None:
    url, handler = manager
    register(secure_studio, "ui-managed", url)
    window = window_for(services_as("creator"), interval_ms=FAST_MS)
    run(qloop, window.start())
    bar = window.status
    run(qloop, until(lambda: "ui-managed" in bar.servers, what="the server's indicator"))
    menu = bar.servers["ui-managed"].menu()
    assert menu is not None
    restart = next(a for a in menu.actions() if a.text().startswith("Restart ComfyUI"))
    restart.trigger()
    run(qloop, until(lambda: handler.rebooted, what="the Manager's reboot route"))
    run(qloop, until(lambda: any("is restarting" in t for t in notes(window)), what="the notice"))


@pytest.fixture
def own_server(pg_tmp: Path) -> Iterator[EmbeddedServer]:
    """An embedded PostgreSQL of this test's own, so stopping it disturbs no other test."""
    server = start_embedded(pg_tmp / "pgdata")
    engine = create_engine(server.url())
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    yield server
    server.release()


def test_lost_database_shows_red_and_recovers_without_restart(
    qloop: qasync.QEventLoop, window_for: WindowFactory, own_server: EmbeddedServer
) -> None:
    services, runtime, engine = services_for(own_server.url(), "embedded test database")
    try:
        window = window_for(services, interval_ms=FAST_MS)
        window.show()
        run(qloop, window.start())
        bar = window.status
        run(qloop, until(lambda: bar.database.state == "up", what="database up"))
        stopped = pg_ctl(own_server.pgdata, "-w", "-m", "fast", "stop")
        assert stopped.returncode == 0, stopped.stderr
        run(qloop, until(lambda: bar.database.state == "down", what="database down"))
        assert bar.database.text() == "DB offline"
        assert "Cannot reach a database server" in bar.database.toolTip()
        assert any(t.startswith("Lost the database connection") for t in notes(window))
        options = f'-h "" -k {own_server.socket_dir}'
        log = str(own_server.pgdata / "restart.log")
        started = pg_ctl(own_server.pgdata, "-w", "-o", options, "-l", log, "start")
        assert started.returncode == 0, started.stderr
        run(qloop, until(lambda: bar.database.state == "up", what="database back up"))
        assert any(t == "The database connection is back." for t in notes(window))
        # the same window (same engine) works again: preferences round-trip through the database
        run(qloop, services.preferences.set("ui.test_marker", 1))
        assert run(qloop, services.preferences.get("ui.test_marker")) == 1
        # reconnect on demand also works (drops the pool and pings)
        window.reconnect()
        run(qloop, until(lambda: "Reconnected to the database." in notes(window), what="reconnect notice"))
    finally:
        run(qloop, window.shutdown())
        runtime.shutdown()
        engine.dispose()
