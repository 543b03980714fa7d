"""Where a scene and its segments come to rest when their generation stops (pure rules).

A person who cancels a scene's generation expects the studio to say what the scene now *is*, not
what was last asked of it: the jobs and takes keep the history (CANCELLED), while a segment's and a
scene's status describe the work that exists. So, as a pipeline lead reads a shot board:

* a stopped segment with no usable take is **PLANNED** again (nothing to look at; Generate queues it);
* a stopped segment that still has a usable current take (its regeneration was cancelled) goes back
  to what that take is: **IN_REVIEW** (ready), **APPROVED** or **REJECTED** (the verdict stands) when
  its left seam was measured with that take (or it is the first segment); **GENERATED** when that
  seam was never measured (the segment before got a new take meanwhile: the seam is measured the next
  time the scene generates); and **CANCELLED** (waits for a person) when that seam is red, so that no
  director queues the automatic retry behind the person's back;
* the scene is **IN_PROGRESS** while anything of it is still under way (a take pending: another
  user's job, a job that finished but is not recorded yet; a segment queued or generating under
  another user's lock), since a director must keep driving it and it is not idle; otherwise it is
  **IN_REVIEW** when any segment has a usable take to look at, and **PLANNED** when none has.
"""

from __future__ import annotations

from x121_desktop.core.enums import SceneStatus, SeamGrade, SegmentStatus, TakeStatus
from x121_desktop.core.pipeline.transitions import USABLE_TAKE

Sg = SegmentStatus
_BY_TAKE = {TakeStatus.READY: Sg.IN_REVIEW, TakeStatus.APPROVED: Sg.APPROVED, TakeStatus.REJECTED: Sg.REJECTED}


def stopped_segment(current: TakeStatus | None, *, first: bool, left_seam: SeamGrade | None) -> SegmentStatus:
    """The status of a segment whose generation stopped.

    `current`: the status of its current take (None: it has none); `first`: it is segment 1 (no
    seam before it); `left_seam`: the grade of the seam measured between the previous segment's
    current take and this current take (None: not measured)."""
    if current is None or current not in USABLE_TAKE:
        return Sg.PLANNED
    if not first and left_seam is None:
        return Sg.GENERATED
    if not first and left_seam is SeamGrade.RED:
        return Sg.CANCELLED
    return _BY_TAKE[current]


def stopped_scene(*, under_way: bool, has_takes: bool) -> SceneStatus:
    """The status of a scene in progress once generation stopped: IN_PROGRESS while anything is
    `under_way`, else IN_REVIEW when some segment `has_takes` (a usable current take), else PLANNED."""
    if under_way:
        return SceneStatus.IN_PROGRESS
    return SceneStatus.IN_REVIEW if has_takes else SceneStatus.PLANNED
