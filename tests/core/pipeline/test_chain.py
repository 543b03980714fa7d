"""core.pipeline: parsing, status rules (every enum member covered), chain planning, seeds, next steps, kept ranges."""

from __future__ import annotations

from fractions import Fraction

import pytest

from x121_desktop.core.enums import SceneStatus, SeedPolicy, SegmentStatus, TakeReason, TakeStatus
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.pipeline import transitions
from x121_desktop.core.pipeline.chain import (
    ChainLimits,
    LinkState,
    kept_ranges,
    limits_from_manifest,
    next_steps,
    plan_chain,
    planned_total,
    seed_for,
    take_reason,
)
from x121_desktop.core.pipeline.values import (
    FrameSpan,
    parse_duration,
    parse_frame_rule,
    parse_scene_ref,
    parse_span,
)

Sg = SegmentStatus


def test_scene_refs_and_ranges_parse_or_say_what_to_write() -> None:
    assert str(parse_scene_ref(" Ada / intro ")) == "Ada/intro"
    with pytest.raises(InvalidInput, match="CHARACTER/SCENE"):
        parse_scene_ref("intro")
    assert parse_duration("41-45f", Fraction(8)) == FrameSpan(41, 45)
    assert parse_duration("2.5-4", Fraction(24)) == FrameSpan(60, 96)
    assert parse_duration("5/2-4s", Fraction(24000, 1001)) == FrameSpan(60, 95)
    with pytest.raises(InvalidInput, match="not a duration range"):
        parse_duration("long", Fraction(24))
    with pytest.raises(InvalidInput, match="no whole frame"):
        parse_duration("6-4", Fraction(24))
    assert parse_span("9-17", "segment length") == FrameSpan(9, 17)
    assert (parse_frame_rule("4n+1").step, parse_frame_rule("4n+1").offset) == (4, 1)
    assert parse_frame_rule("n").is_valid(7)
    with pytest.raises(InvalidInput, match="frame rule"):
        parse_frame_rule("odd")


@pytest.mark.parametrize("rules", [transitions.SCENE, transitions.SEGMENT, transitions.TAKE])
def test_every_status_has_a_rule(rules: dict[object, frozenset[object]]) -> None:
    enum = type(next(iter(rules)))
    assert set(rules) == set(enum)  # type: ignore[call-overload]
    for targets in rules.values():
        assert targets <= set(enum)  # type: ignore[call-overload]


def test_require_names_the_thing_and_the_way_out() -> None:
    transitions.require(SceneStatus.PLANNED, SceneStatus.IN_PROGRESS, "Scene Ada/intro")
    transitions.require(Sg.GENERATING, Sg.GENERATING, "Segment 2")  # staying is always fine
    with pytest.raises(InvalidInput, match="Segment 2 is generating and cannot become stale"):
        transitions.require(Sg.GENERATING, Sg.STALE, "Segment 2")
    assert not transitions.can(TakeStatus.FAILED, TakeStatus.READY)


def test_plan_chain_fits_the_span_with_the_rule_and_the_overlap() -> None:
    plan = plan_chain(FrameSpan(41, 45), Fraction(8), ChainLimits(9, 17, 4, 1))
    assert plan.lengths == (17, 13, 13)
    assert plan.total_frames == 41 == planned_total(plan.lengths)
    assert all((n - 1) % 4 == 0 for n in plan.lengths)
    limits = limits_from_manifest({"frame_count": {"type": "int", "min": 1, "max": 81}})
    assert (limits.min_frames, limits.max_frames) == (2, 81)
    with pytest.raises(InvalidInput, match="adds up to"):
        plan_chain(FrameSpan(2, 3), Fraction(8), ChainLimits(9, 17, 4, 1))


def test_seeds_follow_the_policy_and_a_redo_never_repeats() -> None:
    assert seed_for(SeedPolicy.FIXED, 7, 0, 0) == seed_for(SeedPolicy.FIXED, 7, 2, 0) == 7
    assert seed_for(SeedPolicy.INCREMENT, 7, 2, 0) == 9
    assert seed_for(SeedPolicy.INHERIT, 7, 1, 0, inherited=123) == 123
    for policy in SeedPolicy:
        assert seed_for(policy, 7, 1, 1, inherited=5) != seed_for(policy, 7, 1, 0, inherited=5)
    assert seed_for(SeedPolicy.RANDOM, 7, 1, 0) == seed_for(SeedPolicy.RANDOM, 7, 1, 0) < 2**53
    assert take_reason(False, False) is TakeReason.INITIAL
    assert take_reason(True, True) is TakeReason.REGENERATE
    assert take_reason(True, False) is TakeReason.RECHAIN


def link(p: int, status: SegmentStatus, *, current: bool = True, pending: bool = False, seam: bool = True) -> LinkState:
    return LinkState(p, status, current, pending, seam, auto_regen_allowed=True)


def test_next_steps_walks_the_chain_one_link_at_a_time() -> None:
    start = [link(0, Sg.QUEUED, current=False, seam=False), link(1, Sg.QUEUED, current=False, seam=False)]
    assert next_steps(start).submit == (0,)
    arrived = [link(0, Sg.GENERATED), link(1, Sg.QUEUED, current=False, seam=False)]
    assert (next_steps(arrived).settle, next_steps(arrived).submit) == ((0,), ())
    second = [link(0, Sg.IN_REVIEW), link(1, Sg.QUEUED, current=False, seam=False)]
    assert next_steps(second).submit == (1,)
    measured = [link(0, Sg.IN_REVIEW), link(1, Sg.GENERATED, seam=False)]
    assert next_steps(measured).measure == (1,)
    done = next_steps([link(0, Sg.IN_REVIEW), link(1, Sg.APPROVED)])
    assert done.complete
    assert done.empty


def test_next_steps_waits_for_people_and_retries_a_failed_boundary_once() -> None:
    stale = next_steps([link(0, Sg.QUEUED, pending=True), link(1, Sg.STALE)])
    assert (stale.submit, stale.waiting, stale.complete) == ((), (1,), False)
    regen = next_steps([link(0, Sg.IN_REVIEW), link(1, Sg.NEEDS_REGEN)])
    assert regen.retry == (1,)
    person = LinkState(1, Sg.NEEDS_REGEN, True, False, True, auto_regen_allowed=False)
    assert next_steps([link(0, Sg.IN_REVIEW), person]).waiting == (1,)
    heal_only = next_steps([link(0, Sg.IN_REVIEW), link(1, Sg.GENERATED, seam=False), link(2, Sg.IN_REVIEW)])
    assert heal_only.measure == (1,)
    assert not heal_only.complete


def test_kept_ranges_drop_the_repeated_frame_and_apply_trims() -> None:
    ranges = kept_ranges([16, 12, 12], [(0, 0), (0, 0)])
    assert [(r.head, r.end) for r in ranges] == [(0, 16), (1, 12), (1, 12)]
    assert sum(r.length for r in ranges) == 41
    trimmed = kept_ranges([16, 12], [(2, 1)])
    assert [(r.head, r.end) for r in trimmed] == [(0, 14), (2, 12)]
    with pytest.raises(InvalidInput, match="keeps no frames"):
        kept_ranges([5, 1], [(0, 1)])


def test_elastic_length_makes_up_what_advanced_cuts_dropped() -> None:
    from x121_desktop.core.pipeline.chain import ChainLimits, elastic_length

    limits = ChainLimits(9, 17, 4, 1)
    plan = [17, 13, 13]
    assert elastic_length(plan, [16], [], limits) == 13  # simple cut: nothing dropped
    assert elastic_length(plan, [12], [], limits) == 17  # 4 dropped -> 13 + 4, a valid 4n+1
    assert elastic_length(plan, [14], [], limits) == 17  # 2 dropped -> 15, rounded up to 17
    assert elastic_length(plan, [16, 12], [(0, 0)], limits) == 13  # 13 frames, cut at its last
    assert elastic_length(plan, [16, 8], [(0, 0)], limits) == 17
    assert elastic_length(plan, [16, 8], [(1, 2)], limits) == 17  # more dropped than fits: held at the max
    assert elastic_length([17, 13], [8], [], limits) == 17


def test_fit_to_total_shortens_only_the_last_range() -> None:
    from x121_desktop.core.pipeline.chain import KeptRange, fit_to_total

    ranges = (KeptRange(0, 0, 12), KeptRange(1, 1, 16))
    assert fit_to_total(ranges, 25) == (KeptRange(0, 0, 12), KeptRange(1, 1, 12))
    assert fit_to_total(ranges, 40) == ranges
    assert fit_to_total(ranges, 5) == (KeptRange(0, 0, 12), KeptRange(1, 1, 1))
    assert fit_to_total((), 3) == ()
