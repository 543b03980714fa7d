"""Claiming a queued job *for a ComfyUI server*, in one transaction. Plain functions; never commits.

This is the one queue path the dispatcher uses (`claim_placed`), in two round trips to the server
(psycopg pipeline mode: several statements sent at once, their results read together):

1. *Look* (one round trip, with the transaction's BEGIN): the jobs holding a slot on each server,
   and the first `window` queued jobs in claim order (`fair_share_sql`: fair share, priority, and
   within one owner's batch the largest estimated work first), each with its stored input files.
   Nothing is locked: only the job finally taken is (`FOR UPDATE SKIP LOCKED` in step 3), so
   concurrent claimers are never starved by each other's look-ahead. When no usable server has a
   free slot the ranking is skipped inside the statement (a one-time filter) and nothing is read.
2. Ask the caller's `plan(job)` what each candidate needs (`JobPlan`: node types, models, work
   estimate); an `X121Error` from it, a file it names that is gone, or a placement no enabled
   server could ever take, refuses that job before any GPU time (QUEUED → FAILED, reasons, owner
   notified). Choose job and server with `core.orchestration.placement` (capabilities,
   availability, model affinity, speed) and the finish-time-aware rule
   `core.orchestration.finish.next_start` (only jobs of an owner's first remaining batch may start;
   a held job counts with its stored estimate, less the time it has been running when speeds are
   measured per second).
3. *Take* (one round trip): `pg_advisory_xact_lock(121, server_id)`, then, in later statements
   (so their snapshot sees every claim committed while this one waited for the lock), the
   server's slot count and the assignment guarded by it: lock the job (SKIP LOCKED), CLAIMED,
   lease, server, attempts + 1, attempt row, CLAIMED event + NOTIFY. Two dispatchers never
   overfill one server.

The statements are prepared (`prepare=True`: no per-claim parsing) and take their LIMITs as
literals, so PostgreSQL settles on a cached generic plan instead of planning every claim.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.errors import InvalidInput, NotFound, X121Error
from x121_desktop.core.orchestration.placement import (
    DISPATCHABLE,
    Placement,
    PlacementOutcome,
    ServerSnapshot,
    choose_server,
    explain_refusal,
    rank_servers,
)
from x121_desktop.core.orchestration.states import ACTIVE
from x121_desktop.db.repositories.job_events import NOTICE_SQL, log_event, notify_owner
from x121_desktop.db.repositories.job_order import Held, JobPlan, tries_in_order
from x121_desktop.db.repositories.job_records import JobRow, StoredFile, job_columns, job_from_row

ADVISORY_CLASS = 121
"""pg_advisory_xact_lock(121, server_id) guards one server's slot count."""

_QUEUED = int(JobStatus.QUEUED)
_ACTIVE = ", ".join(str(i) for i in sorted(int(s) for s in ACTIVE))

STUDIO_PAUSED = "EXISTS (SELECT 1 FROM job_queue_pauses WHERE user_id IS NULL)"
"""True while an admin has paused the studio queue (revision 0013): then no job is claimed."""

BATCH_ORDER = "created_at, work_estimate DESC NULLS LAST, id"
"""One owner's queued jobs of one priority: batches (one submission = one `created_at`) oldest first,
inside a batch the largest estimated work first (unknown last), then submission order."""


def fair_share_sql(window: int, kinds: bool = False) -> str:
    """CTEs `owners`, `running`, `ranked` (`id, priority, turn`): the first `window` queued jobs in claim order.

    Each owner's first `window` queued jobs in `BATCH_ORDER` (owners found by a skip scan of the
    partial index `ix_jobs_queued_owner`, which holds exactly that order) are ranked, so the cost
    grows with the number of owners, not with the queue's length. With `kinds`, only jobs whose
    kind is in `%(kinds)s` count. `core.orchestration.fairshare.order_queue` is the same order.
    While the studio queue is paused (`STUDIO_PAUSED`, a one-time filter of the first owner's
    lookup: no extra round trip) nothing is ranked, so no claim takes a job. Jobs on hold are not
    QUEUED, so they are neither in the index nor ranked; nor are the queued jobs of an owner who
    paused their queue (jobs that came back to it meanwhile: a lapsed lease, a lost server), which
    wait until the owner resumes (revision 0015).
    """
    kind = " AND j.job_kind_id = ANY(%(kinds)s)" if kinds else ""
    qualified = ", ".join(f"j.{c}" for c in BATCH_ORDER.split(", "))
    return f"""
WITH RECURSIVE owners AS (
    (SELECT owner_id FROM jobs WHERE job_status_id = {_QUEUED} AND NOT {STUDIO_PAUSED} ORDER BY owner_id LIMIT 1)
    UNION ALL
    SELECT (SELECT j.owner_id FROM jobs j WHERE j.job_status_id = {_QUEUED} AND j.owner_id > o.owner_id
            ORDER BY j.owner_id LIMIT 1)
    FROM owners o WHERE o.owner_id IS NOT NULL
), running AS MATERIALIZED (
    SELECT owner_id, count(*) AS n FROM jobs WHERE job_status_id IN ({_ACTIVE}) GROUP BY owner_id
), ranked AS MATERIALIZED (
    SELECT h.id, h.priority, COALESCE(r.n, 0) + h.k AS turn
    FROM owners o
    LEFT JOIN running r ON r.owner_id = o.owner_id
    CROSS JOIN LATERAL (
        SELECT j.id, j.priority, row_number() OVER (PARTITION BY j.priority ORDER BY {qualified}) - 1 AS k
        FROM (SELECT j.id, j.priority, j.created_at, j.work_estimate FROM jobs j
              WHERE j.job_status_id = {_QUEUED} AND j.owner_id = o.owner_id{kind}
              ORDER BY j.priority DESC, {qualified} LIMIT {int(window)}) j
    ) h
    WHERE o.owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM job_queue_pauses p WHERE p.user_id = o.owner_id)
    ORDER BY h.priority DESC, turn, h.id
    LIMIT {int(window)}
)"""


def run(conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Execute `sql` (psycopg `%(name)s` style) as a prepared statement on this transaction's connection."""
    return run_all(conn, [(sql, params)])[0]


type Statement = tuple[str, Mapping[str, Any] | None]
COMMIT = "COMMIT"


def run_all(conn: Connection, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """Execute several prepared statements in one round trip (a pipeline); the rows of each, in order."""
    raw: Any = conn.connection.driver_connection
    try:
        if len(statements) == 1:
            sql, params = statements[0]
            cursors = [raw.execute(sql, params or {}, prepare=True)]
        else:
            with raw.pipeline():  # (a transaction-control statement cannot be a prepared one)
                cursors = [raw.execute(sql, params or {}, prepare=sql != COMMIT) for sql, params in statements]
        return [list(c.fetchall()) if c.description is not None else [] for c in cursors]
    except psycopg.Error as exc:  # as SQLAlchemy would raise it, so callers' DBAPIError handling applies
        raise DBAPIError.instance(statements[0][0], statements[0][1], exc, psycopg.Error) from exc


# ---------------------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class Refused:
    job: JobRow
    sentence: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlacedClaim:
    """What `claim_placed` did: at most one job claimed on a server, and any jobs refused on the way."""

    job: JobRow | None = None
    server_id: int | None = None
    plan: JobPlan | None = None
    refused: tuple[Refused, ...] = ()
    placements: dict[int, Placement] = field(default_factory=dict)
    """Job id → placement of every candidate looked at (why the others wait)."""
    files: Mapping[str, StoredFile] = field(default_factory=dict)
    """The claimed job's input files: upload target → stored file."""
    room_left: bool = False
    """After this claim some usable server still had a free slot (as this transaction saw it)."""


# ---------------------------------------------------------------------------------------- statements

_SLOTS = (
    "SELECT server_id, id, work_estimate, CASE WHEN job_status_id = "
    f"{int(JobStatus.RUNNING)} THEN EXTRACT(EPOCH FROM now() - updated_at) ELSE 0 END "
    f"FROM jobs WHERE job_status_id IN ({_ACTIVE}) AND server_id IS NOT NULL"
)
_FILES_OF = (
    "(SELECT COALESCE(json_agg(json_build_array(f.id, f.sha256, f.rel_path)), '[]') FROM files f WHERE f.id IN "
    "(SELECT CAST(t.v AS bigint) FROM jsonb_each_text(CASE WHEN jsonb_typeof(j.inputs->'files') = 'object' "
    "THEN j.inputs->'files' ELSE '{}' END) AS t(k, v) WHERE t.v ~ '^[0-9]{1,18}$'))"
)
_USED = f"(SELECT count(*) FROM jobs x WHERE x.server_id = c.s AND x.job_status_id IN ({_ACTIVE}))"
_UP = ", ".join(str(int(s)) for s in sorted(DISPATCHABLE))
_LAST_SERVER_UP = (
    "(j.attempts > 0 AND EXISTS (SELECT 1 FROM comfy_servers s WHERE s.id = j.server_id AND s.is_enabled "
    f"AND s.server_status_id IN ({_UP})))"
)
"""An earlier attempt's server still takes work: the prompt that attempt sent may still be there."""


def _rank_sql(window: int) -> str:
    return (
        fair_share_sql(window)
        + f"""
SELECT {job_columns("j")}, {_FILES_OF}, {_LAST_SERVER_UP} FROM ranked k JOIN jobs j ON j.id = k.id
WHERE j.job_status_id = {_QUEUED} AND NOT j.cancel_requested
  AND EXISTS (SELECT 1 FROM unnest(CAST(%(sids)s AS integer[]), CAST(%(caps)s AS integer[])) AS c(s, n)
              WHERE c.n > {_USED})
ORDER BY k.priority DESC, k.turn, k.id
LIMIT {int(window)}"""
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    job: JobRow
    found: tuple[tuple[int, str, str], ...]
    """(file id, sha256, rel_path) of the stored files its inputs name that exist."""
    last_server_up: bool = False
    """An earlier attempt went to `job.server_id`, which is enabled and up: its prompt may still be there."""


def look(
    conn: Connection, window: int, open_servers: Mapping[int, int]
) -> tuple[dict[int, list[Held]], list[Candidate]]:
    """One round trip: (server id → the jobs holding a slot on it, the first `window` queued jobs in claim
    order). No candidates when none of `open_servers` (id → capacity) has a free slot."""
    params = {"sids": list(open_servers), "caps": list(open_servers.values())}
    slots, ranked = run_all(conn, [(_SLOTS, None), (_rank_sql(window), params)])
    holding: dict[int, list[Held]] = {}
    for server_id, job_id, work, running in slots:
        held = Held(int(job_id), None if work is None else float(work), max(0.0, float(running or 0)))
        holding.setdefault(int(server_id), []).append(held)
    width = len(job_columns().split(", "))
    found = [
        Candidate(job_from_row(r), tuple((int(f[0]), str(f[1]), str(f[2])) for f in r[width]), bool(r[width + 1]))
        for r in ranked
    ]
    return holding, found


def stored_files(job: JobRow, rows: Iterable[tuple[int, str, str]]) -> dict[str, StoredFile]:
    """Upload target → stored file, from the `files` rows found for `job.inputs.files` (NotFound naming any gone)."""
    raw = job.inputs.get("files") if isinstance(job.inputs, Mapping) else None  # any client may queue any document
    if raw is not None and not isinstance(raw, Mapping):
        raise InvalidInput(
            f"Job {job.id}'s inputs name their files as {type(raw).__name__}, not as an object of target → file id",
            "Submit it again with the files of the media store.",
        )
    files: dict[str, Any] = dict(raw or {})
    found = {int(r[0]): StoredFile(str(r[1]), str(r[2])) for r in rows}
    missing = sorted({str(v) for v in files.values() if not str(v).isdigit() or int(v) not in found})
    if missing:
        raise NotFound(
            f"Job {job.id} names stored file(s) {', '.join(missing)} that do not exist",
            "Submit the job again with files from the media store.",
        )
    return {target: found[int(fid)] for target, fid in files.items()}


_LOCK = "SELECT pg_advisory_xact_lock(" + str(ADVISORY_CLASS) + ", %(s)s)"
_ROOM = f"SELECT count(*) FROM jobs WHERE server_id = %(s)s AND job_status_id IN ({_ACTIVE})"
_GUARD = f" AND ({_ROOM}) < %(cap)s"
_ENABLED = "EXISTS (SELECT 1 FROM comfy_servers WHERE id = %(s)s AND is_enabled)"
_OPEN = f" AND {_ENABLED}"
_ROOM_OPEN = (
    f"SELECT count(*) + CASE WHEN {_ENABLED} THEN 0 ELSE {2**31} END "
    f"FROM jobs WHERE server_id = %(s)s AND job_status_id IN ({_ACTIVE})"
)
"""The slot count, as full when the server no longer takes claims (drained or removed)."""


def _assign_sql(guarded: bool, open_only: bool = False) -> str:
    return (
        f"WITH free AS (SELECT id FROM jobs WHERE id = %(id)s AND job_status_id = {_QUEUED} AND NOT cancel_requested"
        f"{_GUARD if guarded else ''}{_OPEN if open_only else ''} FOR UPDATE SKIP LOCKED), "
        "u AS (UPDATE jobs SET job_status_id = %(c)s, lease_holder = %(h)s, lease_expires_at = now() + %(l)s, "
        "  server_id = %(s)s, attempts = attempts + 1, error = NULL, updated_at = now() "
        f"  FROM free WHERE jobs.id = free.id RETURNING {job_columns('jobs')}), "
        "a AS (INSERT INTO job_attempts (job_id, attempt_no, server_id, job_status_id, lease_holder) "
        "  SELECT id, attempts, %(s)s, %(c)s, %(h)s FROM u), "
        "e AS (INSERT INTO job_events (job_id, job_event_kind_id, attempt_no, data) "
        "  SELECT id, %(k)s, attempts, CAST(%(d)s AS jsonb) FROM u RETURNING id) "
        f"SELECT {job_columns('u')}, "
        + NOTICE_SQL.format(job="u.id", status="'claimed'", owner="u.owner_id", event="'claimed'", event_id="e.id")
        + " FROM u, e"
    )


_ASSIGN, _ASSIGN_IF_ROOM, _ASSIGN_IF_OPEN = _assign_sql(False), _assign_sql(True), _assign_sql(True, True)


def _assign_params(
    job_id: int, holder: str, lease: timedelta, server_id: int, data: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "c": int(JobStatus.CLAIMED),
        "h": holder,
        "l": lease,
        "s": server_id,
        "id": job_id,
        "k": int(JobEventKind.CLAIMED),
        "d": json.dumps(dict(data)),
    }


def assign(
    conn: Connection, job_id: int, holder: str, lease: timedelta, server_id: int, data: Mapping[str, Any]
) -> JobRow | None:
    """Claim a QUEUED job for `holder` on `server_id` (no slot check): lock (SKIP LOCKED), CLAIMED, attempt row,
    event, NOTIFY. None when another claimer holds or took the job meanwhile."""
    rows = run(conn, _ASSIGN, _assign_params(job_id, holder, lease, server_id, data))
    return job_from_row(rows[0]) if rows else None


def assign_if_room(
    conn: Connection,
    job_id: int,
    holder: str,
    lease: timedelta,
    server_id: int,
    capacity: int,
    data: Mapping[str, Any],
    *,
    open_only: bool = False,
    commit: bool = False,
) -> tuple[bool, JobRow | None]:
    """`assign` under the server's advisory lock, only while it holds fewer than `capacity` jobs; one round trip.

    (whether the server had a free slot, the claimed job or None when it had none or the job was taken).
    `open_only`: a server no longer enabled (drained or removed, committed before these statements ran)
    counts as full, so a claim that starts after a drain never lands on it, without another round trip.
    `commit`: the transaction is committed in the same round trip, whatever the take found (the caller's
    transaction ends there; a later statement starts a new one).
    """
    params = _assign_params(job_id, holder, lease, server_id, data) | {"cap": capacity}
    where = {"s": server_id}
    room, assign = (_ROOM_OPEN, _ASSIGN_IF_OPEN) if open_only else (_ROOM, _ASSIGN_IF_ROOM)
    statements: list[Statement] = [(_LOCK, where), (room, where), (assign, params)]
    _, [(busy,)], rows, *_ = run_all(conn, [*statements, (COMMIT, None)] if commit else statements)
    return int(busy) < capacity, (job_from_row(rows[0]) if rows else None)


def refuse(conn: Connection, job_id: int, sentence: str, reasons: Sequence[str]) -> bool:
    """Refuse a QUEUED job before any GPU time: FAILED with every reason, owner told (link to the job)."""
    found = run(
        conn,
        "UPDATE jobs SET job_status_id = %(f)s, error = %(e)s, finished_at = now(), updated_at = now() "
        f"WHERE id = %(id)s AND job_status_id = {_QUEUED} RETURNING owner_id",
        {"f": int(JobStatus.FAILED), "e": sentence, "id": job_id},
    )
    if not found:
        return False
    data = {"refused": True, "reasons": list(reasons)}
    log_event(conn, job_id, JobEventKind.FAILED, status=JobStatus.FAILED, owner_id=int(found[0][0]), data=data)
    notify_owner(conn, job_id, JobStatus.FAILED, sentence, {**data, "link": f"x121://jobs/{int(job_id)}"})
    return True


def lost_on(conn: Connection, job_id: int) -> set[int]:
    """Servers an earlier attempt of this job was lost on (they go last for its next placement)."""
    rows = run(
        conn,
        "SELECT server_id FROM job_attempts WHERE job_id = %(j)s AND job_status_id = %(l)s",
        {"j": job_id, "l": int(JobStatus.LOST)},
    )
    return {int(r[0]) for r in rows}


# ---------------------------------------------------------------------------------------- the claim


def _adoptable_elsewhere(candidate: Candidate, capacity: Mapping[int, int]) -> bool:
    """Its earlier attempt's prompt may be on a server that is up but not one of this claimer's."""
    return candidate.last_server_up and candidate.job.server_id not in capacity


type Placed = tuple[
    list[Refused], list[tuple[JobRow, JobPlan, Placement]], dict[int, Placement], dict[int, dict[str, StoredFile]]
]


def _place(
    queued: Sequence[Candidate], plan: Callable[[JobRow], JobPlan], snaps: Sequence[ServerSnapshot], refuse: bool
) -> Placed:
    """(jobs refused, jobs some server can take with their plan and placement, every placement, input files)."""
    refused: list[Refused] = []
    queue: list[tuple[JobRow, JobPlan, Placement]] = []
    placements: dict[int, Placement] = {}
    files: dict[int, dict[str, StoredFile]] = {}
    for candidate in queued:
        job = candidate.job
        try:
            files[int(job.id)] = stored_files(job, candidate.found)
            planned = plan(job)
        except X121Error as exc:
            refused.append(Refused(job, exc.sentence, (exc.sentence,)))
            continue
        placement = choose_server(planned.needs, snaps)
        placements[int(job.id)] = placement
        if placement.outcome is PlacementOutcome.IMPOSSIBLE and refuse:
            refused.append(Refused(job, explain_refusal(placement), tuple(str(r) for r in placement.refusals)))
        elif placement.outcome is not PlacementOutcome.IMPOSSIBLE:
            queue.append((job, planned, placement))
    return refused, queue, placements, files


def claim_placed(
    conn: Connection,
    holder: str,
    lease: timedelta,
    servers: Sequence[ServerSnapshot],
    capacity: Mapping[int, int],
    plan: Callable[[JobRow], JobPlan],
    *,
    work_of: Callable[[int], float | None] | None = None,
    window: int = 8,
    refuse_impossible: bool = True,
    per_second: bool = False,
    taking: Callable[[JobRow, int, Mapping[str, StoredFile]], object] | None = None,
    commit_with_take: bool = False,
    follows_all: bool = True,
) -> PlacedClaim:
    """Claim the next job for one of `servers` (see the module docstring).

    `servers` are snapshots without slot counts (their `free_slots` is ignored); `capacity` is each
    one's running + queued slots. A job already on a server counts with its stored work estimate,
    else `work_of(job_id)` (None: unknown, taken as the candidates' median), to know when each
    server frees up. `refuse_impossible=False` (a dispatcher that drives only some of the servers)
    leaves jobs no server here can run in the queue. `per_second`: the servers' speeds are work per
    second (measured), so the time a held job has been running shortens what is left of it.
    `taking(job, server_id, files)` is called just before each attempt to take a job (the caller may
    start uploading its inputs meanwhile). `commit_with_take`: each take commits in its own round trip
    (one round trip less per claim; the refusals before it commit with it). `follows_all=False` (a
    dispatcher that drives only some servers): a job whose earlier attempt went to a server that is up
    but not one of `capacity`'s is left for a dispatcher that follows that server, since only such a
    one can ask it for the prompt and adopt it (`services/orchestrator/adoption.py`).
    """
    usable = {s.server_id: capacity.get(s.server_id, 0) for s in servers if s.enabled and s.status in DISPATCHABLE}
    holding, queued = look(conn, window, usable)
    snaps = [
        dataclasses.replace(s, free_slots=capacity.get(s.server_id, 0) - len(holding.get(s.server_id, [])))
        for s in servers
    ]
    if not queued or not any(s.free_slots > 0 and s.enabled for s in snaps):
        return PlacedClaim()
    mine = queued if follows_all else [c for c in queued if not _adoptable_elsewhere(c, capacity)]
    refused, queue, placements, files = _place(mine, plan, snaps, refuse_impossible)
    for item in refused:
        refuse(conn, item.job.id, item.sentence, item.reasons)
    done = tuple(refused)
    more = len(queued) >= window  # the queue may go on beyond what was read
    for job, planned, server_id in tries_in_order(queue, snaps, holding, work_of, more, per_second):
        ranked = rank_servers(planned.needs, snaps)
        ranked.sort(key=lambda s: s.server_id != server_id)
        if job.attempts:  # servers it was lost on go last
            lost = lost_on(conn, job.id)
            ranked.sort(key=lambda s: s.server_id in lost)
        for snap in ranked:
            data = {"server": snap.name, "holder": holder}
            if taking is not None:
                taking(job, snap.server_id, files[int(job.id)])
            room, claimed = assign_if_room(
                conn, job.id, holder, lease, snap.server_id, capacity[snap.server_id], data,
                open_only=True, commit=commit_with_take,
            )  # fmt: skip
            if claimed is not None:
                left = sum(max(0, s.free_slots) for s in snaps if s.enabled and s.status in DISPATCHABLE) > 1
                return PlacedClaim(claimed, snap.server_id, planned, done, placements, files[int(job.id)], left)
            if room:
                break  # another claimer has this job: try the next one
    return PlacedClaim(refused=done, placements=placements)
