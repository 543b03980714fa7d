"""The ComfyUI server registry on a real PostgreSQL (its own migrated database with real login roles),
checked against the ComfyUI stand-in server; an unreachable server is a closed local port."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.comfyui_server.server import recorded_object_info
from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import CapabilityKind, ServerStatus
from x121_desktop.core.errors import InvalidInput, NotFound, PermissionDenied
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.servers import ServerService

__all__ = ["comfy_server", "secure_studio"]  # fixtures used here


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def closed_port_url() -> str:
    """A local port nobody listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def service_as(secure_studio: SecureStudio) -> Iterator[Callable[[str], ServerService]]:
    engines: list[Engine] = []
    runtime = Runtime()

    def make(who: str = SUPERUSER) -> ServerService:
        engine = make_engine(DatabaseTarget(secure_studio.url(who)), pool_size=1)
        engines.append(engine)
        return ServerService(session_factory(engine), runtime)

    yield make
    runtime.shutdown()
    for engine in engines:
        engine.dispose()


def capabilities(studio: SecureStudio, name: str) -> dict[tuple[int, str], set[str]]:
    with studio.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT c.capability_kind_id, c.folder, c.name FROM server_capabilities c "
            "JOIN comfy_servers s ON s.id = c.server_id WHERE s.name = %s",
            (name,),
        ).fetchall()
    found: dict[tuple[int, str], set[str]] = {}
    for kind, folder, capability in rows:
        found.setdefault((kind, folder), set()).add(capability)
    return found


def stored_row(studio: SecureStudio, name: str) -> tuple[Any, ...]:
    with studio.connect(SUPERUSER) as conn:
        row = conn.execute(
            "SELECT base_url, server_status_id, last_seen_at, system_stats, object_info_hash "
            "FROM comfy_servers WHERE name = %s",
            (name,),
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_add_list_and_check_store_stats_nodes_and_models(
    service_as: Callable[[str], ServerService], secure_studio: SecureStudio, comfy_server: ComfyTestServer
) -> None:
    comfy_server.set_models("checkpoints", ["sd15.safetensors"])
    comfy_server.set_models("loras", ["face_a.safetensors", "face_b.safetensors"])
    service = service_as(SUPERUSER)  # the embedded single-user mode connects as the superuser
    name = unique("gpu")
    added = run(service.add(name, comfy_server.url + "/"))
    assert (added.name, added.url, added.status, added.node_count) == (name, comfy_server.url, ServerStatus.OFFLINE, 0)
    assert name in [v.name for v in run(service.list())]

    checked = run(service.check(name))
    assert checked.reachable
    assert checked.problem is None
    view = checked.server
    assert view.status == ServerStatus.ONLINE
    assert view.comfyui_version == "0.3.64"
    assert view.node_count == len(recorded_object_info()) == 478
    assert dict(view.model_counts) == {"checkpoints": 1, "loras": 2}
    assert [(d.name, d.type) for d in view.devices] == [("cpu", "cpu")]
    assert view.devices[0].vram_total >= view.devices[0].vram_free > 0
    assert view.last_seen_at is not None
    assert "0.3.64" in checked.sentence
    assert "478 node types, 3 model files" in checked.sentence

    caps = capabilities(secure_studio, name)
    assert caps[(CapabilityKind.NODE_TYPE, "")] == set(recorded_object_info())
    assert caps[(CapabilityKind.MODEL, "loras")] == {"face_a.safetensors", "face_b.safetensors"}
    url, status, seen, stats, info_hash = stored_row(secure_studio, name)
    assert (url, status, seen) == (comfy_server.url, ServerStatus.ONLINE, view.last_seen_at)
    assert stats["devices"][0]["vram_total"] == view.devices[0].vram_total
    assert len(info_hash) == 64

    # refreshed on the next check: a LoRA gone, a checkpoint added
    comfy_server.set_models("loras", ["face_a.safetensors"])
    comfy_server.set_models("checkpoints", ["sd15.safetensors", "wan22.safetensors"])
    again = run(service.check(name)).server
    assert dict(again.model_counts) == {"checkpoints": 2, "loras": 1}
    assert capabilities(secure_studio, name)[(CapabilityKind.MODEL, "loras")] == {"face_a.safetensors"}
    assert again.last_seen_at is not None
    assert again.last_seen_at > view.last_seen_at
    assert run(service.get(name)) == again


def test_unreachable_server_is_recorded_offline_with_a_sentence(
    service_as: Callable[[str], ServerService], secure_studio: SecureStudio, comfy_server: ComfyTestServer
) -> None:
    service = service_as(SUPERUSER)
    name = unique("gone")
    run(service.add(name, comfy_server.url))
    assert run(service.check(name)).reachable
    comfy_server.stop()  # switched off after a good check: capabilities are kept, status goes offline
    result = run(service.check(name))
    assert not result.reachable
    assert result.server.status == ServerStatus.OFFLINE
    assert result.problem is not None
    assert result.problem.startswith(f"ComfyUI server {name!r} at {comfy_server.url} cannot be reached")
    assert "--listen" in result.problem
    assert result.server.node_count == 478
    assert result.sentence == result.problem

    never = unique("never")
    run(service.add(never, closed_port_url()))
    result = run(service.check(never))
    assert (result.reachable, result.server.status, result.server.last_seen_at) == (False, ServerStatus.OFFLINE, None)


def test_a_server_answering_html_is_errored(
    service_as: Callable[[str], ServerService], comfy_server: ComfyTestServer
) -> None:
    service = service_as(SUPERUSER)
    name = unique("proxy")
    run(service.add(name, comfy_server.url))
    comfy_server.faults.html_status = 502
    result = run(service.check(name))
    assert not result.reachable
    assert result.server.status == ServerStatus.ERRORED
    assert result.problem is not None
    assert "answered, but not as ComfyUI does" in result.problem


def test_bad_input_and_unknown_names_are_sentences(service_as: Callable[[str], ServerService]) -> None:
    service = service_as(SUPERUSER)
    name = unique("dup")
    url = closed_port_url()
    run(service.add(name, url))
    with pytest.raises(InvalidInput, match="already registered"):
        run(service.add(name, "http://10.9.9.9:8188"))
    with pytest.raises(InvalidInput, match="already registered"):
        run(service.add(unique("other"), url))
    with pytest.raises(InvalidInput, match="not a ComfyUI server URL"):
        run(service.add(unique("bad"), "ftp://host:21"))
    with pytest.raises(InvalidInput, match="not a usable server name"):
        run(service.add("   ", "http://10.9.9.8:8188"))
    with pytest.raises(NotFound, match="x121 server list"):
        run(service.check(unique("missing")))


def test_database_roles_decide_who_adds_and_who_checks(
    service_as: Callable[[str], ServerService], secure_studio: SecureStudio, comfy_server: ComfyTestServer
) -> None:
    with pytest.raises(PermissionDenied, match="refused"):
        run(service_as("creator").add(unique("nope"), "http://10.9.9.7:8188"))
    with pytest.raises(PermissionDenied):
        run(service_as("reviewer").add(unique("nope"), "http://10.9.9.6:8188"))
    name = unique("shared")
    run(service_as("admin").add(name, comfy_server.url))
    assert run(service_as("creator").check(name)).server.node_count == 478  # workers record health
    assert name in [v.name for v in run(service_as("reviewer").list())]
    with pytest.raises(PermissionDenied):
        run(service_as("reviewer").check(name))
    assert stored_row(secure_studio, name)[1] == ServerStatus.ONLINE
