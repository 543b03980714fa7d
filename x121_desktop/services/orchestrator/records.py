"""What a runner needs beside the queue row: the job's workflow and input files, and its API prompt.

No SQL lives here: the queue path (claim for a server, state changes, events, outputs, timings,
cost, leases) is in the repositories `db.repositories.jobs` / `job_dispatch` / `job_runs`. This
module turns a claimed job into the prompt that is POSTed, and wraps two repository calls the
runner makes at every ending.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from x121_desktop.comfy.templates import Manifest, apply, parse_manifest
from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.db.repositories import job_events, job_leases, job_runs
from x121_desktop.db.repositories.job_records import LeaseLost, StoredFile
from x121_desktop.services.orchestrator.staging import upload_one

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from x121_desktop.comfy.client import ComfyClient
    from x121_desktop.core.ids import JobId
    from x121_desktop.db.repositories.job_records import JobRow
    from x121_desktop.services.storage import MediaStore

UPLOAD_PLACEHOLDER = "x121-upload-pending.png"


@dataclass(frozen=True, slots=True)
class Workflow:
    """A job's workflow version: API prompt and parsed manifest."""

    api_json: dict[str, Any]
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class Resolved:
    """What the claim read for the runner: the workflow (None: inline prompt) and the input files."""

    workflow: Workflow | None
    files: Mapping[str, StoredFile]


def load_workflow(conn: Connection, job: JobRow) -> Workflow | None:
    """The workflow version a job renders, or None for a job carrying its prompt inline."""
    if job.workflow_version_id is None or "prompt" in job.inputs:
        return None
    api_json, manifest = job_runs.workflow_version(conn, job.workflow_version_id)
    return Workflow(api_json, parse_manifest(manifest, f"workflow version {job.workflow_version_id}"))


def render_prompt(job: JobRow, workflow: Workflow | None, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The API prompt of a job: inline `inputs.prompt`, or its workflow version with `inputs.params` applied.

    `inputs.files` maps a manifest parameter (or `node.input` for inline prompts) to a stored file id;
    `names` gives the names the server returned for those uploads (placeholders when None).
    """
    return render(job.inputs, workflow, names)


def render(
    inputs: Mapping[str, Any], workflow: Workflow | None, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`render_prompt` of a job's `inputs` document (before the job exists, e.g. to estimate its work)."""
    files: dict[str, Any] = dict(inputs.get("files") or {})
    uploaded = dict(names) if names is not None else dict.fromkeys(files, UPLOAD_PLACEHOLDER)
    if workflow is not None:
        params = {**dict(inputs.get("params") or {}), **uploaded}
        return dict(apply(workflow.manifest, workflow.api_json, params))
    prompt: dict[str, Any] = {k: {**v, "inputs": dict(v.get("inputs", {}))} for k, v in inputs["prompt"].items()}
    for target, name in uploaded.items():
        node_id, _, input_name = target.partition(".")
        prompt[node_id]["inputs"][input_name] = name
    return prompt


def upload_inputs(client: ComfyClient, store: MediaStore, files: Mapping[str, StoredFile]) -> dict[str, str]:
    """Upload a job's stored input files (blocking; io pool): upload target → the name the server gave it.

    Named by content (`x121_<sha256 prefix><suffix>`), so a file already on the server is not stored twice.
    A retry's upload (a first attempt's goes through the dispatcher's `staging.StagedInputs`).
    """
    return {target: upload_one(client, store, stored) for target, stored in files.items()}


def move(
    conn: Connection,
    job_id: JobId,
    holder: str,
    to: JobStatus,
    kind: JobEventKind,
    data: dict[str, Any] | None = None,
    *,
    error: str | None = None,
) -> bool:
    """The queue's checked transition (event + NOTIFY in one statement); False when the lease is gone."""
    try:
        job_leases.transition(conn, job_id, holder, to, kind, data, error)
    except LeaseLost:
        return False
    return True


def tell_owner(conn: Connection, job_id: JobId, status: JobStatus, message: str, data: dict[str, Any]) -> int:
    """Feed event + notification for the job's owner, with a link to the job."""
    return job_events.notify_owner(conn, job_id, status, message, {**data, "link": f"x121://jobs/{int(job_id)}"})


def progress(conn: Connection, job_id: JobId, holder: str, data: dict[str, Any]) -> None:
    """A progress event (no state change); a lost lease is left for the next state change to report."""
    with contextlib.suppress(LeaseLost):
        job_leases.append_event(conn, job_id, holder, JobEventKind.PROGRESS, data)


@dataclass
class RunTiming:
    """When the run and each node started and ended, as the runner saw the messages (monotonic)."""

    started_ms: int | None = None
    finished_ms: int | None = None
    node_started: dict[str, float] = field(default_factory=dict)
    node_seconds: dict[str, float] = field(default_factory=dict)
    current: str | None = None

    def node(self, node_id: str | None) -> None:
        now = time.monotonic()
        if self.current is not None:
            self.node_seconds[self.current] = now - self.node_started[self.current]
        self.current = node_id
        if node_id is not None:
            self.node_started[node_id] = now
