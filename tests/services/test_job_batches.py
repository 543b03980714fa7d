"""Batches through JobQueueService on a real database: each job's work estimate, and the claim order of a batch.

`submit_batch` queues several jobs in one transaction (one `created_at`): the queue claims them
largest estimated work first; a job submitted afterwards waits for the whole batch, however large.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from tests.comfy.conftest import astronaut_png
from tests.services.test_job_queue_service import db_url, studio
from x121_desktop.db.repositories import jobs as repo
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.queue import JobQueueService, SubmitRequest

__all__ = ["db_url", "studio"]  # fixtures used by this module

API = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "seed.png"}},
    "2": {
        "class_type": "WanImageToVideo",
        "inputs": {"width": 832, "height": 480, "length": 81, "start_image": ["1", 0]},
    },
}
MANIFEST = {
    "format": "x121.workflow-manifest",
    "version": 1,
    "workflow": "segments.api.json",
    "parameters": {
        "seed_image_a": {"type": "image", "required": True, "targets": [{"node": "1", "input": "image"}]},
        "length": {"type": "int", "default": 81, "targets": [{"node": "2", "input": "length"}]},
    },
}


def _segments_workflow(studio: Studio) -> None:
    with studio.engine.begin() as conn:
        wid = conn.execute(
            text("INSERT INTO workflows (name) VALUES ('segments') ON CONFLICT DO NOTHING RETURNING id")
        ).scalar()
        if wid is not None:
            conn.execute(
                text(
                    "INSERT INTO workflow_versions (workflow_id, version_no, content_hash, api_json, manifest) "
                    "VALUES (:w, 1, :h, CAST(:a AS jsonb), CAST(:m AS jsonb))"
                ),
                {"w": wid, "h": "5e" * 32, "a": json.dumps(API), "m": json.dumps(MANIFEST)},
            )


def test_a_batch_is_one_submission_claimed_largest_first_and_later_jobs_wait_for_it(
    studio: Studio, tmp_path: Path
) -> None:
    _segments_workflow(studio)
    seed = tmp_path / "seed.png"
    seed.write_bytes(astronaut_png())
    service = JobQueueService(studio)

    def segment(length: int) -> SubmitRequest:
        return SubmitRequest("segments", {"seed_image_a": str(seed), "length": str(length)}, use_cache=False)

    batch = asyncio.run(service.submit_batch([segment(49), segment(121), segment(81)]))
    later = asyncio.run(service.submit(segment(200))).job
    with studio.engine.begin() as conn:
        rows = {j.id: j for j in repo.list_jobs(conn)}
        claimed = [c.id for c in repo.claim(conn, "test:batches", timedelta(seconds=30), limit=4)]
    assert [rows[r.job.id].work_estimate for r in batch] == [832 * 480 * n for n in (49, 121, 81)]
    assert len({rows[r.job.id].created_at for r in batch}) == 1  # one transaction, one batch
    assert rows[later.id].created_at > rows[batch[0].job.id].created_at
    assert claimed == [batch[1].job.id, batch[2].job.id, batch[0].job.id, later.id]
