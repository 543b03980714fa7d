"""Taking over a prompt an earlier attempt of the job left on a server, before sending it again.

A job comes back to the queue with attempts behind it when its server lost the prompt (only where
its policy allows re-dispatch) or when its dispatcher stopped renewing the lease (revision 0015:
whatever its policy, since a stopped dispatcher is not a lost server and the prompt may still run).
Before the next attempt sends anything, its runner asks every server an earlier attempt went to,
and the one it was claimed for, whether that prompt_id is queued, running or in history: found, it
follows or collects it there, so the prompt never runs twice. Not found, the job runs again only if
its policy allows (re-dispatch allowed and attempts left, this one counted); else it fails, saying
which servers it asked, which it could not, and why it may not run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from x121_desktop.core.errors import ComfyError
from x121_desktop.core.ids import ServerId
from x121_desktop.db.repositories import job_runs

if TYPE_CHECKING:
    from x121_desktop.comfy.rest import HistoryEntry
    from x121_desktop.db.repositories.job_records import JobRow
    from x121_desktop.services.orchestrator.fleet import ServerHandle
    from x121_desktop.services.orchestrator.runner import JobRunner


@dataclass(frozen=True, slots=True)
class Search:
    """Where an earlier attempt's prompt was found, if anywhere, and which servers could not be asked."""

    handle: ServerHandle | None = None
    entry: HistoryEntry | None = None
    """Its history entry when it has ended there (None: still queued or running)."""
    asked: tuple[str, ...] = ()
    unasked: tuple[str, ...] = field(default=())
    """Servers of earlier attempts this dispatcher does not follow, or that did not answer."""


async def search(runner: JobRunner) -> Search:
    """Ask each server of an earlier attempt, then the claimed one, for the job's prompt_id."""

    def servers() -> list[int]:
        with runner.d.engine.connect() as conn:
            return job_runs.attempt_servers(conn, runner.job.id)

    earlier = await runner.d.runtime.run(runner.d.runtime.db_read, servers)
    asked: list[str] = []
    unasked: list[str] = []
    for server_id in dict.fromkeys([*earlier, runner.handle.id]):
        handle = runner.d.fleet.handles.get(ServerId(server_id))
        if handle is None:
            unasked.append(f"server #{server_id} (not followed by this dispatcher)")
            continue
        try:
            entry = await runner.d.runtime.run(runner.d.runtime.io, handle.client.history, runner.pid)
            queued = entry is None and (await runner.d.runtime.run(runner.d.runtime.io, handle.client.queue)).contains(
                runner.pid
            )
        except ComfyError:
            unasked.append(f"{handle.row.name} (did not answer)")
            continue
        asked.append(handle.row.name)
        if entry is not None or queued:
            return Search(handle, entry, tuple(asked), tuple(unasked))
    return Search(asked=tuple(asked), unasked=tuple(unasked))


def may_run_again(job: JobRow) -> bool:
    """Its policy lets the job's prompt be sent again (the claim has already counted this attempt)."""
    return job.redispatch_allowed and job.attempts <= job.max_attempts


def why_not_again(job: JobRow, found: Search) -> str:
    """The failure sentence of a job whose earlier prompt is gone and that may not run again."""
    where = ", ".join(found.asked) or "no server"
    could_not = f"; could not ask {', '.join(found.unasked)}" if found.unasked else ""
    rule = (
        "it may not be dispatched again"
        if not job.redispatch_allowed
        else f"it has used its {job.max_attempts} attempt{'s' if job.max_attempts != 1 else ''}"
    )
    return (
        f"Job {job.id}'s earlier run (prompt {job.prompt_id}) is no longer on {where}{could_not}, and {rule}; "
        "retry the job to run it again"
    )
