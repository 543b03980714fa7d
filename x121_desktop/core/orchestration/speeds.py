"""Each server's speed for placement, in work units per second (pure).

A job's work is estimated in pixel-frames (`comfy.needs.work_estimate`); a server's speed is the
pixel-frames per second it really delivered: the estimated work of its last finished jobs over
the GPU seconds they took (`db.repositories.job_runs.measured_throughput`). A server with no such
history yet has only its registered speed factor (relative: 1.0 = a reference GPU, 2.0 = twice as
fast), which is scaled to the same unit by the servers that do have history (the median ratio of
their measured speed to their factor). With no history anywhere, the factors are used as they are:
only ratios between servers matter to the finish-time rule.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping


def server_speeds(factors: Mapping[int, float], measured: Mapping[int, float]) -> dict[int, float]:
    """Server id → speed: `measured` (work per second) where known and positive, else the factor in that unit."""
    known = {s: v for s, v in measured.items() if s in factors and v > 0 and factors[s] > 0}
    if not known:
        return dict(factors)
    scale = statistics.median(known[s] / factors[s] for s in known)
    return {s: known.get(s, factor * scale) for s, factor in factors.items()}
