from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from x121_desktop.core.collab.deeplink import MAX_ID, DeepLink, MalformedLink, format_link, job_link_id, parse_link
from x121_desktop.core.ids import ProjectId, SceneId, TakeId


def test_full_link_round_trips() -> None:
    link = parse_link("x121://project/3/scene/17/segment/2/take/905@48")
    assert link == DeepLink(ProjectId(3), SceneId(17), 2, TakeId(905), 48)
    assert link.segment_position == 1
    assert link.format() == "x121://project/3/scene/17/segment/2/take/905@48"


@pytest.mark.parametrize(
    "text",
    ["x121://project/1/scene/2", "x121://project/1/scene/2/segment/1", "x121://project/1/scene/2/segment/4/take/9"],
)
def test_shorter_links_are_valid(text: str) -> None:
    assert format_link(parse_link(text)) == text


def test_scheme_is_case_insensitive_and_whitespace_is_trimmed() -> None:
    assert parse_link("  X121://project/1/scene/2/segment/1/take/3@0\n").frame == 0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("http://project/1/scene/2", "is not an x121:// link"),
        ("", "is not an x121:// link"),
        ("x121://project/1", "malformed"),
        ("x121://project/one/scene/2", "malformed"),
        ("x121://project/1/scene/2@5", "frame without a take"),
        ("x121://project/1/scene/2/take/5", "malformed"),
        ("x121://project/-1/scene/2", "malformed"),
        ("x121://project/01/scene/2", "malformed"),
        ("x121://project/1/scene/2/segment/0", "Segment number 0 is out of range"),
        ("x121://project/0/scene/2", "project id 0 in a link is out of range"),
        ("x121://project/1/scene/99999999999", "malformed"),
        ("x121://project/1/scene/2/segment/1/take/3@-4", "malformed"),
        ("x121://project/1/scene/2?x=1", "malformed"),
    ],
)
def test_malformed_links_are_refused_with_a_sentence(text: str, says: str) -> None:
    with pytest.raises(MalformedLink) as caught:
        parse_link(text)
    assert says in caught.value.sentence
    assert "x121://project/<p>" in caught.value.sentence or "out of range" in caught.value.sentence


def test_a_long_garbage_link_is_shortened_in_the_message() -> None:
    with pytest.raises(MalformedLink) as caught:
        parse_link("x121://" + "a" * 500)
    assert len(caught.value.sentence) < 300


ids = st.integers(1, MAX_ID)


@given(ids, ids, st.one_of(st.none(), ids), st.one_of(st.none(), ids), st.one_of(st.none(), st.integers(0, MAX_ID)))
def test_format_then_parse_is_identity(p: int, s: int, n: int | None, t: int | None, f: int | None) -> None:
    if t is not None and n is None:
        n = 1
    if f is not None and t is None:
        f = None
    link = DeepLink(ProjectId(p), SceneId(s), n, None if t is None else TakeId(t), f)
    assert parse_link(format_link(link)) == link


def test_values_cannot_be_built_inconsistent() -> None:
    with pytest.raises(MalformedLink):
        DeepLink(ProjectId(1), SceneId(1), None, TakeId(2))
    with pytest.raises(MalformedLink):
        DeepLink(ProjectId(1), SceneId(1), 1, None, 5)


def test_job_links_name_a_job_and_nothing_else_is_one() -> None:
    assert job_link_id("x121://jobs/42") == 42
    assert job_link_id(" X121://jobs/42/ ") == 42
    for other in ("x121://jobs/0", "x121://jobs/042", "x121://jobs/-1", "x121://jobs/42/x", "x121://project/1/scene/2"):
        assert job_link_id(other) is None, other
