from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from x121_desktop.core.collab import leases, presence
from x121_desktop.core.collab.mentions import UnknownMention, check_body, check_mentions, mentioned_names, require_known
from x121_desktop.core.errors import InvalidInput


def test_mentions_are_found_once_in_order_and_lower_cased() -> None:
    body = "@Ana look at @120 please, cc @bo_2 and @ana again; mail ana@example.com"
    assert mentioned_names(body) == ("ana", "bo_2")


def test_unknown_mentions_are_named_in_one_sentence() -> None:
    check = check_mentions("@ana @ghost @nobody", ["ana", "bo"])
    assert check.unknown == ("ghost", "nobody")
    with pytest.raises(UnknownMention) as caught:
        require_known(check)
    assert "@ghost, @nobody, which are not studio users" in caught.value.sentence
    assert require_known(check_mentions("@ana hi", ["ana"])) == ("ana",)


def test_blank_and_huge_bodies_are_refused() -> None:
    with pytest.raises(InvalidInput):
        check_body("   ")
    with pytest.raises(InvalidInput):
        check_body("x" * 10_001)
    assert check_body("  ok ") == "ok"


def test_lease_rules() -> None:
    assert leases.renew_interval_s(30) == 10
    with pytest.raises(InvalidInput, match="lease of 2 s"):
        leases.check_ttl(2)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    state = leases.LeaseState(now + timedelta(seconds=25), now)
    assert state.live
    assert not state.needs_renewal(30)
    assert leases.LeaseState(now + timedelta(seconds=15), now).needs_renewal(30)
    assert not leases.LeaseState(now, now).live
    assert leases.describe_remaining(timedelta(seconds=-1)) == "expired"
    assert leases.describe_remaining(timedelta(seconds=300)) == "5 min left"


def test_presence_freshness_and_next_expiry() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    beats = [
        presence.Beat((1, "ws-1"), now - timedelta(seconds=5)),
        presence.Beat((2, "ws-2"), now - timedelta(seconds=20)),
        presence.Beat((3, "ws-3"), now - timedelta(seconds=40)),
    ]
    assert [b.key[0] for b in presence.fresh(beats, now, 30)] == [1, 2]
    assert presence.next_expiry(beats, now, 30) == timedelta(seconds=10)
    assert presence.next_expiry(beats[2:], now, 30) is None
    assert presence.heartbeat_interval_s(30) == 10
