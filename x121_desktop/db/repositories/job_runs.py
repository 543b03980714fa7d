"""What running a claimed job reads and leaves behind, besides state changes. Plain functions; never commits.

Reads: the workflow version a job renders, the servers earlier
attempts went to. Writes (holder only, like every other write to a held job): moving the job to
the server its prompt was found on, per-node timings, GPU cost, and the lease heartbeat that also
says which held jobs were asked to cancel. Outputs and events go through `job_leases`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from x121_desktop.core.errors import NotFound
from x121_desktop.core.ids import JobId
from x121_desktop.db.repositories.job_dispatch import run
from x121_desktop.db.repositories.job_leases import OURS


def workflow_version(conn: Connection, version_id: int) -> tuple[dict[str, Any], Any]:
    """(API prompt, manifest document) of a workflow version."""
    rows = run(conn, "SELECT api_json, manifest FROM workflow_versions WHERE id = %(v)s", {"v": version_id})
    if not rows:
        raise NotFound(f"Workflow version {version_id} does not exist", "Submit the job again with a saved workflow.")
    return dict(rows[0][0]), rows[0][1]


def attempt_servers(conn: Connection, job_id: int) -> list[int]:
    """Servers earlier attempts of this job went to, newest first, each once."""
    rows = conn.execute(
        text("SELECT server_id FROM job_attempts WHERE job_id = :j ORDER BY attempt_no DESC"), {"j": job_id}
    ).all()
    return list(dict.fromkeys(int(r[0]) for r in rows))


def move_to_server(conn: Connection, job_id: int, holder: str, server_id: int) -> bool:
    """The job's prompt was found on another server than the one it was claimed for: it runs there."""
    rows = run(
        conn,
        "WITH j AS (UPDATE jobs SET server_id = %(s)s, updated_at = now() "
        f"WHERE id = %(j)s AND lease_holder = %(h)s AND {OURS} RETURNING id, attempts) "
        "UPDATE job_attempts a SET server_id = %(s)s FROM j WHERE a.job_id = j.id AND a.attempt_no = j.attempts "
        "RETURNING a.job_id",
        {"s": server_id, "j": job_id, "h": holder},
    )
    return bool(rows)


def renew(conn: Connection, holder: str, job_ids: Sequence[int], lease: timedelta) -> tuple[set[JobId], set[JobId]]:
    """Extend `holder`'s leases on these jobs; returns (still held, cancel requested among them)."""
    if not job_ids:
        return set(), set()
    rows = run(
        conn,
        f"UPDATE jobs SET lease_expires_at = now() + %(l)s WHERE id = ANY(%(ids)s) AND lease_holder = %(h)s AND {OURS} "
        "RETURNING id, cancel_requested",
        {"l": lease, "ids": [int(j) for j in job_ids], "h": holder},
    )
    return {JobId(r[0]) for r in rows}, {JobId(r[0]) for r in rows if r[1]}


def record_node_timings(
    conn: Connection, job_id: int, server_id: int, timings: Sequence[tuple[str, str, float]]
) -> None:
    """(node id, class type, seconds) per executed node, on the server that ran them."""
    if timings:
        conn.execute(
            text(
                "INSERT INTO node_timings (job_id, node_id, class_type, server_id, seconds) "
                "VALUES (:job, :node, :cls, :server, :seconds)"
            ),
            [{"job": job_id, "node": n, "cls": c, "server": server_id, "seconds": max(0.0, s)} for n, c, s in timings],
        )


def record_cost(
    conn: Connection, job_id: int, server_id: int, gpu_seconds: float, rate_per_hour: Decimal | None = None
) -> Decimal:
    """Bill GPU time at `rate_per_hour` (default: the server's registered rate, 0 if none); returns the cost."""
    if rate_per_hour is None:
        found = conn.execute(text("SELECT rate_per_hour FROM comfy_servers WHERE id = :s"), {"s": server_id}).scalar()
        rate_per_hour = Decimal(found) if found is not None else Decimal(0)
    seconds = max(0.0, gpu_seconds)
    cost = (Decimal(str(seconds)) * rate_per_hour / 3600).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    conn.execute(
        text(
            "INSERT INTO cost_records (job_id, server_id, gpu_seconds, rate_per_hour, cost) "
            "VALUES (:job, :server, :secs, :rate, :cost)"
        ),
        {"job": job_id, "server": server_id, "secs": seconds, "rate": rate_per_hour, "cost": cost},
    )
    return cost


def mean_job_seconds(conn: Connection, last: int = 50) -> Mapping[int, float]:
    """Server id → mean seconds per job over its last `last` timed jobs (its measured speed)."""
    rows = conn.execute(
        text(
            "SELECT server_id, avg(total) AS s FROM ("
            "  SELECT server_id, job_id, sum(seconds) AS total,"
            "         row_number() OVER (PARTITION BY server_id ORDER BY max(id) DESC) AS rn"
            "  FROM node_timings GROUP BY server_id, job_id) t WHERE rn <= :last GROUP BY server_id"
        ),
        {"last": last},
    ).all()
    return {int(r[0]): float(r[1]) for r in rows}


def measured_throughput(conn: Connection, last: int = 20) -> Mapping[int, float]:
    """Server id → work per GPU second (pixel-frames/s) over its last `last` billed jobs with a work estimate."""
    rows = run(
        conn,
        "SELECT s.id, sum(j.work_estimate) / sum(c.gpu_seconds) FROM comfy_servers s CROSS JOIN LATERAL ("
        "  SELECT c.job_id, c.gpu_seconds FROM cost_records c JOIN jobs j ON j.id = c.job_id"
        "  WHERE c.server_id = s.id AND c.gpu_seconds > 0 AND j.work_estimate IS NOT NULL"
        f"  ORDER BY c.id DESC LIMIT {int(last)}) c JOIN jobs j ON j.id = c.job_id GROUP BY s.id",
    )
    return {int(r[0]): float(r[1]) for r in rows if r[1] is not None and float(r[1]) > 0}
