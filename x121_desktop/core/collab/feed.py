"""One line of text per feed item (the Pulse panel, `x121 activity`), from the item's kind and data."""

from __future__ import annotations

from x121_desktop.core.collab.values import ActivityItem
from x121_desktop.core.enums import ActivityKind


def _where(item: ActivityItem) -> str:
    data = item.data
    if "segment_number" in data:
        return f"segment {data['segment_number']} of scene #{data.get('scene_id', '?')}"
    if "workflow" in data:
        return f"workflow {data['workflow']}"
    if item.take_id is not None:
        return f"take #{item.take_id}"
    return ""


def describe(item: ActivityItem) -> str:
    data = item.data
    who = item.actor_name
    where = _where(item)
    kind = item.kind
    if kind is ActivityKind.LOCK_TAKEN:
        took = data.get("took_over_from")
        extra = f" (took over the expired lock of {took})" if took else ""
        return f"{who} locked {where} on {data.get('machine', '?')}{extra}"
    if kind is ActivityKind.LOCK_RELEASED:
        return f"{who} released {where}"
    if kind is ActivityKind.LOCK_BROKEN:
        return f"{who} broke {data.get('previous_holder', '?')}'s lock on {where}: {data.get('reason', '')}"
    if kind is ActivityKind.COMMENT_ADDED:
        body = str(data.get("body", ""))
        short = body if len(body) <= 80 else body[:77] + "..."
        return f"{who} commented on {where or 'the project'}: {short}"
    if kind in (ActivityKind.JOB_SUCCEEDED, ActivityKind.JOB_FAILED):
        message = data.get("message") or ""
        return f"job #{item.job_id} {data.get('status', kind.code)}" + (f": {message}" if message else "")
    return f"{who}: {kind.label}" + (f" ({where})" if where else "")
