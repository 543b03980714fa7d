"""Where a stopped segment and scene come to rest (core.pipeline.stopping), and that each move is a rule."""

from __future__ import annotations

import pytest

from x121_desktop.core.enums import SceneStatus, SeamGrade, SegmentStatus, TakeStatus
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.stopping import stopped_scene, stopped_segment

Sg, Tk = SegmentStatus, TakeStatus


@pytest.mark.parametrize(
    ("current", "first", "seam", "expected"),
    [
        (None, True, None, Sg.PLANNED),  # nothing generated yet
        (None, False, None, Sg.PLANNED),
        (Tk.FAILED, False, None, Sg.PLANNED),  # no usable take
        (Tk.READY, True, None, Sg.IN_REVIEW),  # segment 1 has no seam before it
        (Tk.APPROVED, True, None, Sg.APPROVED),
        (Tk.REJECTED, False, SeamGrade.GREEN, Sg.REJECTED),  # the verdict stands
        (Tk.READY, False, SeamGrade.AMBER, Sg.IN_REVIEW),
        (Tk.APPROVED, False, None, Sg.GENERATED),  # its seam with the take before was never measured
        (Tk.READY, False, SeamGrade.RED, Sg.CANCELLED),  # waits for a person, not for the director's retry
    ],
)
def test_a_stopped_segment_is_what_its_current_take_makes_it(
    current: TakeStatus | None, first: bool, seam: SeamGrade | None, expected: SegmentStatus
) -> None:
    assert stopped_segment(current, first=first, left_seam=seam) is expected


@pytest.mark.parametrize("status", [Sg.QUEUED, Sg.GENERATING])
@pytest.mark.parametrize("current", [None, Tk.READY, Tk.APPROVED, Tk.REJECTED])
@pytest.mark.parametrize("seam", [None, SeamGrade.GREEN, SeamGrade.RED])
def test_every_stop_of_a_busy_segment_is_an_allowed_transition(
    status: SegmentStatus, current: TakeStatus | None, seam: SeamGrade | None
) -> None:
    for first in (True, False):
        assert transitions.can(status, stopped_segment(current, first=first, left_seam=seam))


def test_a_scene_rests_only_when_nothing_is_under_way() -> None:
    assert stopped_scene(under_way=True, has_takes=True) is SceneStatus.IN_PROGRESS  # e.g. another user's job
    assert stopped_scene(under_way=True, has_takes=False) is SceneStatus.IN_PROGRESS
    assert stopped_scene(under_way=False, has_takes=True) is SceneStatus.IN_REVIEW
    assert stopped_scene(under_way=False, has_takes=False) is SceneStatus.PLANNED
    for target in (SceneStatus.IN_REVIEW, SceneStatus.PLANNED):
        assert transitions.can(SceneStatus.IN_PROGRESS, target)
