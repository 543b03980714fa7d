"""The job state machine over `JobStatus` (the `job_status` lookup table).

```
QUEUED ──► CLAIMED ──► UPLOADING ──► SUBMITTED ──► RUNNING ──► DOWNLOADING ──► SUCCEEDED
  │          │  ▲          │  ▲         │  │          │             │
  │          │  └── release before submit ┘  └─────────(outputs known from /history)
  │          └──► SUCCEEDED (warm-start cache hit: no GPU time)
  └──► FAILED (refused before any GPU time: no capable server, invalid workflow)

any ACTIVE ──► LOST ──► QUEUED (re-dispatch with the same prompt_id, only if the job's policy allows)
                  └───► FAILED
any non-terminal ──► CANCELLED            any ACTIVE ──► FAILED

QUEUED ◄──► HELD (on hold: its owner or an admin holds and releases it; a paused queue holds it)
```

Rules worth stating because they are easy to get wrong:
- A job that reached ComfyUI (SUBMITTED or later) never goes straight back to QUEUED: it first
  becomes LOST (a visible event the owner is told about), and only then QUEUED where the policy
  allows re-dispatch (`after_lost`). An execution error (RUNNING → FAILED) is never retried.
- Before submission (CLAIMED, UPLOADING) a dispatcher may release its claim (→ QUEUED): nothing has
  reached a GPU, so handing the job back is not a retry.
- No state goes to itself; progress and per-node timings are events, not transitions.
- HELD is a queued job no dispatcher may claim. It keeps everything that orders the queue (id,
  `created_at`, work estimate, priority), so when it is released it takes the place in its batch
  and fair-share turn it had; it goes back only to QUEUED (or ends CANCELLED).
- `ACTIVE` are the states that hold a server slot (the server was chosen at claim time); LOST has
  already given its slot back. `TERMINAL` states have no way out.
"""

from __future__ import annotations

from collections.abc import Mapping

from x121_desktop.core.enums import JobStatus
from x121_desktop.core.errors import X121Error

QUEUED = JobStatus.QUEUED
CLAIMED = JobStatus.CLAIMED
UPLOADING = JobStatus.UPLOADING
SUBMITTED = JobStatus.SUBMITTED
RUNNING = JobStatus.RUNNING
DOWNLOADING = JobStatus.DOWNLOADING
SUCCEEDED = JobStatus.SUCCEEDED
FAILED = JobStatus.FAILED
CANCELLED = JobStatus.CANCELLED
LOST = JobStatus.LOST
HELD = JobStatus.HELD

TERMINAL: frozenset[JobStatus] = frozenset({SUCCEEDED, FAILED, CANCELLED})
"""States a job never leaves."""

ACTIVE: frozenset[JobStatus] = frozenset({CLAIMED, UPLOADING, SUBMITTED, RUNNING, DOWNLOADING})
"""States that hold a slot on a server (count these per owner for fair share)."""

ON_SERVER: frozenset[JobStatus] = frozenset({SUBMITTED, RUNNING, DOWNLOADING})
"""Active states in which ComfyUI knows the prompt_id: leaving them other than forward goes via LOST."""

TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = {
    QUEUED: frozenset({CLAIMED, FAILED, CANCELLED, HELD}),
    CLAIMED: frozenset({UPLOADING, SUBMITTED, SUCCEEDED, QUEUED, FAILED, CANCELLED, LOST}),
    UPLOADING: frozenset({SUBMITTED, QUEUED, FAILED, CANCELLED, LOST}),
    SUBMITTED: frozenset({RUNNING, DOWNLOADING, FAILED, CANCELLED, LOST}),
    RUNNING: frozenset({DOWNLOADING, FAILED, CANCELLED, LOST}),
    DOWNLOADING: frozenset({SUCCEEDED, FAILED, CANCELLED, LOST}),
    LOST: frozenset({QUEUED, FAILED, CANCELLED}),
    HELD: frozenset({QUEUED, CANCELLED}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}
"""Every allowed move: state → the states it may go to. The queue may mirror this in a CHECK trigger."""

REASONS: Mapping[tuple[JobStatus, JobStatus], str] = {
    (QUEUED, FAILED): "refused before any GPU time (no capable server, or the workflow is invalid)",
    (CLAIMED, SUCCEEDED): "warm-start cache hit: an identical job's outputs are reused",
    (CLAIMED, QUEUED): "claim released before anything reached the server",
    (UPLOADING, QUEUED): "claim released before anything reached the server",
    (SUBMITTED, DOWNLOADING): "the prompt finished before the run was seen (found in /history)",
    (RUNNING, FAILED): "execution error; never retried automatically",
    (LOST, QUEUED): "re-dispatch with the same prompt_id, allowed by the job's policy",
    (LOST, FAILED): "server lost and the job's policy forbids re-dispatch",
    (QUEUED, HELD): "put on hold by its owner or an admin (or its owner's paused queue): no dispatcher claims it",
    (HELD, QUEUED): "released from hold: back in its old place in the queue",
}
"""Why some less obvious moves exist (for event texts and reviewers)."""


class InvalidJobTransition(X121Error):
    """A job was asked to move between two states the state machine does not connect."""

    def __init__(self, current: JobStatus, target: JobStatus) -> None:
        self.current = current
        self.target = target
        if current in TERMINAL:
            fix = f"It has already ended as {current.label.lower()}; submit a new job instead."
        else:
            fix = "Reload the job; another client or dispatcher may have moved it meanwhile."
        super().__init__(f"A job cannot go from {current.code} to {target.code}", fix)


def can_transition(current: JobStatus, target: JobStatus) -> bool:
    """Whether a job in `current` may move to `target`."""
    return target in TRANSITIONS[current]


def require_transition(current: JobStatus, target: JobStatus) -> None:
    """Raise `InvalidJobTransition` naming both states unless the move is allowed."""
    if not can_transition(current, target):
        raise InvalidJobTransition(current, target)


def after_lost(*, redispatch_allowed: bool) -> JobStatus:
    """Where a LOST job goes next: QUEUED (same prompt_id, visible event) if its policy allows, else FAILED."""
    return QUEUED if redispatch_allowed else FAILED


def is_terminal(status: JobStatus) -> bool:
    return status in TERMINAL


def holds_slot(status: JobStatus) -> bool:
    """Whether a job in `status` occupies a server slot (counts against the server's capacity)."""
    return status in ACTIVE
