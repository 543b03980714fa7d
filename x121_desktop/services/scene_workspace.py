"""What the desktop's scene workspace reads: a scene's chain with seams, locks and take authors; live changes.

Read-only. `load(scene_id)` returns one frozen `Workspace` (one read transaction): the scene view of
services/scenes.py plus, per segment, the seam between its current take and the previous segment's
current take, the live segment lock (who holds it), and per take who made it and the verdicts
given. `listen(on_change)` starts one LISTEN thread on the job channel (`x121_jobs`: every job
state change) and the lock and activity channels, and calls `on_change` on that thread; the UI
hands it to its own thread and re-reads. `direct(scene_id)` follows a scene with the scene
director until its chain is complete or waits for a person, as `x121 scene generate --wait` does
(the jobs themselves run on whatever dispatchers serve the queue).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.collab.values import LockInfo
from x121_desktop.core.enums import SegmentStatus, Verdict
from x121_desktop.core.pipeline.values import SeamValue, SegmentValue, TakeValue
from x121_desktop.db.notify import (
    ChannelListener,
    ChannelNotice,
    JobNotice,
    ListenerHandle,
    ListenerReconnected,
    conninfo_from_engine,
    parse_json_notice,
    parse_notice,
)
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.db.repositories.job_records import CHANNEL as JOBS
from x121_desktop.services.collab import ACTIVITY, LOCKS
from x121_desktop.services.scene_locks import current_user, live_locks
from x121_desktop.services.scenes import SceneView, scene_view
from x121_desktop.services.transactions import in_transaction

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.services.scene_seams import AdvanceReport

DIRECT_TIMEOUT_S = 24 * 3600.0
"""How long one follow of a scene may run; generation of a long scene on a busy farm takes hours."""


@dataclass(frozen=True, slots=True)
class TakeNode:
    take: TakeValue
    author: str
    verdicts: tuple[tuple[str, Verdict, str], ...]
    """(reviewer role, verdict, note) for each verdict given on this take."""
    approved_by: str | None
    """Who gave it final approval, if anyone."""
    error: str | None
    """Why its job failed or was cancelled."""


@dataclass(frozen=True, slots=True)
class ChainLink:
    segment: SegmentValue
    current: TakeValue | None
    seam_before: SeamValue | None
    """The measured seam from the previous segment's current take into this one's (None for segment 1)."""
    lock: LockInfo | None


@dataclass(frozen=True, slots=True)
class Workspace:
    view: SceneView
    chain: tuple[ChainLink, ...]
    takes: Mapping[int, tuple[TakeNode, ...]]
    """segment id → its takes, oldest first."""
    me: int | None
    is_creator: bool

    @property
    def scene_id(self) -> int:
        return int(self.view.scene.id)

    def take(self, take_id: int) -> TakeNode | None:
        return next((n for nodes in self.takes.values() for n in nodes if n.take.id == take_id), None)

    def busy(self) -> bool:
        """Whether any segment is queued or generating (its generation can be cancelled)."""
        return any(link.segment.status in (SegmentStatus.QUEUED, SegmentStatus.GENERATING) for link in self.chain)

    def settled(self) -> int:
        """Segments with a usable current take that are not being (re)generated."""
        busy = {SegmentStatus.PLANNED, SegmentStatus.QUEUED, SegmentStatus.GENERATING, SegmentStatus.FAILED}
        return sum(1 for link in self.chain if link.current is not None and link.segment.status not in busy)


def seam_between(seams: tuple[SeamValue, ...], left: TakeValue | None, right: TakeValue | None) -> SeamValue | None:
    """The latest measured seam joining exactly these two takes."""
    if left is None or right is None:
        return None
    found = [s for s in seams if s.left_take_id == left.id and s.right_take_id == right.id]
    return max(found, key=lambda s: s.id) if found else None


def _authors(conn: Connection, take_ids: list[int]) -> dict[int, str]:
    rows = conn.execute(
        text(
            "SELECT t.id, coalesce(nullif(u.display_name, ''), u.role_name) AS who FROM takes t "
            "JOIN users u ON u.id = t.created_by WHERE t.id = ANY(:ids)"
        ),
        {"ids": take_ids},
    )
    return {int(r.id): str(r.who) for r in rows}


def read_workspace(conn: Connection, scene_id: int) -> Workspace:
    view = scene_view(conn, scene_id)
    locks = live_locks(conn, [s.id for s in view.segments])
    take_ids = [int(t.id) for t in view.takes]
    authors = _authors(conn, take_ids)
    verdicts = take_repo.verdicts_of(conn, take_ids)
    chain: list[ChainLink] = []
    previous: TakeValue | None = None
    for segment in view.segments:
        current = view.current(segment.position)
        seam = seam_between(view.seams, previous, current) if segment.position else None
        chain.append(ChainLink(segment, current, seam, locks.get(segment.id)))
        previous = current
    takes: dict[int, tuple[TakeNode, ...]] = {}
    for segment in view.segments:
        takes[int(segment.id)] = tuple(
            TakeNode(
                t,
                authors.get(int(t.id), "?"),
                tuple(verdicts.get(int(t.id), ())),
                view.approvals.get(int(t.id)),
                view.job_errors.get(int(t.id)),
            )
            for t in view.takes
            if t.segment_id == segment.id
        )
    me = current_user(conn)
    creator = bool(conn.execute(text("SELECT x121_is_creator()")).scalar_one())
    return Workspace(view, tuple(chain), takes, None if me is None else int(me), creator)


@dataclass(frozen=True, slots=True)
class WorkspaceEvent:
    """Something the workspace may show changed: `jobs`, `locks`, `activity`, or `reconnected`."""

    kind: str


class WorkspaceListener(ListenerHandle):
    """One LISTEN thread for the job, lock and activity channels; stop() joins it."""

    def __init__(self, conninfo: str, on_change: Callable[[WorkspaceEvent], None]) -> None:
        def hand_over(notice: JobNotice | ChannelNotice | ListenerReconnected) -> None:
            if isinstance(notice, ListenerReconnected):
                on_change(WorkspaceEvent("reconnected"))
            elif isinstance(notice, JobNotice):
                on_change(WorkspaceEvent("jobs"))
            else:
                on_change(WorkspaceEvent("locks" if notice.channel == LOCKS else "activity"))

        parsers: dict[str, Callable[[str], JobNotice | ChannelNotice | None]] = {
            JOBS: parse_notice,
            LOCKS: parse_json_notice(LOCKS),
            ACTIVITY: parse_json_notice(ACTIVITY),
        }
        self._listener: ChannelListener[JobNotice | ChannelNotice] = ChannelListener(
            conninfo, parsers, hand_over, name="x121-scene-workspace"
        )


def _rate(conn: Connection, character: str, project: str | None) -> Fraction:
    row = conn.execute(
        text(
            "SELECT p.fps_num, p.fps_den FROM characters c JOIN projects p ON p.id = c.project_id "
            "WHERE c.name = :c ORDER BY (p.name = :p) DESC LIMIT 1"
        ),
        {"c": character, "p": project or ""},
    ).first()
    return Fraction(24) if row is None else Fraction(int(row.fps_num), int(row.fps_den))


class SceneWorkspaceService:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio

    async def load(self, scene_id: int) -> Workspace:
        runtime = self._studio.runtime
        return await runtime.run(runtime.db_read, in_transaction, self._studio, lambda c: read_workspace(c, scene_id))

    async def take_videos(self, take_ids: list[int]) -> dict[int, Path]:
        """Absolute paths of the takes' rendered videos (takes with none are left out)."""

        def work(conn: Connection) -> dict[int, Path]:
            out: dict[int, Path] = {}
            for take_id in take_ids:
                take = take_repo.get_take(conn, take_id)
                if take.file_id is not None:
                    out[take_id] = self._studio.paths.media_root / take_repo.file_path(conn, take.file_id)
            return out

        runtime = self._studio.runtime
        return await runtime.run(runtime.db_read, in_transaction, self._studio, work)

    def listen(self, on_change: Callable[[WorkspaceEvent], None]) -> WorkspaceListener:
        """A started listener (see the module docstring)."""
        return WorkspaceListener(conninfo_from_engine(self._studio.engine), on_change).start()

    async def am_creator(self) -> bool:
        """Whether the signed-in role may generate, regenerate and approve (creators and admins)."""
        runtime = self._studio.runtime

        def work(conn: Connection) -> bool:
            return bool(conn.execute(text("SELECT x121_is_creator()")).scalar_one())

        return await runtime.run(runtime.db_read, in_transaction, self._studio, work)

    async def project_rate(self, character: str, project: str | None) -> Fraction:
        """The frame rate of the character's project (durations typed in seconds are counted in it)."""
        runtime = self._studio.runtime
        return await runtime.run(runtime.db_read, in_transaction, self._studio, lambda c: _rate(c, character, project))

    async def workflows(self) -> tuple[tuple[str, int], ...]:
        """(name, latest version) of every workflow that has a version and is not archived."""
        from x121_desktop.services.workflows import WorkflowService

        views = await WorkflowService(self._studio.sessions, self._studio.runtime).list_workflows()
        return tuple((v.name, v.latest) for v in views if v.latest is not None and not v.archived)

    async def record_finished(self, scene_id: int) -> AdvanceReport:
        """One director round after a cancel: it records the takes whose jobs had already finished (and
        measures their seams); cancelled segments are not chained. Its locks are given back at the end."""
        from x121_desktop.services.scene_director import SceneDirector

        return await SceneDirector(self._studio).advance(scene_id)

    async def direct(self, scene_id: int, timeout: float = DIRECT_TIMEOUT_S) -> AdvanceReport:
        """Follow the scene with the director until complete or waiting for a person (its locks released after)."""
        from x121_desktop.services.scene_director import SceneDirector

        return await SceneDirector(self._studio).settle(scene_id, timeout=timeout)
