"""A job event as the Jobs panel's log shows it: one sentence built from the event's kind and data.

The data documents are written by the queue and the runner (`db.repositories.job_*`,
`services.orchestrator.runner`); a key this module does not know is shown as `key=value`, so
nothing recorded is hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from x121_desktop.core.enums import JobEventKind

_SHOWN = frozenset(
    {
        "server",
        "holder",
        "node",
        "value",
        "max",
        "node_id",
        "node_type",
        "exception_type",
        "exception_message",
        "error",
        "outputs",
        "gpu_seconds",
        "files",
        "reason",
        "will_redispatch",
        "redispatched",
        "from_server",
        "message",
        "by_user",
        "why",
        "was",
        "released_by",
        "link",
        "lost",
        "queue_paused",
        "queue_resumed",
        "at_submission",
    }
)


@dataclass(frozen=True, slots=True)
class EventLine:
    id: int
    at: datetime
    kind: JobEventKind
    attempt_no: int | None
    text: str
    """One sentence: what happened, with the node, exception, server or files where the event has them."""
    failure: bool
    """A failure or loss the owner must see."""


def _failure_text(data: Mapping[str, Any]) -> str:
    node, node_type = data.get("node_id"), data.get("node_type")
    kind, message = data.get("exception_type"), data.get("exception_message")
    if node is not None or kind is not None:
        where = f"node {node}" + (f" ({node_type})" if node_type else "")
        return f"Failed at {where}: {kind or 'error'}: {message or ''}".rstrip(": ")
    return f"Failed: {data.get('error') or 'no reason recorded'}"


def _outputs_text(data: Mapping[str, Any]) -> str:
    outputs = data.get("outputs")
    parts = []
    if isinstance(outputs, list):
        parts.append(f"{len(outputs)} output file(s)")
    if data.get("gpu_seconds") is not None:
        parts.append(f"{float(data['gpu_seconds']):.2f} GPU-s")
    if data.get("cache_hit"):
        parts.append(f"reused from job {data.get('source_job_id')} (warm-start cache)")
    return "Succeeded" + (f": {', '.join(parts)}" if parts else "")


def _hold_text(kind: JobEventKind, data: Mapping[str, Any], names: Mapping[int, str]) -> str:
    by = data.get("by_user")
    who = f" by {names.get(by, f'user {by}')}" if isinstance(by, int) else ""
    if kind is JobEventKind.HELD:
        if data.get("at_submission"):
            return "Held when it was submitted: its owner's queue is paused"
        if data.get("queue_paused"):
            return f"Put on hold{who}: its owner paused their queue"
        return f"Put on hold{who}: no dispatcher takes it until it is released"
    if data.get("queue_resumed"):
        return f"Released from hold{who}: its owner resumed their queue; back in its place in the queue"
    return f"Released from hold{who}: back in its place in the queue"


def _main_text(kind: JobEventKind, data: Mapping[str, Any], names: Mapping[int, str]) -> str:
    on = f" on {data['server']}" if data.get("server") else ""
    if kind in (JobEventKind.HELD, JobEventKind.RELEASED):
        return _hold_text(kind, data, names)
    if kind is JobEventKind.PROGRESS:
        return f"Progress{on}: node {data.get('node')} step {data.get('value')}/{data.get('max')}"
    if kind is JobEventKind.FAILED:
        return _failure_text(data)
    if kind is JobEventKind.SUCCEEDED:
        return _outputs_text(data) + on
    if kind is JobEventKind.LOST:
        again = data.get("will_redispatch")
        tail = "" if again is None else ("; it will be re-dispatched" if again else "; it will not be re-dispatched")
        return f"Lost{on}: {data.get('reason') or data.get('holder') or 'no reason recorded'}{tail}"
    if kind is JobEventKind.REQUEUED:
        if data.get("redispatched"):
            return f"Queued again for another server (was on {data.get('from_server')}, same prompt id)"
        return f"Queued again: {data.get('reason') or 'released'}"
    if kind is JobEventKind.CLAIMED:
        return f"Claimed by {data.get('holder', 'a dispatcher')}{on}"
    if kind is JobEventKind.OUTPUT_STORED:
        return f"Downloading {data.get('files', '?')} output file(s)"
    if kind is JobEventKind.CANCELLED and data.get("why"):
        return f"Cancelled ({data['why']})"
    if kind is JobEventKind.LOG and data.get("message"):
        return str(data["message"])
    return kind.label + on


def describe_event(
    event_id: int,
    kind: JobEventKind,
    at: datetime,
    attempt_no: int | None,
    data: Mapping[str, Any],
    names: Mapping[int, str] | None = None,
) -> EventLine:
    """`names`: user id → display name, for the people events name (`by_user`)."""
    text = _main_text(kind, data, names or {})
    extra = [f"{k}={v}" for k, v in sorted(data.items()) if k not in _SHOWN and k not in ("cache_hit", "source_job_id")]
    if kind is JobEventKind.LOG:
        extra = [e for e in extra if not e.startswith(("retry_of=", "retried_as=", "priority="))]
    if extra:
        text += " (" + ", ".join(extra) + ")"
    failure = kind in (JobEventKind.FAILED, JobEventKind.LOST, JobEventKind.LEASE_EXPIRED)
    return EventLine(event_id, at, kind, attempt_no, text, failure)
