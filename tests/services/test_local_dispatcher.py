"""The window's own dispatcher: starts on a registered server, reports itself, stops; says why it cannot start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from x121_desktop.core.enums import ServerStatus
from x121_desktop.db.migrate import upgrade
from x121_desktop.services.bootstrap import LaunchOptions, open_studio
from x121_desktop.services.health import HealthService
from x121_desktop.services.local_dispatcher import LocalDispatcher

__all__ = ["comfy_server"]


@pytest.fixture
def fresh_url(new_database: Callable[[], str]) -> str:
    url = new_database()
    engine = create_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


def test_local_dispatcher_starts_reports_and_stops(
    fresh_url: str, comfy_server: ComfyTestServer, tmp_path: Path
) -> None:
    studio = open_studio(LaunchOptions(database_url=fresh_url, home=str(tmp_path / "home")))
    try:
        local = LocalDispatcher(studio)
        health = HealthService(studio.engine, studio.runtime, "test", dispatcher=local.health)

        async def scenario() -> None:
            cannot = await local.start()
            assert not cannot.running
            assert "No ComfyUI server is registered" in cannot.detail
            with studio.engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES ('stand-in', :u, :s)"),
                    {"u": comfy_server.url, "s": int(ServerStatus.OFFLINE)},
                )
            started = await local.restart()
            assert started.running, started.detail
            assert started.detail.startswith("running as ")
            snap = await health.snapshot()
            assert snap.dispatcher.running
            stopped = await local.stop()
            assert not stopped.running
            assert not (await health.snapshot()).dispatcher.running

        asyncio.run(scenario())
    finally:
        studio.close()
