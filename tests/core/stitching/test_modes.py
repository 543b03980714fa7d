"""Stitching modes: the simple start image and the advanced overlap-window cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_factory import make_video, read_stripe
from tests.seam_fixtures import Defect, animate, chained_segments, default_path, lab_shift, make_case, photo
from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.errors import Cancelled, InvalidInput
from x121_desktop.core.stitching.modes import (
    CutRequest,
    StitchMode,
    advanced_cut,
    simple_cut,
    simple_start,
    simple_start_from_file,
)
from x121_desktop.core.stitching.score import Grade

WINDOW = 10  # frames of each segment handed to the cut search


def test_simple_start_is_the_exact_last_frame(tmp_path: Path) -> None:
    video = make_video(tmp_path / "n.mp4", 37, gop=12, bframes=2)
    start = simple_start_from_file(video)
    assert (start.index, start.frame_count) == (36, 37)
    assert read_stripe(start.image) == 36
    frames = chained_segments("coffee", 1, 9)[0]
    s = simple_start(frames)
    assert s.index == 8
    assert s.image is frames[-1]
    with pytest.raises(InvalidInput, match="no frames"):
        simple_start([])


def test_simple_cut_trims_nothing() -> None:
    n, m = chained_segments("chelsea", 2)
    choice = simple_cut(CutRequest(tuple(n[-WINDOW:]), tuple(m[:WINDOW]), tail_start=len(n) - WINDOW))
    assert choice.mode is StitchMode.SIMPLE
    assert (choice.tail_index, choice.head_index, choice.trimmed) == (len(n) - 1, 0, 0)
    assert choice.grade_before is Grade.GREEN


def test_advanced_keeps_a_clean_seam() -> None:
    n, m = chained_segments("rocket", 2)
    choice = advanced_cut(CutRequest(tuple(n[-WINDOW:]), tuple(m[:WINDOW]), tail_start=len(n) - WINDOW))
    assert choice.mode is StitchMode.ADVANCED
    assert choice.trimmed == 0
    assert choice.tail_index == len(n) - 1
    assert choice.grade_after is Grade.GREEN
    assert choice.pairs_searched == 36


def test_advanced_cuts_past_a_flash_in_an_overlapping_head() -> None:
    # N+1 was generated over N's last 3 moments and its first 2 frames flash (a known Wan artefact).
    img, path = photo("chelsea"), default_path("chelsea")
    n = animate(img, path, 0, 20)
    m = animate(img, path, 17, 20)
    m = [lab_shift(f, 1.15) for f in m[:2]] + m[2:]
    choice = advanced_cut(CutRequest(tuple(n[-WINDOW:]), tuple(m[:WINDOW]), tail_start=20 - WINDOW))
    assert choice.grade_before is Grade.RED
    assert choice.head_index >= 2  # the flash is gone
    assert 17 + choice.head_index == choice.tail_index + 1  # and the cut lands on the next moment
    assert choice.trimmed_head == choice.head_index
    assert choice.trimmed_tail == 19 - choice.tail_index
    assert choice.grade_after is Grade.GREEN
    assert choice.score_after > choice.score_before


def test_advanced_drops_a_degraded_tail() -> None:
    # N's last 3 frames drift darker (Wan2GP's "discard last frames" case); N+1 overlaps from moment 16.
    img, path = photo("coffee"), default_path("coffee")
    n = animate(img, path, 0, 20)
    n = n[:-3] + [lab_shift(f, 0.85, 3.0, -3.0) for f in n[-3:]]
    m = animate(img, path, 16, 20)
    choice = advanced_cut(CutRequest(tuple(n[-WINDOW:]), tuple(m[:WINDOW]), tail_start=20 - WINDOW))
    assert choice.grade_before is Grade.RED
    assert choice.tail_index <= 16  # every degraded frame is gone
    assert choice.trimmed_tail == 19 - choice.tail_index
    assert 16 + choice.head_index == choice.tail_index + 1
    assert choice.grade_after is Grade.GREEN


def test_advanced_cannot_cut_around_a_different_subject() -> None:
    case = make_case("chelsea", Defect.JUMP)
    choice = advanced_cut(CutRequest(case.tail[-WINDOW:], case.head[:WINDOW], window=4))
    assert choice.pairs_searched == 16
    assert choice.grade_after is Grade.RED  # no pair in the window is continuous: honest red


def test_advanced_is_cancellable_and_checks_input() -> None:
    n, m = chained_segments("coffee", 2, 8)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        advanced_cut(CutRequest(tuple(n), tuple(m)), cancel=token)
    with pytest.raises(InvalidInput, match="both sides"):
        advanced_cut(CutRequest(tuple(n), ()))
    with pytest.raises(InvalidInput, match="window"):
        advanced_cut(CutRequest(tuple(n), tuple(m), window=0))
