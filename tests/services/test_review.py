"""ReviewService on a real database as real logins: queue, verdicts (+ regeneration), annotations, comments."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.db.security_studio import SUPERUSER
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from x121_desktop.core.enums import AnnotationKind, SeamGrade, SegmentStatus, Verdict
from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService

__all__ = ["review_studio", "studio_as"]


def test_queue_lists_current_takes_with_videos_and_graded_seams(
    review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    review = ReviewService(studio_as("reviewer2"))
    queue = asyncio.run(review.queue(review_studio.scene_id))
    assert [t.take_id for t in queue.takes] == review_studio.take_ids
    assert all(t.video is not None and t.video.is_file() for t in queue.takes)
    assert [(s.position, s.grade) for s in queue.seams] == [(0, SeamGrade.GREEN), (1, SeamGrade.RED)]
    assert queue.rate == 30
    assert queue.next_pending(None) == queue.takes[0]
    assert queue.next_pending(review_studio.take_ids[2]) == queue.takes[0]  # wraps


def test_verdicts_are_the_callers_one_transaction_each_and_advance(
    review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    review = ReviewService(studio_as("reviewer"))
    first, second, _third = review_studio.take_ids
    done = asyncio.run(review.record_verdict(first, Verdict.APPROVE))
    assert done.queue.take(first) is not None
    assert done.queue.next_pending(first) is not None
    assert done.queue.next_pending(first).take_id == second  # type: ignore[union-attr]
    again = asyncio.run(review.record_verdict(first, Verdict.FLAG, "hands"))  # replaces the caller's own vote
    assert again.verdict_row_id == done.verdict_row_id
    with review_studio.secure.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT reviewer_id, verdict_id, note FROM verdicts WHERE take_id = %s", (first,)
        ).fetchall()
        events = conn.execute(
            "SELECT actor_id FROM activity_events WHERE take_id = %s AND activity_kind_id = 11", (first,)
        ).fetchall()
    assert rows == [(review_studio.secure.user_ids["reviewer"], Verdict.FLAG, "hands")]
    assert [e[0] for e in events] == [review_studio.secure.user_ids["reviewer"]] * 2


def test_reject_queues_regeneration_for_a_creator_and_is_refused_politely_for_a_reviewer(
    review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    last = review_studio.take_ids[2]
    as_reviewer = asyncio.run(
        ReviewService(studio_as("reviewer2")).record_verdict(last, Verdict.REJECT, regenerate=True)
    )
    assert as_reviewer.regeneration_queued is False
    assert as_reviewer.regeneration_refused  # a sentence; the verdict itself stands
    as_creator = asyncio.run(ReviewService(studio_as("creator")).record_verdict(last, Verdict.REJECT, regenerate=True))
    assert as_creator.regeneration_queued is True
    with review_studio.secure.connect(SUPERUSER) as conn:
        status = conn.execute("SELECT segment_status_id FROM segments WHERE id = %s", (review_studio.segment_ids[2],))
        row = status.fetchone()
        voters = conn.execute("SELECT count(*) FROM verdicts WHERE take_id = %s AND verdict_id = 2", (last,)).fetchone()
    assert row is not None
    assert row[0] == SegmentStatus.QUEUED
    assert voters == (2,)
    with pytest.raises(InvalidInput):
        asyncio.run(ReviewService(studio_as("creator")).record_verdict(last, Verdict.FLAG, regenerate=True))


def test_annotations_and_comments_persist_as_their_author(
    review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    review = ReviewService(studio_as("reviewer"))
    take = review_studio.take_ids[1]
    shapes = {"shapes": [{"tool": "arrow", "points": [[0.1, 0.2], [0.5, 0.5]], "color": "#ff3b30", "width": 3}]}
    added = asyncio.run(review.add_annotation(take, AnnotationKind.ARROW, 12, 5, shapes))
    loaded = asyncio.run(review.annotations(take))
    assert [(a.id, a.frame_start, a.frame_count, dict(a.data)) for a in loaded] == [(added.id, 12, 5, shapes)]
    assert loaded[0].covers(16)
    assert not loaded[0].covers(17)
    assert loaded[0].distance(19) == 3
    with pytest.raises(InvalidInput):
        asyncio.run(review.add_annotation(take, AnnotationKind.TEXT, -1, 1, {}))
    with pytest.raises(PermissionDenied):  # reviewers cannot delete (docs/SECURITY.md), the author included
        asyncio.run(ReviewService(studio_as("reviewer2")).delete_annotation(added.id))
    creator_name = review_studio.secure.roles["creator"]
    posted = asyncio.run(review.comment(take, 12, f"hand melts here @{creator_name}"))
    assert posted.mentioned == (creator_name,)
    comments = asyncio.run(review.comments(take))
    assert [(c.frame, c.body) for c in comments][-1] == (12, f"hand melts here @{creator_name}")
    creator = ReviewService(studio_as("creator"))
    with pytest.raises(InvalidInput):  # RLS hides the reviewer's row from the creator's delete
        asyncio.run(creator.delete_annotation(added.id))
    own = asyncio.run(creator.add_annotation(take, AnnotationKind.TEXT, 3, 1, {"shapes": []}))
    asyncio.run(creator.delete_annotation(own.id))
    assert [a.id for a in asyncio.run(review.annotations(take))] == [added.id]
