"""The server board: what the Servers panel shows and does, through `ServerService` and the database.

Rows add what `ServerService.list` does not hold: the measured speed (mean seconds per job over
the last timed jobs, `job_runs.mean_job_seconds`) and the jobs each server runs now. Actions:

- add and refresh capabilities: `ServerService.add` / `.check` (admins add; creators may check);
- drain: the server takes no new jobs (`is_enabled = false`, status DRAINING); jobs already on it
  finish. Running dispatchers hear of it at once (the row change NOTIFYs `x121_servers`, migration
  `comfy_servers_notify`) and stop claiming for it; resume, add and remove reach them the same way
  (services/orchestrator/fleet_watch.py);
- resume: enabled again, then checked so its status is what it answers;
- remove: deleted when it has no history; a server that ran jobs is kept for its records.

PostgreSQL decides who may: `is_enabled` and deletion are admin-only (migration 0002), so a
creator's drain or remove comes back as the refusal's sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from x121_desktop.core.enums import ServerStatus
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.ids import JobId, ServerId
from x121_desktop.core.orchestration.states import ACTIVE
from x121_desktop.db.repositories.job_runs import mean_job_seconds
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.servers import ServerCheck, ServerService, ServerView
from x121_desktop.services.transactions import session_transaction

__all__ = ["ServerBoardRow", "ServerBoardService"]


@dataclass(frozen=True, slots=True)
class ServerBoardRow:
    server: ServerView
    seconds_per_job: float | None
    """Measured: mean seconds per job over its last timed jobs (None: no timed job yet)."""
    current_jobs: tuple[JobId, ...]
    """Jobs claimed for it or running on it now."""

    @property
    def models(self) -> int:
        return sum(n for _, n in self.server.model_counts)

    @property
    def vram_used(self) -> int:
        """Bytes in use on its devices at the last check (what ComfyUI has loaded shows here)."""
        return sum(max(0, d.vram_total - d.vram_free) for d in self.server.devices)

    @property
    def vram_total(self) -> int:
        return sum(d.vram_total for d in self.server.devices)


class ServerBoardService:
    def __init__(self, studio: Studio) -> None:
        self._runtime = studio.runtime
        self._sessions = studio.sessions
        self.servers = ServerService(self._sessions, studio.runtime)

    async def rows(self) -> list[ServerBoardRow]:
        views = await self.servers.list()

        def work(session: Session) -> tuple[dict[int, float], dict[int, list[JobId]]]:
            speeds = dict(mean_job_seconds(session.connection()))
            running: dict[int, list[JobId]] = {}
            for server_id, job_id in session.execute(
                text(
                    "SELECT server_id, id FROM jobs WHERE server_id IS NOT NULL AND job_status_id = ANY(:a) ORDER BY id"
                ),
                {"a": [int(s) for s in ACTIVE]},
            ).all():
                running.setdefault(int(server_id), []).append(JobId(job_id))
            return speeds, running

        speeds, running = await self._read("read the servers' speed and jobs", work)
        return [ServerBoardRow(v, speeds.get(int(v.id)), tuple(running.get(int(v.id), ()))) for v in views]

    async def may_administer(self) -> bool:
        """Whether the signed-in user may add, drain, resume and remove servers (the database's grant)."""

        def work(session: Session) -> bool:
            return bool(
                session.execute(
                    text("SELECT has_table_privilege(current_user, 'public.comfy_servers', 'DELETE')")
                ).scalar_one()
            )

        return await self._read("read your server permissions", work)

    async def add(self, name: str, url: str) -> ServerView:
        return await self.servers.add(name, url)

    async def refresh(self, name: str) -> ServerCheck:
        return await self.servers.check(name)

    async def drain(self, name: str) -> ServerView:
        await self._set_enabled(name, False, ServerStatus.DRAINING, "drain")
        return await self.servers.get(name)

    async def resume(self, name: str) -> ServerCheck:
        await self._set_enabled(name, True, ServerStatus.OFFLINE, "resume")
        return await self.servers.check(name)

    async def remove(self, name: str) -> str:
        def work(session: Session) -> str:
            server_id = _server_id(session, name)
            used = session.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE server_id = :s) "
                    "OR EXISTS (SELECT 1 FROM job_attempts WHERE server_id = :s) "
                    "OR EXISTS (SELECT 1 FROM node_timings WHERE server_id = :s) "
                    "OR EXISTS (SELECT 1 FROM cost_records WHERE server_id = :s)"
                ),
                {"s": server_id},
            ).scalar_one()
            if used:
                raise InvalidInput(
                    f"ComfyUI server {name!r} has run jobs, so its records keep it registered",
                    "Drain it instead: a drained server takes no new jobs",
                )
            session.execute(text("DELETE FROM comfy_servers WHERE id = :s"), {"s": server_id})
            return f"ComfyUI server {name!r} was removed."

        return await self._write(f"remove ComfyUI server {name!r}", work)

    async def _set_enabled(self, name: str, enabled: bool, status: ServerStatus, doing: str) -> None:
        def work(session: Session) -> None:
            session.execute(
                text("UPDATE comfy_servers SET is_enabled = :e, server_status_id = :s WHERE id = :id"),
                {"e": enabled, "s": int(status), "id": _server_id(session, name)},
            )

        await self._write(f"{doing} ComfyUI server {name!r}", work)

    async def _write[T](self, doing: str, work: Callable[[Session], T]) -> T:
        return await self._runtime.run(self._runtime.db_writer, session_transaction, self._sessions, doing, work)

    async def _read[T](self, doing: str, work: Callable[[Session], T]) -> T:
        return await self._runtime.run(self._runtime.db_read, session_transaction, self._sessions, doing, work)


def _server_id(session: Session, name: str) -> ServerId:
    found = session.execute(text("SELECT id FROM comfy_servers WHERE name = :n"), {"n": name}).scalar_one_or_none()
    if found is None:
        raise NotFound(f"No ComfyUI server is registered as {name!r}", "See the Servers panel or `x121 server list`")
    return ServerId(int(found))
