"""Fixtures for window tests: a qasync loop on the test QApplication, and real services on a real database.

Import the fixtures you use into the test module (`__all__ = [...]`), as tests/db/security_studio.py does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from sqlalchemy.engine import Engine

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
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

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    quits = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)  # closing a test window must not stop the loop
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    asyncio.set_event_loop(None)
    qapp.setQuitOnLastWindowClosed(quits)


def run[T](loop: asyncio.AbstractEventLoop, coro: Awaitable[T], timeout: float = 30.0) -> T:
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


async def until(predicate: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


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
def window_for(qtbot: Any, qloop: qasync.QEventLoop) -> Iterator[Callable[..., MainWindow]]:
    windows: list[MainWindow] = []

    def make(services: WindowServices, *, panels: PanelRegistry | None = None, interval_ms: int = 3000) -> MainWindow:
        window = MainWindow(services, panels=panels, health_interval_ms=interval_ms, use_tray=False)
        windows.append(window)
        return window

    yield make
    for window in windows:
        run(qloop, window.shutdown())
        window.close()
        window.deleteLater()
    run(qloop, asyncio.sleep(0.01))
    QApplication.processEvents()
