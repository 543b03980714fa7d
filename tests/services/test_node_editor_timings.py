"""Average node times across runs and servers, read from node_timings on the real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import JobKind, JobStatus, ServerStatus
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.node_editor_timings import NodeTimingsService
from x121_desktop.services.runtime import Runtime

__all__ = ["secure_studio"]


@pytest.fixture
def timings(secure_studio: SecureStudio) -> Iterator[NodeTimingsService]:
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("creator")), pool_size=1)
    yield NodeTimingsService(session_factory(engine), runtime)
    runtime.shutdown()
    engine.dispose()


def test_average_per_node_type_across_runs_and_servers(
    secure_studio: SecureStudio, timings: NodeTimingsService
) -> None:
    tag = uuid.uuid4().hex[:8]
    sampler, saver = f"KSampler-{tag}", f"SaveVideo-{tag}"
    with secure_studio.connect(SUPERUSER) as conn:
        servers = [
            conn.execute(
                "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES (%s, %s, %s) RETURNING id",
                (f"gpu-{tag}-{n}", f"http://gpu-{tag}-{n}:8188", ServerStatus.ONLINE),
            ).fetchone()[0]  # type: ignore[index]  # RETURNING always gives a row
            for n in (1, 2)
        ]
        for server, seconds in ((servers[0], (10.0, 1.0)), (servers[1], (20.0, 3.0)), (servers[1], (30.0, 2.0))):
            job = conn.execute(
                "INSERT INTO jobs (prompt_id, owner_id, job_kind_id, job_status_id) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (uuid.uuid4(), secure_studio.user_ids["creator"], JobKind.GENERATE, JobStatus.SUCCEEDED),
            ).fetchone()[0]  # type: ignore[index]  # RETURNING always gives a row
            for (node, cls), secs in zip((("3", sampler), ("9", saver)), seconds, strict=True):
                conn.execute(
                    "INSERT INTO node_timings (job_id, node_id, class_type, server_id, seconds) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (job, node, cls, server, secs),
                )
    found = asyncio.run(timings.averages([sampler, saver, f"Never-{tag}"]))
    assert found == {sampler: pytest.approx(20.0), saver: pytest.approx(2.0)}
    assert asyncio.run(timings.averages([])) == {}
