"""Queries for takes (the version tree), seams, verdicts and final approvals. Never commits.

Final approval goes only through the SECURITY DEFINER function `x121_approve_final` (the
`approvals` table is read-only to every group), so PostgreSQL itself refuses a reviewer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.enums import JobStatus, SeamGrade, TakeReason, TakeStatus, Verdict
from x121_desktop.core.errors import NotFound
from x121_desktop.core.ids import FileId, JobId, SegmentId, TakeId, UserId
from x121_desktop.core.pipeline.values import SeamValue, TakeValue


@dataclass(frozen=True, slots=True)
class NewTake:
    segment_id: SegmentId
    reason: TakeReason
    status: TakeStatus
    parent_take_id: TakeId | None = None
    file_id: FileId | None = None
    start_file_id: FileId | None = None
    job_id: JobId | None = None
    seed: int | None = None
    cut_frame: int | None = None
    frame_count: int | None = None


@dataclass(frozen=True, slots=True)
class JobState:
    id: JobId
    status: JobStatus
    error: str | None
    owner_id: UserId | None = None


@dataclass(frozen=True, slots=True)
class OutputFile:
    node_id: str
    file_id: FileId
    rel_path: str


_TAKE_COLUMNS = (
    "t.id, t.segment_id, t.parent_take_id, t.take_reason_id, t.take_status_id, t.file_id, t.start_file_id, "
    "t.job_id, t.seed, t.cut_frame, t.frame_count, t.created_at"
)


def _take(r: Any) -> TakeValue:
    return TakeValue(
        TakeId(r.id),
        SegmentId(r.segment_id),
        None if r.parent_take_id is None else TakeId(r.parent_take_id),
        TakeReason(r.take_reason_id),
        TakeStatus(r.take_status_id),
        None if r.file_id is None else FileId(r.file_id),
        None if r.start_file_id is None else FileId(r.start_file_id),
        None if r.job_id is None else JobId(r.job_id),
        None if r.seed is None else int(r.seed),
        r.cut_frame,
        r.frame_count,
        r.created_at.isoformat(),
    )


def insert_take(conn: Connection, new: NewTake) -> TakeId:
    return TakeId(
        conn.execute(
            text(
                "INSERT INTO takes (segment_id, parent_take_id, take_reason_id, take_status_id, file_id, "
                "start_file_id, job_id, seed, cut_frame, frame_count) VALUES (:seg, :parent, :reason, :status, "
                ":file, :start, :job, :seed, :cut, :count) RETURNING id"
            ),
            {
                "seg": new.segment_id,
                "parent": new.parent_take_id,
                "reason": int(new.reason),
                "status": int(new.status),
                "file": new.file_id,
                "start": new.start_file_id,
                "job": new.job_id,
                "seed": new.seed,
                "cut": new.cut_frame,
                "count": new.frame_count,
            },
        ).scalar_one()
    )


def get_take(conn: Connection, take_id: int) -> TakeValue:
    row = conn.execute(text(f"SELECT {_TAKE_COLUMNS} FROM takes t WHERE t.id = :id"), {"id": take_id}).one_or_none()
    if row is None:
        raise NotFound(f"Take {take_id} does not exist", "See the takes with `x121 scene status CHARACTER/NAME`")
    return _take(row)


def takes_of_scene(conn: Connection, scene_id: int) -> list[TakeValue]:
    rows = conn.execute(
        text(
            f"SELECT {_TAKE_COLUMNS} FROM takes t JOIN segments s ON s.id = t.segment_id "
            "WHERE s.scene_id = :s ORDER BY s.position, t.id"
        ),
        {"s": scene_id},
    )
    return [_take(r) for r in rows]


def scene_of_take(conn: Connection, take_id: int) -> tuple[int, int]:
    """(scene id, segment position) of a take."""
    row = conn.execute(
        text("SELECT s.scene_id, s.position FROM takes t JOIN segments s ON s.id = t.segment_id WHERE t.id = :t"),
        {"t": take_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"Take {take_id} does not exist", "See the takes with `x121 scene status CHARACTER/NAME`")
    return int(row.scene_id), int(row.position)


def update_take(conn: Connection, take_id: int, **values: object) -> None:
    """Set columns of one take (names are fixed by the callers in this package's services)."""
    allowed = {"take_status_id", "file_id", "job_id", "cut_frame", "frame_count", "likeness_distance"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"cannot update takes.{', '.join(sorted(unknown))}")
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    conn.execute(text(f"UPDATE takes SET {assignments} WHERE id = :id"), {**values, "id": take_id})


def set_take_status(conn: Connection, take_id: int, status: TakeStatus) -> None:
    update_take(conn, take_id, take_status_id=int(status))


def job_of_take(conn: Connection, take_id: int) -> JobState | None:
    """The newest job rendering into the take (jobs.take_id), if any was submitted."""
    row = conn.execute(
        text("SELECT id, job_status_id, error, owner_id FROM jobs WHERE take_id = :t ORDER BY id DESC LIMIT 1"),
        {"t": take_id},
    ).one_or_none()
    if row is None:
        return None
    return JobState(JobId(row.id), JobStatus(row.job_status_id), row.error, UserId(row.owner_id))


def outputs_of_job(conn: Connection, job_id: int) -> list[OutputFile]:
    rows = conn.execute(
        text(
            "SELECT o.node_id, o.file_id, f.rel_path FROM job_outputs o JOIN files f ON f.id = o.file_id "
            "WHERE o.job_id = :j ORDER BY o.file_id"
        ),
        {"j": job_id},
    )
    return [OutputFile(str(r.node_id), FileId(r.file_id), r.rel_path) for r in rows]


def file_path(conn: Connection, file_id: int) -> str:
    row = conn.execute(text("SELECT rel_path FROM files WHERE id = :id"), {"id": file_id}).one_or_none()
    if row is None:
        raise NotFound(f"File {file_id} is not in the studio database", "Check the media store")
    return str(row.rel_path)


def file_hashes(conn: Connection, file_ids: Sequence[int]) -> dict[int, str]:
    rows = conn.execute(text("SELECT id, sha256 FROM files WHERE id = ANY(:ids)"), {"ids": list(file_ids)})
    return {int(r.id): str(r.sha256) for r in rows}


# ------------------------------------------------------------------ seams


def insert_seam(
    conn: Connection,
    scene_id: int,
    left: int,
    right: int,
    grade: SeamGrade,
    score: float,
    metrics: Mapping[str, Any],
    remedy: Mapping[str, Any] | None,
) -> int | None:
    """Record a measured seam; None when this pair was already measured (another director won)."""
    row = conn.execute(
        text(
            "INSERT INTO seams (scene_id, left_take_id, right_take_id, seam_grade_id, score, metrics, remedy) "
            "VALUES (:s, :l, :r, :g, :score, CAST(:m AS jsonb), CAST(:rem AS jsonb)) "
            "ON CONFLICT (left_take_id, right_take_id) DO NOTHING RETURNING id"
        ),
        {
            "s": scene_id,
            "l": left,
            "r": right,
            "g": int(grade),
            "score": score,
            "m": json.dumps(dict(metrics), default=str),
            "rem": None if remedy is None else json.dumps(dict(remedy), default=str),
        },
    ).first()
    return None if row is None else int(row[0])


def remeasure_seam(conn: Connection, seam_id: int, grade: SeamGrade, score: float, metrics: Mapping[str, Any]) -> None:
    """Replace a measured seam's grade, score and metrics (its remedy, the heal's record, stays)."""
    conn.execute(
        text(
            "UPDATE seams SET seam_grade_id = :g, score = :score, metrics = CAST(:m AS jsonb), measured_at = now() "
            "WHERE id = :id"
        ),
        {"g": int(grade), "score": score, "m": json.dumps(dict(metrics), default=str), "id": seam_id},
    )


def seams_of_scene(conn: Connection, scene_id: int) -> list[SeamValue]:
    rows = conn.execute(
        text(
            "SELECT id, left_take_id, right_take_id, seam_grade_id, score, metrics, remedy FROM seams "
            "WHERE scene_id = :s ORDER BY id"
        ),
        {"s": scene_id},
    )
    return [
        SeamValue(
            int(r.id),
            TakeId(r.left_take_id),
            TakeId(r.right_take_id),
            SeamGrade(r.seam_grade_id),
            float(r.score),
            dict(r.metrics or {}),
            None if r.remedy is None else dict(r.remedy),
        )
        for r in rows
    ]


# ------------------------------------------------------------------ review


def set_verdict(conn: Connection, take_id: int, verdict: Verdict, note: str) -> int:
    """The caller's verdict on a take (one per reviewer; a new one replaces theirs)."""
    return int(
        conn.execute(
            text(
                "INSERT INTO verdicts (take_id, verdict_id, note) VALUES (:t, :v, :n) "
                "ON CONFLICT (take_id, reviewer_id) DO UPDATE SET verdict_id = EXCLUDED.verdict_id, "
                "note = EXCLUDED.note, created_at = now() RETURNING id"
            ),
            {"t": take_id, "v": int(verdict), "n": note},
        ).scalar_one()
    )


def approve_final(conn: Connection, take_id: int, note: str) -> int:
    """Final approval through `x121_approve_final` (PostgreSQL refuses non-creators)."""
    return int(conn.execute(text("SELECT x121_approve_final(:t, :n)"), {"t": take_id, "n": note}).scalar_one())


def approved_takes(conn: Connection, take_ids: Sequence[int]) -> dict[int, str]:
    """take id → approver's name, for the takes among `take_ids` with a final approval."""
    rows = conn.execute(
        text(
            "SELECT a.take_id, coalesce(nullif(u.display_name, ''), u.role_name) AS who FROM approvals a "
            "JOIN users u ON u.id = a.approved_by WHERE a.take_id = ANY(:ids)"
        ),
        {"ids": list(take_ids)},
    )
    return {int(r.take_id): str(r.who) for r in rows}


def verdicts_of(conn: Connection, take_ids: Sequence[int]) -> dict[int, list[tuple[str, Verdict, str]]]:
    rows = conn.execute(
        text(
            "SELECT v.take_id, u.role_name, v.verdict_id, v.note FROM verdicts v JOIN users u ON u.id = v.reviewer_id "
            "WHERE v.take_id = ANY(:ids) ORDER BY v.id"
        ),
        {"ids": list(take_ids)},
    )
    out: dict[int, list[tuple[str, Verdict, str]]] = {}
    for r in rows:
        out.setdefault(int(r.take_id), []).append((str(r.role_name), Verdict(r.verdict_id), str(r.note)))
    return out
