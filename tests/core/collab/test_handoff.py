"""The single-instance handoff's one-line protocol (no Qt, no socket)."""

from __future__ import annotations

from pathlib import Path

import pytest

from x121_desktop.core.collab import handoff
from x121_desktop.core.errors import InvalidInput


def test_open_requests_round_trip_and_a_bare_open_means_come_to_the_front() -> None:
    assert handoff.decode_request(handoff.encode_open("x121://project/1/scene/2")) == "x121://project/1/scene/2"
    assert handoff.encode_open("  ") == b"open\n"
    assert handoff.decode_request(b"open\n") == ""
    assert handoff.decode_request(b"close everything\n") is None
    with pytest.raises(InvalidInput, match="too long or spans lines"):
        handoff.encode_open("x121://a\nopen x121://b")


def test_replies_and_the_socket_is_per_user_and_home(tmp_path: Path) -> None:
    assert handoff.decode_reply(handoff.encode_reply(None)) is None
    assert handoff.decode_reply(handoff.encode_reply("Scene 9 does not exist\nmore")) == "Scene 9 does not exist"
    assert handoff.decode_reply(b"what?\n") == "the running studio answered 'what?'"
    a = handoff.socket_path(tmp_path, tmp_path / "home-a", 1000)
    assert a != handoff.socket_path(tmp_path, tmp_path / "home-b", 1000)
    assert a != handoff.socket_path(tmp_path, tmp_path / "home-a", 1001)
    assert len(str(a.name)) < 40
