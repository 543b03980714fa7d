"""A job whose inputs cannot make a ComfyUI prompt is refused before any GPU time; it never stops a dispatcher.

Any creator's client (or psql) can insert a job, and every dispatcher of the studio looks at the first queued
jobs on each claim: an inputs document the prompt renderer cannot read (no prompt and no workflow, a node that
is not an object, a file target naming a node the prompt lacks) used to raise out of the claim and end every
dispatcher that looked at it. Now the claim refuses that job with a sentence naming what is wrong, and the
jobs behind it run.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_runner import (
    db_url,
    executions,
    insert_job,
    job_state,
    quick_prompt,
    register_server,
    run_dispatcher,
    server,
    store_file,
    studio,
    tiny_png,
)
from x121_desktop.core.enums import JobKind, JobStatus
from x121_desktop.services.bootstrap import Studio

__all__ = ["db_url", "server", "studio"]


def _raw_job(engine: Engine, inputs: object) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO jobs (prompt_id, job_kind_id, job_status_id, inputs) "
                    "VALUES (:p, :k, :s, CAST(:i AS jsonb)) RETURNING id"
                ),
                {"p": uuid.uuid4(), "k": int(JobKind.GENERATE), "s": int(JobStatus.QUEUED), "i": json.dumps(inputs)},
            ).scalar_one()
        )


def test_jobs_whose_inputs_make_no_prompt_are_refused_and_the_rest_run(studio: Studio, server: ComfyTestServer) -> None:
    register_server(studio.engine, "a", server.url)
    no_prompt = _raw_job(studio.engine, {"files": {}})
    not_a_node = _raw_job(studio.engine, {"prompt": {"1": "LoadImage"}, "files": {}})
    not_an_object = _raw_job(studio.engine, ["LoadImage"])
    files_a_list = _raw_job(studio.engine, {"prompt": quick_prompt("y"), "files": [1]})
    stored = store_file(studio.engine, studio.paths.media_root, tiny_png(5))
    wrong_target = _raw_job(studio.engine, {"prompt": quick_prompt("x"), "files": {"9.image": stored}})
    good = insert_job(studio.engine, quick_prompt("after"))
    dispatcher = run_dispatcher(studio, once=True)
    assert job_state(studio.engine, good)[:2] == (JobStatus.SUCCEEDED, 1)
    assert len(executions(server)) == 1
    errors = {}
    for job in (no_prompt, not_a_node, wrong_target, not_an_object, files_a_list):
        status, attempts, error = job_state(studio.engine, job)
        assert (status, attempts) == (JobStatus.FAILED, 0), job
        errors[job] = error or ""
    prefix = "Job {}'s inputs cannot make a ComfyUI prompt ("
    assert errors[no_prompt].startswith(prefix.format(no_prompt)), errors[no_prompt]
    assert "KeyError: 'prompt'" in errors[no_prompt]
    assert errors[not_a_node].startswith(prefix.format(not_a_node)), errors[not_a_node]
    assert errors[wrong_target].startswith(prefix.format(wrong_target)), errors[wrong_target]
    assert "KeyError: '9'" in errors[wrong_target]
    assert errors[not_an_object].startswith(prefix.format(not_an_object)), errors[not_an_object]
    assert all(
        e.endswith("). Submit it again with a valid prompt or workflow.")
        for j, e in errors.items()
        if j != files_a_list
    )
    assert errors[files_a_list] == (
        f"Job {files_a_list}'s inputs name their files as list, not as an object of target → file id. "
        "Submit it again with the files of the media store."
    )
    assert dispatcher.stats.refused == 5
