"""ComfyUI servers: register them, list them, check them and remember what they can run.

`check` asks the server itself (GET /system_stats, /object_info, /models and /models/{folder}) in the
`io` executor, then writes in one transaction: its status, when it was last seen, its system stats
(devices, VRAM), a hash of its /object_info, and its capabilities (every node type, and every model file
per folder), replacing the previous ones. An unreachable server is recorded as offline (its capabilities
are kept: it may come back) and the check says so in a sentence; nothing is raised for it.

PostgreSQL decides who may do what (migration 0002): admins add servers; creators may record health
and capabilities; reviewers may only read. Refusals come back as `PermissionDenied`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from x121_desktop.comfy.client import ComfyClient, normalize_url
from x121_desktop.comfy.errors import ComfyProtocolError, ComfyUnreachable
from x121_desktop.comfy.needs import capabilities_of
from x121_desktop.comfy.object_info import ObjectInfo
from x121_desktop.comfy.rest import SystemStats
from x121_desktop.core.enums import CapabilityKind, ServerStatus
from x121_desktop.core.errors import ComfyError, InvalidInput, NotFound, X121Error
from x121_desktop.core.ids import ServerId
from x121_desktop.db.models.servers import ComfyServer, ServerCapability
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.transactions import session_transaction

# /models lists these too, but they hold no model files a workflow can name
NOT_MODEL_FOLDERS = frozenset({"custom_nodes", "configs"})
CHECK_TIMEOUT_S = 10.0
DEFAULT_SLOTS = 1
DEFAULT_QUEUED_SLOTS = 1
"""A new server runs one job and keeps one more waiting in its own queue (so it never idles between jobs)."""


@dataclass(frozen=True, slots=True)
class DeviceView:
    name: str
    type: str
    vram_total: int
    """Bytes."""
    vram_free: int


@dataclass(frozen=True, slots=True)
class ServerView:
    """A registered server as the UI and CLI show it (from the database, no network)."""

    id: ServerId
    name: str
    url: str
    status: ServerStatus
    enabled: bool
    slots: int
    last_seen_at: datetime | None
    comfyui_version: str | None
    devices: tuple[DeviceView, ...]
    node_count: int
    model_counts: tuple[tuple[str, int], ...]
    """(folder, number of files) for each folder with files, by folder name."""
    queued_slots: int = 0
    """Jobs it may keep waiting in its own queue beyond the `slots` running ones."""


@dataclass(frozen=True, slots=True)
class ServerCheck:
    """What one check found; `server` is the row as stored after it."""

    server: ServerView
    reachable: bool
    problem: str | None
    """Why the server could not be checked (one sentence), None when it answered."""

    @property
    def sentence(self) -> str:
        if self.problem is not None:
            return self.problem
        s = self.server
        models = sum(n for _, n in s.model_counts)
        return (
            f"ComfyUI {s.comfyui_version} at {s.url} is {s.status.label.lower()}: "
            f"{s.node_count} node types, {models} model files."
        )


@dataclass(frozen=True, slots=True)
class _Probe:
    stats: SystemStats
    object_info_hash: str
    node_types: tuple[str, ...]
    models: tuple[tuple[str, tuple[str, ...]], ...]
    busy: bool


ClientFactory = Callable[[str], ComfyClient]


def _client(url: str) -> ComfyClient:
    return ComfyClient(url, timeout=CHECK_TIMEOUT_S)


def check_url(url: str) -> str:
    """The URL as stored (`http://host:port`, no trailing slash), or InvalidInput."""
    normal = normalize_url(url)
    try:
        ComfyClient(normal)
    except ComfyError as exc:
        raise InvalidInput(exc.problem, exc.fix) from None
    return normal


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or any(ch.isspace() and ch != " " for ch in cleaned):
        raise InvalidInput(f"{name!r} is not a usable server name", "Use up to 64 characters on one line")
    return cleaned


class ServerService:
    """Register, list and check ComfyUI servers; blocking work runs in the studio's executors."""

    def __init__(self, sessions: sessionmaker[Session], runtime: Runtime, client: ClientFactory = _client) -> None:
        self._sessions = sessions
        self._runtime = runtime
        self._client = client

    async def add(
        self, name: str, url: str, *, slots: int = DEFAULT_SLOTS, queued_slots: int = DEFAULT_QUEUED_SLOTS
    ) -> ServerView:
        """Register a server (not contacted here: it may be switched off); it starts as offline.

        Capacity defaults to 1 running + 1 queued job (`slots`, `queued_slots`).
        """
        if slots < 1 or queued_slots < 0:
            raise InvalidInput(
                f"A server needs at least 1 running slot and no negative queued slots (got {slots} + {queued_slots})",
                "Give --slots 1 or more and --queued-slots 0 or more",
            )
        name, url = check_name(name), check_url(url)

        def work(session: Session) -> ServerView:
            for column, value, what in ((ComfyServer.name, name, "name"), (ComfyServer.base_url, url, "URL")):
                taken = session.scalar(select(ComfyServer.name).where(column == value))
                if taken is not None:
                    raise InvalidInput(
                        f"A ComfyUI server with the {what} {value!r} is already registered (as {taken!r})",
                        "Choose another name, or see `x121 server list`",
                    )
            row = ComfyServer(
                name=name, base_url=url, server_status_id=ServerStatus.OFFLINE, slots=slots, queued_slots=queued_slots
            )
            session.add(row)
            session.flush()
            return _view(session, row)

        return await self._write(f"add ComfyUI server {name!r}", work)

    async def list(self) -> tuple[ServerView, ...]:
        def work(session: Session) -> tuple[ServerView, ...]:
            rows = session.scalars(select(ComfyServer).order_by(ComfyServer.name)).all()
            return tuple(_view(session, row) for row in rows)

        return await self._read("list ComfyUI servers", work)

    async def get(self, name: str) -> ServerView:
        return await self._read(f"read ComfyUI server {name!r}", lambda s: _view(s, _by_name(s, name)))

    async def check(self, name: str) -> ServerCheck:
        """Ask the server what it is and can run; store it; say what was found."""
        before = await self.get(name)
        try:
            probe: _Probe | None = await self._runtime.run(self._runtime.io, self._probe, before.url)
            problem = None
            status = ServerStatus.BUSY if probe and probe.busy else ServerStatus.ONLINE
        except ComfyUnreachable as exc:
            probe, problem, status = None, _unreachable(before, exc), ServerStatus.OFFLINE
        except (ComfyProtocolError, ComfyError) as exc:
            probe, problem, status = None, _misbehaves(before, exc), ServerStatus.ERRORED

        def work(session: Session) -> ServerView:
            row = session.get(ComfyServer, before.id, with_for_update=True)
            if row is None:
                raise NotFound(f"ComfyUI server {name!r} was removed during the check", "Add it again")
            row.server_status_id = status
            if probe is not None:
                row.last_seen_at = datetime.now(UTC)
                row.system_stats = _stats_document(probe.stats)
                row.object_info_hash = probe.object_info_hash
                _replace_capabilities(session, row.id, probe)
            session.flush()
            return _view(session, row)

        after = await self._write(f"record the check of ComfyUI server {name!r}", work)
        return ServerCheck(after, reachable=probe is not None, problem=problem)

    # ------------------------------------------------------------ blocking parts

    def _probe(self, url: str) -> _Probe:
        client = self._client(url)
        stats = client.system_stats()
        info = client.object_info(refresh=True)
        folders = client.get_json("/models")
        if not isinstance(folders, list):
            raise ComfyProtocolError(f"ComfyUI at {url} listed its model folders as something other than a list")
        listed: dict[str, set[str]] = {
            str(folder): set(client.models(str(folder))) for folder in folders if str(folder) not in NOT_MODEL_FOLDERS
        }
        for ref in capabilities_of(ObjectInfo.from_dict(info, url))[1]:
            if "." in ref.folder:  # a custom loader's pseudo-folder, as dispatchers file its models (comfy.needs)
                listed.setdefault(ref.folder, set()).add(ref.name)
        models = tuple((folder, tuple(sorted(names))) for folder, names in sorted(listed.items()))
        queue = client.queue()
        canonical = json.dumps(info, sort_keys=True, separators=(",", ":")).encode()
        return _Probe(
            stats=stats,
            object_info_hash=hashlib.sha256(canonical).hexdigest(),
            node_types=tuple(sorted(info)),
            models=models,
            busy=bool(queue.running or queue.pending),
        )

    async def _write[T](self, doing: str, work: Callable[[Session], T]) -> T:
        return await self._runtime.run(self._runtime.db_writer, session_transaction, self._sessions, doing, work)

    async def _read[T](self, doing: str, work: Callable[[Session], T]) -> T:
        return await self._runtime.run(self._runtime.db_read, session_transaction, self._sessions, doing, work)


def _by_name(session: Session, name: str) -> ComfyServer:
    row = session.scalar(select(ComfyServer).where(ComfyServer.name == name))
    if row is None:
        raise NotFound(
            f"No ComfyUI server is registered as {name!r}",
            "See `x121 server list`, or register it with `x121 server add URL --name NAME`",
        )
    return row


def _view(session: Session, row: ComfyServer) -> ServerView:
    counts = session.execute(
        select(ServerCapability.capability_kind_id, ServerCapability.folder, func.count())
        .where(ServerCapability.server_id == row.id)
        .group_by(ServerCapability.capability_kind_id, ServerCapability.folder)
        .order_by(ServerCapability.folder)
    ).all()
    nodes = sum(n for kind, _, n in counts if kind == CapabilityKind.NODE_TYPE)
    # custom loaders' pseudo-folders ("<ClassType>.<input>") serve placement; the view lists real folders
    models = tuple((folder, n) for kind, folder, n in counts if kind == CapabilityKind.MODEL and "." not in folder)
    stats: Mapping[str, Any] = row.system_stats or {}
    devices = tuple(
        DeviceView(
            str(d.get("name", "")), str(d.get("type", "")), int(d.get("vram_total", 0)), int(d.get("vram_free", 0))
        )
        for d in stats.get("devices", [])
        if isinstance(d, dict)
    )
    version = stats.get("comfyui_version")
    return ServerView(
        id=ServerId(row.id),
        name=row.name,
        url=row.base_url,
        status=ServerStatus(row.server_status_id),
        enabled=row.is_enabled,
        slots=row.slots,
        queued_slots=row.queued_slots,
        last_seen_at=row.last_seen_at,
        comfyui_version=str(version) if version is not None else None,
        devices=devices,
        node_count=nodes,
        model_counts=models,
    )


def _stats_document(stats: SystemStats) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(stats)))
    return document


def _replace_capabilities(session: Session, server_id: int, probe: _Probe) -> None:
    session.execute(delete(ServerCapability).where(ServerCapability.server_id == server_id))
    rows: list[dict[str, Any]] = [
        {"server_id": server_id, "capability_kind_id": CapabilityKind.NODE_TYPE, "folder": "", "name": node}
        for node in probe.node_types
    ]
    rows += [
        {"server_id": server_id, "capability_kind_id": CapabilityKind.MODEL, "folder": folder, "name": file}
        for folder, files in probe.models
        for file in files
    ]
    if rows:
        session.execute(insert(ServerCapability), rows)


def _unreachable(server: ServerView, exc: X121Error) -> str:
    return (
        f"ComfyUI server {server.name!r} at {server.url} cannot be reached ({exc.problem.rstrip('.')}). "
        "Check that ComfyUI is running there with --listen and that this machine can reach it."
    )


def _misbehaves(server: ServerView, exc: X121Error) -> str:
    return (
        f"ComfyUI server {server.name!r} at {server.url} answered, but not as ComfyUI does "
        f"({exc.problem.rstrip('.')}). Check the URL and port: it may point at another service or a proxy."
    )
