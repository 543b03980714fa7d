"""Studio Pulse through the services as real logins: comments, @mentions, notifications, the feed, links."""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.services.collab_studio import collab_studio
from x121_desktop.core.collab.deeplink import MalformedLink, parse_link
from x121_desktop.core.collab.feed import describe
from x121_desktop.core.collab.mentions import UnknownMention
from x121_desktop.core.enums import ActivityKind, NotificationKind
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.db.engine import DatabaseTarget, make_engine
from x121_desktop.services.activity import FeedFilter
from x121_desktop.services.collab import NOTIFICATIONS, CollabEvent, CollabServices
from x121_desktop.services.runtime import Runtime

__all__ = ["collab_studio"]


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def services_as(collab_studio: SecureStudio) -> Iterator[Callable[[str], CollabServices]]:
    runtime = Runtime()
    engines = []

    def make(who: str) -> CollabServices:
        engine = make_engine(DatabaseTarget(collab_studio.url(who)), pool_size=1)
        engines.append(engine)
        return CollabServices.build(engine, runtime, f"ws-{who}")

    yield make
    runtime.shutdown()
    for engine in engines:
        engine.dispose()


def test_a_mention_notifies_the_mentioned_user_only(
    collab_studio: SecureStudio, services_as: Callable[[str], CollabServices]
) -> None:
    s = collab_studio
    author, mentioned, bystander = services_as("reviewer"), services_as("creator"), services_as("reviewer2")
    heard: queue.Queue[CollabEvent] = queue.Queue()
    listener = mentioned.listen(heard.put)
    try:
        assert listener.wait_listening()
        body = f"@{s.roles['creator']} the hands flicker at @48, see frame"
        posted = run(author.activity.comment(body, take_id=s.ids["take"], frame=48))
        assert posted.mentioned == (s.roles["creator"],)
        assert (
            posted.link == f"x121://project/{s.ids['project']}/scene/{s.ids['scene']}/segment/1/take/{s.ids['take']}@48"
        )
        deadline = time.monotonic() + 10
        note: CollabEvent | None = None
        while note is None and time.monotonic() < deadline:
            event = heard.get(timeout=deadline - time.monotonic())
            if event.channel == NOTIFICATIONS:
                note = event
        assert note is not None
        assert note.int_field("user_id") == s.user_ids["creator"]
        assert note.int_field("event_id") == posted.event_id
    finally:
        listener.stop()
    mine = run(mentioned.activity.notifications(unread_only=True))
    assert [(n.kind, n.event.id) for n in mine] == [(NotificationKind.MENTION, posted.event_id)]
    assert mine[0].event.data["link"] == posted.link
    assert run(bystander.activity.notifications()) == ()
    assert run(author.activity.notifications()) == ()
    assert run(mentioned.activity.mark_read([mine[0].id])) == 1
    assert run(mentioned.activity.notifications(unread_only=True)) == ()
    with s.connect(SUPERUSER) as conn:
        mentions = conn.execute("SELECT user_id FROM comment_mentions WHERE comment_id = %s", (posted.comment_id,))
        assert [r[0] for r in mentions] == [s.user_ids["creator"]]


def test_unknown_mentions_are_refused_and_nothing_is_written(
    collab_studio: SecureStudio, services_as: Callable[[str], CollabServices]
) -> None:
    author = services_as("reviewer")
    before = run(author.activity.feed(FeedFilter(kinds=(ActivityKind.COMMENT_ADDED,))))
    with pytest.raises(UnknownMention) as caught:
        run(
            author.activity.comment(
                f"@{collab_studio.roles['creator']} and @ghost_user", take_id=collab_studio.ids["take"]
            )
        )
    assert caught.value.sentence.startswith("The comment mentions @ghost_user, which is not a studio user.")
    with pytest.raises(InvalidInput, match="The comment is empty"):
        run(author.activity.comment("   ", take_id=collab_studio.ids["take"]))
    with pytest.raises(NotFound, match="There is no take #999999"):
        run(author.activity.comment("hello", take_id=999999))
    assert run(author.activity.feed(FeedFilter(kinds=(ActivityKind.COMMENT_ADDED,)))) == before


def test_feed_filters_and_links(collab_studio: SecureStudio, services_as: Callable[[str], CollabServices]) -> None:
    s = collab_studio
    creator, reviewer = services_as("creator2"), services_as("reviewer")
    grant = run(creator.locks.acquire(s.ids["free_segment_2"], ttl_s=30))
    run(creator.locks.release(grant))
    run(reviewer.activity.comment("looks good", take_id=s.ids["spare_take"], frame=3))
    by_creator = run(reviewer.activity.feed(FeedFilter(actor_id=s.user_ids["creator2"])))
    assert [e.kind for e in by_creator[:2]] == [ActivityKind.LOCK_RELEASED, ActivityKind.LOCK_TAKEN]
    assert (
        describe(by_creator[1]) == f"{s.roles['creator2']} locked segment 4 of scene #{s.ids['scene']} on ws-creator2"
    )
    comments = run(creator.activity.feed(FeedFilter(project_id=s.ids["project"], kinds=(ActivityKind.COMMENT_ADDED,))))
    assert comments[0].data["body"] == "looks good"
    assert describe(comments[0]).endswith("commented on segment 1 of scene #" + str(s.ids["scene"]) + ": looks good")
    assert run(creator.activity.feed(FeedFilter(project_id=987654))) == ()

    target = run(creator.activity.resolve_link(comments[0].data["link"]))
    assert (target.scene_id, target.segment_number, target.take_id, target.frame) == (
        s.ids["scene"],
        1,
        s.ids["spare_take"],
        3,
    )
    with pytest.raises(MalformedLink):
        run(creator.activity.resolve_link("x121://project/1/scene"))
    wrong = parse_link(f"x121://project/{s.ids['project']}/scene/{s.ids['scene']}/segment/2/take/{s.ids['take']}@1")
    with pytest.raises(NotFound, match="is not a take of segment 2"):
        run(creator.activity.resolve_link(wrong))
    with pytest.raises(NotFound, match="Scene #424242 does not exist"):
        run(creator.activity.resolve_link("x121://project/1/scene/424242"))
