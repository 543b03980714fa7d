"""The job state machine: the whole matrix, and the rules the dispatcher relies on."""

from __future__ import annotations

import itertools

import pytest

from x121_desktop.core.enums import JobStatus as S
from x121_desktop.core.errors import X121Error
from x121_desktop.core.orchestration.states import (
    ACTIVE,
    ON_SERVER,
    TERMINAL,
    TRANSITIONS,
    InvalidJobTransition,
    after_lost,
    can_transition,
    holds_slot,
    is_terminal,
    require_transition,
)

ALLOWED = {
    (S.QUEUED, S.CLAIMED), (S.QUEUED, S.FAILED), (S.QUEUED, S.CANCELLED),
    (S.CLAIMED, S.UPLOADING), (S.CLAIMED, S.SUBMITTED), (S.CLAIMED, S.SUCCEEDED), (S.CLAIMED, S.QUEUED),
    (S.CLAIMED, S.FAILED), (S.CLAIMED, S.CANCELLED), (S.CLAIMED, S.LOST),
    (S.UPLOADING, S.SUBMITTED), (S.UPLOADING, S.QUEUED), (S.UPLOADING, S.FAILED), (S.UPLOADING, S.CANCELLED),
    (S.UPLOADING, S.LOST),
    (S.SUBMITTED, S.RUNNING), (S.SUBMITTED, S.DOWNLOADING), (S.SUBMITTED, S.FAILED), (S.SUBMITTED, S.CANCELLED),
    (S.SUBMITTED, S.LOST),
    (S.RUNNING, S.DOWNLOADING), (S.RUNNING, S.FAILED), (S.RUNNING, S.CANCELLED), (S.RUNNING, S.LOST),
    (S.DOWNLOADING, S.SUCCEEDED), (S.DOWNLOADING, S.FAILED), (S.DOWNLOADING, S.CANCELLED), (S.DOWNLOADING, S.LOST),
    (S.LOST, S.QUEUED), (S.LOST, S.FAILED), (S.LOST, S.CANCELLED),
    (S.QUEUED, S.HELD), (S.HELD, S.QUEUED), (S.HELD, S.CANCELLED),
}  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_matrix(current: S, target: S) -> None:
    expected = (current, target) in ALLOWED
    assert can_transition(current, target) is expected
    if expected:
        require_transition(current, target)
    else:
        with pytest.raises(InvalidJobTransition) as caught:
            require_transition(current, target)
        assert current.code in str(caught.value)
        assert target.code in str(caught.value)


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(S)


def test_sets() -> None:
    assert {S.SUCCEEDED, S.FAILED, S.CANCELLED} == TERMINAL
    assert {S.CLAIMED, S.UPLOADING, S.SUBMITTED, S.RUNNING, S.DOWNLOADING} == ACTIVE
    assert ON_SERVER < ACTIVE
    assert not (TERMINAL & ACTIVE)
    assert S.LOST not in ACTIVE
    assert S.QUEUED not in ACTIVE
    assert all(is_terminal(s) == (s in TERMINAL) for s in S)
    assert all(holds_slot(s) == (s in ACTIVE) for s in S)


def test_terminal_states_are_dead_ends() -> None:
    for state in TERMINAL:
        assert not TRANSITIONS[state]


def test_active_states_can_be_lost_failed_and_cancelled() -> None:
    for state in ACTIVE:
        assert can_transition(state, S.LOST)
        assert can_transition(state, S.FAILED)
    for state in set(S) - TERMINAL:
        assert can_transition(state, S.CANCELLED)


def test_a_job_on_a_server_never_goes_straight_back_to_the_queue() -> None:
    for state in ON_SERVER:
        assert not can_transition(state, S.QUEUED)
    assert not can_transition(S.RUNNING, S.QUEUED)
    assert can_transition(S.RUNNING, S.FAILED)  # execution error: failed, never retried


def test_every_non_terminal_state_reaches_an_end() -> None:
    for start in set(S) - TERMINAL:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert S.SUCCEEDED in seen  # a lost job is re-queued where policy allows, so it can still succeed
        assert seen & TERMINAL


def test_a_held_job_only_goes_back_to_the_queue_or_is_cancelled() -> None:
    """On hold is a parked queued job: never claimed or refused, and held only from the queue."""
    assert TRANSITIONS[S.HELD] == {S.QUEUED, S.CANCELLED}
    assert [s for s in S if can_transition(s, S.HELD)] == [S.QUEUED]
    assert S.HELD not in ACTIVE
    assert S.HELD not in TERMINAL


def test_no_self_transitions() -> None:
    assert not any(can_transition(s, s) for s in S)


def test_after_lost_follows_policy() -> None:
    assert after_lost(redispatch_allowed=True) is S.QUEUED
    assert after_lost(redispatch_allowed=False) is S.FAILED


def test_error_is_one_sentence_with_a_fix() -> None:
    error = InvalidJobTransition(S.SUCCEEDED, S.QUEUED)
    assert isinstance(error, X121Error)
    assert (
        error.sentence
        == "A job cannot go from succeeded to queued. It has already ended as succeeded; submit a new job instead."
    )
    live = InvalidJobTransition(S.RUNNING, S.QUEUED)
    assert "Reload the job" in live.sentence
