"""HealthService on a real database and the ComfyUI stand-in: servers going offline and coming back,
a database that stops and restarts, workers holding leases, and restarts through ComfyUI-Manager."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import JobStatus, ServerStatus
from x121_desktop.core.errors import ComfyError
from x121_desktop.db.engine import DatabaseTarget, make_engine
from x121_desktop.services.health import HealthService, describe_vram, summary
from x121_desktop.services.runtime import Runtime

__all__ = ["comfy_server", "secure_studio"]


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def health(secure_studio: SecureStudio) -> Iterator[tuple[HealthService, Engine]]:
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("reviewer")), pool_size=1)
    yield HealthService(engine, runtime, "test database"), engine
    runtime.shutdown()
    engine.dispose()
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute("DELETE FROM comfy_servers WHERE name LIKE 'h-%'")


def register(studio: SecureStudio, name: str, url: str) -> None:
    with studio.connect(SUPERUSER) as conn:
        conn.execute(
            "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES (%s, %s, %s)",
            (name, url, ServerStatus.OFFLINE),
        )


def test_server_online_then_offline_then_back(
    health: tuple[HealthService, Engine], secure_studio: SecureStudio, comfy_server: ComfyTestServer
) -> None:
    service, _ = health
    register(secure_studio, "h-live", comfy_server.url)
    first = run(service.snapshot())
    assert first.database.up
    assert first.database.latency_ms is not None
    live = first.server("h-live")
    assert live is not None
    assert live.status is ServerStatus.ONLINE
    assert live.vram_total > 0
    assert describe_vram(live).endswith("GB")
    assert first.server("gpu-1") is not None  # the fixture's unreachable host: offline, with a sentence
    gpu1 = first.server("gpu-1")
    assert gpu1 is not None
    assert gpu1.status in (ServerStatus.OFFLINE, ServerStatus.ERRORED)
    assert gpu1.problem
    assert first.queued_jobs is not None
    assert first.queued_jobs >= 1

    comfy_server.stop()
    down = run(service.snapshot()).server("h-live")
    assert down is not None
    assert down.status is ServerStatus.OFFLINE
    assert down.problem is not None
    assert "refused" in down.problem


def test_database_down_is_reported_and_servers_still_probed(
    health: tuple[HealthService, Engine], secure_studio: SecureStudio, comfy_server: ComfyTestServer
) -> None:
    """A broken engine (wrong socket) stands in for a stopped database: no exception, a sentence, old server list."""
    service, _ = health
    register(secure_studio, "h-kept", comfy_server.url)
    assert run(service.snapshot()).server("h-kept") is not None
    service._engine = make_engine(DatabaseTarget(secure_studio.url("reviewer").replace("host=", "host=/nonexistent")))
    try:
        snap = run(service.snapshot())
        assert not snap.database.up
        assert snap.database.problem is not None
        assert "Cannot reach a database server" in snap.database.problem
        kept = snap.server("h-kept")
        assert kept is not None
        assert kept.status is ServerStatus.ONLINE
        assert summary(snap)["database"] == "down"
        assert not run(service.reconnect()).up
    finally:
        service._engine.dispose()


def test_workers_holding_leases_are_listed(health: tuple[HealthService, Engine], secure_studio: SecureStudio) -> None:
    service, _ = health
    import socket

    holder = f"{socket.gethostname()}:4242:abcdef"
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute(
            "UPDATE jobs SET job_status_id = %s, lease_holder = %s, lease_expires_at = now() + interval '1 minute' "
            "WHERE id = %s",
            (JobStatus.RUNNING, holder, secure_studio.ids["job"]),
        )
    try:
        snap = run(service.snapshot())
        assert [(w.holder, w.local, w.jobs) for w in snap.workers] == [(holder, True, 1)]
    finally:
        with secure_studio.connect(SUPERUSER) as conn:
            conn.execute(
                "UPDATE jobs SET job_status_id = %s, lease_holder = NULL, lease_expires_at = NULL WHERE id = %s",
                (JobStatus.QUEUED, secure_studio.ids["job"]),
            )


class _Manager(BaseHTTPRequestHandler):
    """A ComfyUI with ComfyUI-Manager (legacy routes), recording reboot requests."""

    rebooted: list[str]
    refuse: bool = False

    def do_GET(self) -> None:
        if self.path == "/api/manager/version":
            self._reply(200, "text/plain", b"V3.30")
        elif self.path == "/api/manager/reboot":
            if type(self).refuse:
                self._reply(403, "text/plain", b"")
                return
            type(self).rebooted.append(self.path)
            self._reply(200, "text/plain", b"")
        else:
            self._reply(404, "text/plain", b"404: Not Found")

    def _reply(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def manager() -> Iterator[tuple[str, type[_Manager]]]:
    handler = type("Handler", (_Manager,), {"rebooted": [], "refuse": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_restart_through_comfyui_manager(
    health: tuple[HealthService, Engine], manager: tuple[str, type[_Manager]], comfy_server: ComfyTestServer
) -> None:
    service, _ = health
    url, handler = manager
    said = run(service.restart_server("gpu-9", url))
    assert "restarting" in said
    assert handler.rebooted == ["/api/manager/reboot"]
    handler.refuse = True
    with pytest.raises(ComfyError, match="security_level"):
        run(service.restart_server("gpu-9", url))
    with pytest.raises(ComfyError, match="does not run ComfyUI-Manager"):
        run(service.restart_server("plain", comfy_server.url))
    assert json.dumps(summary(run(service.snapshot())))
