"""Before / after heal in review, on a seam the real healing ladder healed (tests/services/healed_scene.py).

What the database records for a heal is enough to play the seam both ways: the queue's seam (to the
HEAL take) carries the remedy, the measured take it was made from (still stored, video and all) and
the seam's grade and score before the heal; the two seam clips match frame for frame (the frame
numbers drawn into the pictures agree) and differ only by the heal's colour correction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest

from tests.db.security_studio import SUPERUSER
from tests.media_factory import decode_all, read_stripe
from tests.services.healed_scene import FRAMES, HealedScene, healed_scene, review_studio, studio_as
from tests.services.review_studio import ReviewStudio
from x121_desktop.core.enums import SeamGrade, TakeStatus, Verdict
from x121_desktop.core.errors import InvalidInput
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService

__all__ = ["healed_scene", "review_studio", "studio_as"]


def _mean_colour(frame: np.ndarray) -> np.ndarray:
    return np.asarray(frame[frame.shape[0] // 8 :].reshape(-1, 3).mean(axis=0))  # below the number stripe


def test_the_queue_says_how_a_seam_was_healed(
    review_studio: ReviewStudio, healed_scene: HealedScene, studio_as: Callable[[str], Studio]
) -> None:
    assert healed_scene.report == ((1, "healed"),)
    queue = asyncio.run(ReviewService(studio_as("reviewer")).queue(healed_scene.scene_id))
    (seam,) = queue.seams
    assert (seam.left_take_id, seam.right_take_id) == (healed_scene.left_take, healed_scene.healed_take)
    heal = seam.heal
    assert heal is not None
    assert heal.remedy == "colour_match"
    assert "colour match" in heal.reason
    assert heal.unhealed_take_id == healed_scene.measured_take
    assert heal.unhealed_video is not None
    assert heal.unhealed_video.name.endswith(".mp4")
    assert heal.unhealed_video.is_file()
    with review_studio.secure.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT right_take_id, seam_grade_id, score FROM seams WHERE scene_id = %s ORDER BY id",
            (healed_scene.scene_id,),
        ).fetchall()
    assert rows == [
        (healed_scene.measured_take, SeamGrade.RED, pytest.approx(heal.score_before)),
        (healed_scene.healed_take, seam.grade, pytest.approx(seam.score)),
    ]
    assert (heal.grade_before, seam.grade) == (SeamGrade.RED, SeamGrade.GREEN)
    assert seam.score > heal.score_before
    # seams of takes that no heal made have no heal
    plain = asyncio.run(ReviewService(studio_as("reviewer")).queue(review_studio.scene_id))
    assert [s.heal for s in plain.seams] == [None, None]


def test_before_and_after_clips_match_frame_for_frame(
    review_studio: ReviewStudio, healed_scene: HealedScene, studio_as: Callable[[str], Studio]
) -> None:
    review = ReviewService(studio_as("reviewer"))
    queue = asyncio.run(review.queue(healed_scene.scene_id))
    (seam,) = queue.seams
    k = 8
    after = asyncio.run(review.seam_clip(queue, seam, k))
    before = asyncio.run(review.seam_clip(queue, seam, k, before_heal=True))
    assert before.path != after.path
    assert (before.window.seam_frame, before.window.length) == (after.window.seam_frame, after.window.length)
    assert (after.window.seam_frame, after.window.length) == (k, 2 * k)
    assert after.right_head == before.right_head == 1  # past the frame that repeats the left take's cut
    a, b = decode_all(after.path), decode_all(before.path)
    # the stripes carry the frame's number on the camera move: the left take's 22…29 up to its cut, then
    # the right take's 30…37 (its frame 0 repeats the cut frame: the assembled scene never plays it)
    expected = list(range(FRAMES - k, FRAMES + k))
    assert [read_stripe(f) for f in a] == [read_stripe(f) for f in b] == expected
    left_end = _mean_colour(a[k - 1])
    for i in range(k, 2 * k):
        healed, unhealed = _mean_colour(a[i]), _mean_colour(b[i])
        assert np.abs(healed - left_end).max() < np.abs(unhealed - left_end).max() / 2, i  # the cast is gone
    for i in range(k):
        # the left take: the same frames (each clip is a lossy encode of its own: within a few levels)
        assert np.abs(a[i].astype(int) - b[i].astype(int)).mean() < 4
    plain = asyncio.run(review.queue(review_studio.scene_id))
    with pytest.raises(InvalidInput):  # a seam no heal touched has no "before heal"
        asyncio.run(review.seam_clip(plain, plain.seams[0], k, before_heal=True))


def test_any_take_opens_for_review_with_the_callers_verdict(
    healed_scene: HealedScene, studio_as: Callable[[str], Studio]
) -> None:
    review = ReviewService(studio_as("reviewer2"))
    measured = asyncio.run(review.take(healed_scene.measured_take))  # superseded by the heal, not current
    assert (measured.take_id, measured.position, measured.status) == (
        healed_scene.measured_take,
        1,
        TakeStatus.SUPERSEDED,
    )
    assert measured.video is not None
    assert measured.my_verdict is None
    asyncio.run(review.record_verdict(healed_scene.measured_take, Verdict.FLAG))
    assert asyncio.run(review.take(healed_scene.measured_take)).my_verdict is Verdict.FLAG


def test_the_heal_take_records_the_frames_its_video_holds_and_keeps_the_cut(
    review_studio: ReviewStudio, healed_scene: HealedScene
) -> None:
    with review_studio.secure.connect(SUPERUSER) as conn:
        rows = conn.execute(
            "SELECT t.id, t.cut_frame, t.frame_count, f.rel_path FROM takes t JOIN files f ON f.id = t.file_id "
            "WHERE t.id IN (%s, %s)",
            (healed_scene.measured_take, healed_scene.healed_take),
        ).fetchall()
    by_id = {r[0]: r[1:] for r in rows}
    cut, count, rel = by_id[healed_scene.healed_take]
    assert count == len(decode_all(review_studio.home / "media" / rel))
    assert (cut, count) == by_id[healed_scene.measured_take][:2]  # a colour match keeps the length


def test_a_heal_that_lengthens_the_take_moves_its_cut_with_it() -> None:
    from x121_desktop.services.scene_seams import healed_cut

    assert healed_cut(29, 30, 30) == (29, 30)
    assert healed_cut(25, 30, 33) == (28, 33)  # a crossfade's 3 overlap frames at the head
    assert healed_cut(None, 30, 33) == (32, 33)
    assert healed_cut(None, None, None) == (0, None)
