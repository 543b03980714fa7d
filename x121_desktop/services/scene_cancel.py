"""Cancel a scene's generation: your queued and running jobs of its current run, and what is still to chain.

`SceneCancelService.cancel(scene_id)` is one transaction under the scene lock. The current run is
every take of the scene still pending (PENDING/GENERATING) and every job rendering into one of the
scene's takes that has not ended. Each job of yours is cancelled with the queue's own per-job
semantics (`jobs.request_cancel`: a queued job ends now; a running one gets `cancel_requested`, and
its dispatcher interrupts it on the ComfyUI server). Its take becomes CANCELLED at once, and its
segment, like every segment still QUEUED without a take, comes to rest so that no director chains
further (core.pipeline.stopping, the rule a pipeline lead reads a shot board by):

* a segment with no usable take is PLANNED again (`Generate`, SceneService.start, queues it);
* a segment whose *re*generation was cancelled keeps its current take and goes back to what that
  take is (in review, approved, rejected; generated when its left seam was never measured); one
  whose left seam is red, or that awaited the director's own retry (NEEDS_REGEN), is CANCELLED,
  waiting for a person, so that no director queues the retry behind the person's back.

The scene, in the same transaction, leaves IN_PROGRESS when nothing of it is under way any more:
IN_REVIEW when some segment has a usable take to look at, PLANNED when none has. While anything is
still under way (another user's job, a job that finished but whose take is not recorded yet, a
segment another user's lock keeps queued) it stays IN_PROGRESS, because it is not idle and a
director must go on driving it; that director brings it to rest once the work has ended
(scene_director.py, the same rule). The scene row's update is heard by the navigator (NOTIFY
x121_scenes, revision 0014).

Left alone, and said in the report: jobs of other users (even for an admin: cancelling a scene
cancels your generation, `x121 job cancel` cancels someone's one job), segments whose lock another
user holds, and jobs that had already ended (a finished one keeps its take: the next director
round records it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import ActivityKind, JobStatus, SceneStatus, SegmentStatus, TakeStatus
from x121_desktop.core.orchestration.states import TERMINAL
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.values import SegmentValue, TakeValue
from x121_desktop.db.repositories import jobs as job_repo
from x121_desktop.db.repositories import scenes as repo
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services.scene_locks import current_user, live_locks, lock_sentence
from x121_desktop.services.scene_rest import PENDING, rest_scene, seam_grades, stopped_status
from x121_desktop.services.scenes import require_creator
from x121_desktop.services.transactions import in_transaction

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio

Sg = SegmentStatus


@dataclass(frozen=True, slots=True)
class JobNote:
    job_id: int
    segment: int
    """1-based segment number."""
    status: JobStatus
    owner: str = ""
    """The owner's role (jobs of other users)."""


@dataclass(frozen=True, slots=True)
class SegmentNote:
    segment: int
    """1-based segment number."""
    status: SegmentStatus
    """What it is now."""


@dataclass(frozen=True, slots=True)
class SceneCancelReport:
    scene_id: int
    scene: str
    """'Ada/intro'."""
    cancelled: tuple[JobNote, ...] = ()
    """Queued jobs, ended now."""
    interrupted: tuple[JobNote, ...] = ()
    """Running jobs told to stop (their dispatcher interrupts them on the server)."""
    finished: tuple[JobNote, ...] = ()
    """Jobs of the run that had already ended (their takes are kept)."""
    others: tuple[JobNote, ...] = ()
    """Jobs of other users, left alone."""
    segments: tuple[int, ...] = ()
    """1-based numbers of the segments stopped (PLANNED again, or CANCELLED, or see `kept`)."""
    held: tuple[str, ...] = ()
    """Sentences: segments another user's lock keeps, left alone."""
    kept: tuple[SegmentNote, ...] = ()
    """Stopped segments that keep their current take, with the status that take gives them."""
    scene_status: SceneStatus = SceneStatus.PLANNED
    """The scene's status after the cancel."""
    rested: bool = False
    """The cancel moved the scene out of IN_PROGRESS."""
    under_way: tuple[int, ...] = ()
    """1-based segments with work still under way (other users' jobs, takes not recorded yet)."""

    @property
    def jobs(self) -> int:
        return len(self.cancelled) + len(self.interrupted)

    def sentence(self) -> str:
        return describe(self)


def _numbers(notes: tuple[JobNote, ...]) -> str:
    numbers = sorted({n.segment for n in notes})
    word = "segment" if len(numbers) == 1 else "segments"
    return f"{word} {', '.join(map(str, numbers))}"


def _jobs(n: int) -> str:
    return f"{n} job" if n == 1 else f"{n} jobs"


def describe(report: SceneCancelReport) -> str:
    """What the cancel did, in sentences for the person who asked."""
    parts: list[str] = []
    if report.cancelled or report.interrupted:
        done = []
        if report.cancelled:
            done.append(f"{_jobs(len(report.cancelled))} cancelled ({_numbers(report.cancelled)})")
        if report.interrupted:
            what = "running job" if len(report.interrupted) == 1 else "running jobs"
            done.append(f"{len(report.interrupted)} {what} interrupted ({_numbers(report.interrupted)})")
        parts.append(f"Generation of {report.scene} cancelled: {' and '.join(done)}.")
    elif report.segments:
        parts.append(f"Generation of {report.scene} cancelled: no job of yours was queued or running.")
    else:
        parts.append(f"{report.scene} had no queued or running job of yours to cancel.")
    keeping = {n.segment for n in report.kept}
    again = [n for n in report.segments if n not in keeping]
    if again:
        which, one = ", ".join(map(str, again)), len(again) == 1
        parts.append(
            f"{'Segment' if one else 'Segments'} {which} stopped; Generate queues {'it' if one else 'them'} again."
        )
    parts += [
        f"Segment {kept.segment} stopped and keeps its current take ({kept.status.label.lower()})."
        for kept in report.kept
    ]
    for note in report.finished:
        parts.append(
            f"Segment {note.segment}'s job had already finished ({note.status.label.lower()}); its take is kept."
        )
    for note in report.others:
        parts.append(f"Job {note.job_id} (segment {note.segment}) belongs to {note.owner} and was left running.")
    parts += [f"{held}, so it was left alone." for held in report.held]
    parts.append(_scene_sentence(report))
    return " ".join(p for p in parts if p)


def _scene_sentence(report: SceneCancelReport) -> str:
    if report.rested and report.scene_status is SceneStatus.PLANNED:
        return f"{report.scene} is planned again: no segment has a take to look at."
    if report.rested:
        return f"{report.scene} is {report.scene_status.label.lower()}: its segments with a take wait for a look."
    if report.scene_status is SceneStatus.IN_PROGRESS and report.under_way:
        one = len(report.under_way) == 1
        which = f"{'segment' if one else 'segments'} {', '.join(map(str, report.under_way))}"
        return f"{report.scene} stays in progress while {which} {'is' if one else 'are'} still under way."
    return ""


def _owner_names(conn: Connection, owners: set[int]) -> dict[int, str]:
    if not owners:
        return {}
    rows = conn.execute(text("SELECT id, role_name FROM users WHERE id = ANY(:ids)"), {"ids": sorted(owners)})
    return {int(r.id): str(r.role_name) for r in rows}


def cancel_own_job(conn: Connection, job_id: int, me: int) -> job_repo.CancelOutcome:
    """The queue's per-job cancel (`jobs.request_cancel`) in the caller's transaction, for a job of `me`."""
    return job_repo.request_cancel(conn, job_id, me)


class _Run:
    """The scene's current run, read and cancelled inside the one transaction."""

    def __init__(self, conn: Connection, scene_id: int) -> None:
        self.conn = conn
        self.scene = repo.lock_scene(conn, scene_id)
        self.segments = repo.segments(conn, scene_id)
        self.takes = take_repo.takes_of_scene(conn, scene_id)
        me = current_user(conn)
        self.me = -1 if me is None else int(me)
        self.locks = live_locks(conn, [s.id for s in self.segments])
        self.by_id = {s.id: s for s in self.segments}
        self.take_by_id = {t.id: t for t in self.takes}
        self.grades = seam_grades(conn, scene_id)
        self.cancelled: list[JobNote] = []
        self.interrupted: list[JobNote] = []
        self.finished: list[JobNote] = []
        self.others: list[JobNote] = []
        self.owners: dict[int, int] = {}
        """job id → owner id, for the jobs of other users."""
        self.segments_cancelled: list[int] = []
        self.kept: list[SegmentNote] = []
        self.held: list[str] = []

    def free(self, segment: SegmentValue) -> bool:
        """Whether this user may change the segment (no live lock of another user on it)."""
        info = self.locks.get(segment.id)
        if info is None or int(info.holder_id) == self.me:
            return True
        sentence = lock_sentence(self.scene, segment.position, info)
        if sentence not in self.held:
            self.held.append(sentence)
        return False

    def retried(self, segment: SegmentValue) -> bool:
        """Whether the director would queue this NEEDS_REGEN segment again by itself."""
        current = next((t for t in self.takes if t.id == segment.current_take_id), None)
        return transitions.retried_by_the_director(current.reason if current is not None else None)

    def cancel_take(self, take: TakeValue) -> None:
        segment = self.by_id[take.segment_id]
        job = take_repo.job_of_take(self.conn, take.id)
        pending = take.status in PENDING
        number = segment.position + 1
        if job is not None and job.status not in TERMINAL:
            if job.owner_id is not None and int(job.owner_id) != self.me:
                self.others.append(JobNote(job.id, number, job.status))
                self.owners[job.id] = int(job.owner_id)
                return
            outcome = cancel_own_job(self.conn, job.id, self.me)
            if outcome is job_repo.CancelOutcome.ALREADY_ENDED:  # it ended between the read and the row lock
                ended = take_repo.job_of_take(self.conn, take.id)
                if pending:
                    self.finished.append(JobNote(job.id, number, ended.status if ended else job.status))
                return
            bucket = self.cancelled if outcome is job_repo.CancelOutcome.CANCELLED else self.interrupted
            bucket.append(JobNote(job.id, number, job.status))
        elif job is not None:
            if pending:
                self.finished.append(JobNote(job.id, number, job.status))
            return
        elif not pending:
            return
        if pending and self.free(segment):
            take_repo.set_take_status(self.conn, take.id, TakeStatus.CANCELLED)
            self.cancel_segment(segment)

    def cancel_segment(self, segment: SegmentValue) -> None:
        """Bring a queued or generating segment to rest (core.pipeline.stopping) unless another user holds it."""
        segments = repo.segments(self.conn, self.scene.id)
        now = segments[segment.position]
        if now.status in transitions.BUSY_SEGMENT and self.free(now):
            status = stopped_status(now, segments, self.take_by_id, self.grades)
            transitions.require(now.status, status, f"Segment {now.position + 1}")
            repo.set_segment_status(self.conn, now.id, status)
            self.segments_cancelled.append(now.position + 1)
            if status not in (Sg.PLANNED, Sg.CANCELLED):
                self.kept.append(SegmentNote(now.position + 1, status))

    def cancel(self) -> SceneCancelReport:
        for take in sorted(self.takes, key=lambda t: (self.by_id[t.segment_id].position, t.id)):
            self.cancel_take(take)
        pending_segments = {t.segment_id for t in self.takes if t.status in PENDING}
        for segment in self.segments:  # queued, not submitted yet: nothing chains into them now
            if segment.status is Sg.QUEUED and segment.id not in pending_segments:
                self.cancel_segment(segment)
            elif segment.status is Sg.NEEDS_REGEN and self.retried(segment) and self.free(segment):
                repo.set_segment_status(self.conn, segment.id, Sg.CANCELLED)  # the director's own retry
                self.segments_cancelled.append(segment.position + 1)
        names = _owner_names(self.conn, set(self.owners.values()))
        others = tuple(replace(n, owner=names.get(self.owners[n.job_id], "another user")) for n in self.others)
        rest = rest_scene(self.conn, self.scene)
        report = SceneCancelReport(
            self.scene.id, str(self.scene.ref), tuple(self.cancelled), tuple(self.interrupted),
            tuple(self.finished), others, tuple(sorted(self.segments_cancelled)), tuple(self.held),
            tuple(sorted(self.kept, key=lambda n: n.segment)), rest.status, rest.changed, rest.under_way,
        )  # fmt: skip
        if report.jobs or report.segments or report.rested:
            data = {
                "scene_id": self.scene.id, "action": "cancel", "segments": list(report.segments),
                "cancelled_jobs": [n.job_id for n in report.cancelled],
                "interrupted_jobs": [n.job_id for n in report.interrupted],
                "left_to_others": [n.job_id for n in report.others],
                "scene_status": report.scene_status.code,
            }  # fmt: skip
            repo.add_activity(self.conn, ActivityKind.SEGMENT_PLANNED, self.scene.project_id, data)
        return report


class SceneCancelService:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio

    async def cancel(self, scene_id: int) -> SceneCancelReport:
        """Cancel your queued and running jobs of the scene's current run and stop its chain (one transaction)."""

        def work(conn: Connection) -> SceneCancelReport:
            require_creator(conn, "cancel generation")
            return _Run(conn, scene_id).cancel()

        runtime = self._studio.runtime
        return await runtime.run(runtime.db_writer, in_transaction, self._studio, work)
