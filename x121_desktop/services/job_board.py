"""The job board: what the Jobs panel shows and does, over the shared queue.

`JobBoardService(studio)` reads the queue as rows ready to show (workflow name, owner, server,
latest per-node progress, GPU-seconds, the job a retry came from) and a job's details (its event
log described in sentences, its output files), and acts on one job per call, each in one
transaction committed here:

- `cancel`: `JobQueueService.cancel` (own jobs; admins any; other jobs are never touched).
- `retry` and `move_to_front`: `services.job_board_actions` (a new linked job; first among the
  owner's own queued jobs, admins: first of the whole queue).
- `hold` / `release` (several jobs in one transaction, each reported), `pause_my_queue`,
  `pause_studio` (admins) and `queue_state`: `services.job_board_actions` over revision 0013.

Live updates: `listen(callback)` starts a LISTEN thread on the job channel and the paused-queue
channel; the callback gets a `BoardNotice` or a `QueueNotice` on that thread and must hand it over
(the panel uses a queued signal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import JobEventKind, JobKind, JobStatus
from x121_desktop.core.ids import FileId, JobId, UserId
from x121_desktop.db.notify import (
    ChannelListener,
    ChannelNotice,
    JobNotice,
    ListenerHandle,
    Notice,
    conninfo_from_engine,
    parse_json_notice,
    parse_notice,
)
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.db.repositories.job_pauses import QUEUE_CHANNEL, QueuePause
from x121_desktop.db.repositories.job_records import CHANNEL
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.job_board_actions import (
    HoldResult,
    QueueChange,
    QueueState,
    Viewer,
    hold_jobs,
    move_to_front,
    queue_state,
    release_jobs,
    retry_job,
    set_queue_paused,
    whoami,
)
from x121_desktop.services.job_board_text import EventLine, describe_event
from x121_desktop.services.orchestrator.queue import JobQueueService
from x121_desktop.services.transactions import in_transaction

__all__ = [
    "BoardFilter",
    "BoardListener",
    "BoardNotice",
    "EventLine",
    "HoldResult",
    "JobBoardRow",
    "JobBoardService",
    "JobDetails",
    "OutputFile",
    "Progress",
    "QueueChange",
    "QueueNotice",
    "QueuePause",
    "QueueState",
    "Viewer",
]


@dataclass(frozen=True, slots=True)
class Progress:
    node: str | None
    value: int
    max: int


@dataclass(frozen=True, slots=True)
class JobBoardRow:
    id: JobId
    kind: JobKind
    workflow: str | None
    """`name vN`, or None for a job sent as a raw API prompt."""
    owner_id: UserId
    owner: str
    priority: int
    status: JobStatus
    server: str | None
    progress: Progress | None
    """The last progress event (while it runs)."""
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    gpu_seconds: float | None
    retry_of: JobId | None
    error: str | None
    cancel_requested: bool
    attempts: int
    max_attempts: int


@dataclass(frozen=True, slots=True)
class OutputFile:
    node_id: str
    file_id: FileId
    path: Path
    sha256: str
    kind: str


@dataclass(frozen=True, slots=True)
class JobDetails:
    row: JobBoardRow
    events: tuple[EventLine, ...]
    outputs: tuple[OutputFile, ...]
    retried_as: tuple[JobId, ...]


@dataclass(frozen=True, slots=True)
class BoardFilter:
    mine: bool = False
    statuses: tuple[JobStatus, ...] = ()
    text: str = ""
    """Matches the job id, kind, workflow, owner or server (case-insensitive)."""
    limit: int = 500


@dataclass(frozen=True, slots=True)
class BoardNotice:
    """A committed job change (job_id None: the listener reconnected, re-read everything)."""

    job_id: JobId | None
    status: JobStatus | None = None
    event: JobEventKind | None = None


@dataclass(frozen=True, slots=True)
class QueueNotice:
    """A queue was paused or resumed (committed): a user's (`user_id`) or, `user_id` None, the studio's."""

    user_id: UserId | None
    paused: bool
    by_user: UserId | None
    jobs: int
    """How many jobs it held or released."""


def _queue_notice(notice: ChannelNotice) -> QueueNotice:
    user, by = notice.int_field("user_id"), notice.int_field("by_user")
    return QueueNotice(
        None if user is None else UserId(user),
        notice.data.get("paused") is True,
        None if by is None else UserId(by),
        notice.int_field("jobs") or 0,
    )


_ROWS = """
SELECT j.id, j.job_kind_id, w.name, v.version_no, j.owner_id, u.display_name, j.priority, j.job_status_id, s.name,
       j.created_at, j.started_at, j.finished_at,
       (SELECT sum(c.gpu_seconds) FROM cost_records c WHERE c.job_id = j.id),
       (SELECT e.data FROM job_events e WHERE e.job_id = j.id AND e.job_event_kind_id = :progress
         ORDER BY e.id DESC LIMIT 1),
       (SELECT (e.data->>'retry_of')::int FROM job_events e
         WHERE e.job_id = j.id AND e.job_event_kind_id = :log AND e.data ? 'retry_of' ORDER BY e.id LIMIT 1),
       j.error, j.cancel_requested, j.attempts, j.max_attempts
FROM jobs j
JOIN users u ON u.id = j.owner_id
JOIN job_kind k ON k.id = j.job_kind_id
LEFT JOIN workflow_versions v ON v.id = j.workflow_version_id
LEFT JOIN workflows w ON w.id = v.workflow_id
LEFT JOIN comfy_servers s ON s.id = j.server_id
"""


def _row(r: Sequence[Any]) -> JobBoardRow:
    progress = None
    data = r[13]
    if isinstance(data, Mapping) and isinstance(data.get("value"), int) and isinstance(data.get("max"), int):
        node = data.get("node")
        progress = Progress(None if node is None else str(node), int(data["value"]), int(data["max"]))
    return JobBoardRow(
        id=JobId(r[0]),
        kind=JobKind(r[1]),
        workflow=None if r[2] is None else f"{r[2]} v{r[3]}",
        owner_id=UserId(r[4]),
        owner=str(r[5]),
        priority=int(r[6]),
        status=JobStatus(r[7]),
        server=r[8],
        progress=progress,
        created_at=r[9],
        started_at=r[10],
        finished_at=r[11],
        gpu_seconds=None if r[12] is None else float(r[12]),
        retry_of=None if r[14] is None else JobId(r[14]),
        error=r[15],
        cancel_requested=bool(r[16]),
        attempts=int(r[17]),
        max_attempts=int(r[18]),
    )


def board_rows(conn: Connection, me: int | None, f: BoardFilter, job_id: int | None = None) -> list[JobBoardRow]:
    where: list[str] = []
    params: dict[str, object] = {
        "progress": int(JobEventKind.PROGRESS),
        "log": int(JobEventKind.LOG),
        "limit": max(1, f.limit),
    }
    if job_id is not None:
        where.append("j.id = :job_id")
        params["job_id"] = job_id
    if f.mine and me is not None:
        where.append("j.owner_id = :me")
        params["me"] = me
    if f.statuses:
        where.append("j.job_status_id = ANY(:statuses)")
        params["statuses"] = [int(s) for s in f.statuses]
    needle = f.text.strip()
    if needle:
        where.append(
            "(CAST(j.id AS text) = :exact OR k.label ILIKE :like OR w.name ILIKE :like "
            "OR u.display_name ILIKE :like OR s.name ILIKE :like)"
        )
        params["exact"] = needle.lstrip("#")
        params["like"] = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = conn.execute(text(_ROWS + clause + "ORDER BY j.id DESC LIMIT :limit"), params).all()
    return [_row(r) for r in rows]


def _details(conn: Connection, job_id: int, media_root: Path) -> JobDetails:
    rows = board_rows(conn, None, BoardFilter(limit=1), job_id=job_id)
    if not rows:
        raise repo.JobNotFound(job_id)
    events = repo.job_events(conn, job_id)
    files = conn.execute(
        text(
            "SELECT o.node_id, f.id, f.rel_path, f.sha256, k.label FROM job_outputs o JOIN files f ON f.id = o.file_id "
            "JOIN file_kind k ON k.id = f.file_kind_id WHERE o.job_id = :id ORDER BY o.node_id, f.id"
        ),
        {"id": job_id},
    ).all()
    retried = tuple(JobId(int(e.data["retried_as"])) for e in events if isinstance(e.data.get("retried_as"), int))
    people = sorted({int(e.data["by_user"]) for e in events if isinstance(e.data.get("by_user"), int)})
    found = conn.execute(text("SELECT id, display_name FROM users WHERE id = ANY(:ids)"), {"ids": people}).all()
    names = {int(r[0]): str(r[1]) for r in found}
    return JobDetails(
        row=rows[0],
        events=tuple(describe_event(e.id, e.kind, e.at, e.attempt_no, e.data, names) for e in events),
        outputs=tuple(OutputFile(str(f[0]), FileId(f[1]), media_root / str(f[2]), str(f[3]), str(f[4])) for f in files),
        retried_as=retried,
    )


class BoardListener(ListenerHandle):
    """The LISTEN thread for job changes and paused or resumed queues; `stop()` joins it."""

    def __init__(self, studio: Studio, on_notice: Callable[[BoardNotice | QueueNotice], None]) -> None:
        def hand_over(notice: Notice | ChannelNotice) -> None:
            if isinstance(notice, JobNotice):
                on_notice(BoardNotice(notice.job_id, notice.status, notice.event))
            elif isinstance(notice, ChannelNotice):
                on_notice(_queue_notice(notice))
            else:
                on_notice(BoardNotice(None))

        parsers = {CHANNEL: parse_notice, QUEUE_CHANNEL: parse_json_notice(QUEUE_CHANNEL)}
        self._listener = ChannelListener[JobNotice | ChannelNotice](
            conninfo_from_engine(studio.engine), parsers, hand_over, name="x121-job-listener"
        )


class JobBoardService:
    """Read the queue for the Jobs panel and act on one job per call (one transaction each)."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._runtime = studio.runtime
        self._queue = JobQueueService(studio)

    async def _tx[T](self, write: bool, work: Callable[[Connection], T]) -> T:
        pool = self._runtime.db_writer if write else self._runtime.db_read
        return await self._runtime.run(pool, in_transaction, self._studio, work)

    async def viewer(self) -> Viewer:
        return await self._tx(False, whoami)

    async def rows(self, f: BoardFilter) -> list[JobBoardRow]:
        def work(conn: Connection) -> list[JobBoardRow]:
            me = whoami(conn).user_id if f.mine else None
            return board_rows(conn, me, f)

        return await self._tx(False, work)

    async def details(self, job_id: int) -> JobDetails:
        root = self._studio.paths.media_root
        return await self._tx(False, lambda c: _details(c, job_id, root))

    async def cancel(self, job_id: int) -> str:
        """Cancel one job; the sentence saying what happened."""
        outcome = await self._queue.cancel(job_id)
        return {
            repo.CancelOutcome.CANCELLED: f"Job {job_id} was cancelled.",
            repo.CancelOutcome.REQUESTED: f"Job {job_id} is running; its dispatcher was asked to stop it.",
            repo.CancelOutcome.ALREADY_ENDED: f"Job {job_id} had already ended; nothing changed.",
        }[outcome]

    async def retry(self, job_id: int) -> JobId:
        return (await self._tx(True, lambda c: retry_job(c, job_id))).id

    async def move_to_front(self, job_id: int) -> int:
        return await self._tx(True, lambda c: move_to_front(c, job_id))

    async def hold(self, job_ids: Sequence[int]) -> HoldResult:
        """Put these jobs on hold (yours; admins: anyone's), one transaction; each job's outcome reported."""
        return await self._tx(True, lambda c: hold_jobs(c, job_ids))

    async def release(self, job_ids: Sequence[int]) -> HoldResult:
        """Release these jobs from hold: queued again, each in the place it had."""
        return await self._tx(True, lambda c: release_jobs(c, job_ids))

    async def pause_my_queue(self, paused: bool) -> QueueChange:
        """Pause (hold my queued jobs and what I submit) or resume my queue (releasing what the pause held)."""
        return await self._tx(True, lambda c: set_queue_paused(c, paused))

    async def pause_studio(self, paused: bool) -> QueueChange:
        """Pause or resume the studio queue (admins only): while paused no dispatcher claims a job."""
        return await self._tx(True, lambda c: set_queue_paused(c, paused, studio=True))

    async def queue_state(self) -> QueueState:
        return await self._tx(False, queue_state)

    def listen(self, on_notice: Callable[[BoardNotice | QueueNotice], None]) -> BoardListener:
        return BoardListener(self._studio, on_notice).start()
