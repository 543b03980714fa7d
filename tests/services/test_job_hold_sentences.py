"""What the Jobs panel and `x121 job hold|release|pause|resume` say about holds, word for word."""

from __future__ import annotations

from datetime import UTC, datetime

from x121_desktop.core.enums import JobEventKind
from x121_desktop.core.ids import JobId
from x121_desktop.services.job_board_actions import HoldResult, QueueChange
from x121_desktop.services.job_board_text import describe_event

AT = datetime(2030, 1, 1, tzinfo=UTC)


def _said(kind: JobEventKind, data: dict[str, object]) -> str:
    return describe_event(1, kind, AT, None, data, {7: "Ada Lovelace"}).text


def test_hold_and_release_events_say_who_and_why() -> None:
    assert _said(JobEventKind.HELD, {"by_user": 7}) == (
        "Put on hold by Ada Lovelace: no dispatcher takes it until it is released"
    )
    assert _said(JobEventKind.HELD, {"by_user": 7, "queue_paused": True}) == (
        "Put on hold by Ada Lovelace: its owner paused their queue"
    )
    assert _said(JobEventKind.HELD, {"queue_paused": True, "at_submission": True}) == (
        "Held when it was submitted: its owner's queue is paused"
    )
    assert _said(JobEventKind.RELEASED, {"by_user": 8}) == (
        "Released from hold by user 8: back in its place in the queue"
    )
    assert _said(JobEventKind.RELEASED, {"by_user": 7, "queue_resumed": True}) == (
        "Released from hold by Ada Lovelace: its owner resumed their queue; back in its place in the queue"
    )


def test_a_hold_of_several_jobs_says_each_outcome() -> None:
    refusal = "Job 9 is running; only a queued job can be put on hold. A dispatcher has it already"
    result = HoldResult(True, (JobId(4), JobId(5)), (JobId(6),), ((JobId(9), refusal),))
    assert result.sentence == (
        "Put jobs 4 and 5 on hold. Job 6 was already on hold. "
        "Job 9 is running; only a queued job can be put on hold. A dispatcher has it already."
    )
    released = HoldResult(False, (JobId(4),), (JobId(5), JobId(6), JobId(7)), ())
    assert released.sentence == "Released job 4 from hold. Jobs 5, 6 and 7 were not on hold."
    assert HoldResult(True, (), (), ()).sentence == "No job was selected."


def test_pausing_and_resuming_a_queue_say_what_changed() -> None:
    assert QueueChange(False, True, 1).sentence == (
        "Your queue is paused (1 job put on hold); the jobs you submit are held until you resume it."
    )
    assert QueueChange(False, False, 0).sentence == "Your queue is running again (no job released from hold)."
    assert QueueChange(True, False, 0).sentence == "The studio queue is running again: dispatchers take queued jobs."
