"""Fixtures for window tests: the running qasync loop (tests/ui/qt_loop.py), and real services on a real database.

Import the fixtures you use into the test module (`__all__ = [...]`), as tests/db/security_studio.py does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from tests.ui.qt_loop import RunningLoop, qloop, run, settle, until
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.db.migrate import SchemaStatus
from x121_desktop.services.bootstrap import DatabaseInfo
from x121_desktop.services.health import HealthService
from x121_desktop.services.navigator import NavigatorService
from x121_desktop.services.preferences import PreferencesService
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.users import UserAdminService
from x121_desktop.ui.docks import PanelRegistry, WindowServices
from x121_desktop.ui.main_window import MainWindow

__all__ = ["qloop", "run", "secure_studio", "services_as", "until", "window_for"]


def services_for(url: str, description: str = "test database") -> tuple[WindowServices, Runtime, Engine]:
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(url), pool_size=2)
    sessions = session_factory(engine)
    info = DatabaseInfo(description, embedded=False, server_version="18", schema=SchemaStatus("0003", "0003"))
    services = WindowServices(
        database=info,
        preferences=PreferencesService(sessions, runtime),
        health=HealthService(engine, runtime, description),
        navigator=NavigatorService(sessions, runtime),
        users=UserAdminService(engine, runtime),
    )
    return services, runtime, engine


@pytest.fixture
def services_as(secure_studio: SecureStudio) -> Iterator[Callable[[str], WindowServices]]:
    made: list[tuple[Runtime, Engine]] = []

    def make(who: str = "creator") -> WindowServices:
        services, runtime, engine = services_for(secure_studio.url(who))
        made.append((runtime, engine))
        return services

    yield make
    for runtime, engine in made:
        runtime.shutdown()
        engine.dispose()
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute("DELETE FROM user_settings")


@pytest.fixture
def window_for(qtbot: Any, qloop: RunningLoop) -> Iterator[Callable[..., MainWindow]]:
    """Windows on the given services; each is shut down (its shutdown steps and tasks) and closed after the
    test, while the loop still runs (the qloop fixture then checks that nothing was left running)."""
    windows: list[MainWindow] = []

    def make(services: WindowServices, *, panels: PanelRegistry | None = None, interval_ms: int = 3000) -> MainWindow:
        window = MainWindow(services, panels=panels, health_interval_ms=interval_ms, use_tray=False)
        windows.append(window)
        return window

    yield make
    try:
        for window in windows:
            run(qloop, window.shutdown())
    finally:
        for window in windows:
            window.close()
            window.deleteLater()
        settle(qloop)
