"""Studio Pulse: the activity feed, comments with @mentions, notifications, and deep links.

A comment is one transaction: the comment, its mentions, one `comment_added` feed event (with
the comment's `x121://` link) and one `mention` notification per mentioned user other than the
author. A mention of a name that is not an active studio user refuses the whole comment with a
sentence naming it. New events and notifications are announced by NOTIFY (revision 0006).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.collab.deeplink import DeepLink, parse_link
from x121_desktop.core.collab.mentions import check_body, check_mentions, require_known
from x121_desktop.core.collab.values import ActivityItem, CommentPosted, LinkTarget, NotificationItem
from x121_desktop.core.enums import ActivityKind, NotificationKind
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.core.ids import ProjectId, SceneId, TakeId
from x121_desktop.db.repositories import activity as repo
from x121_desktop.db.repositories.activity import FeedFilter
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.transactions import explain_refusal

T = TypeVar("T")
__all__ = ["ActivityService", "FeedFilter"]


class ActivityService:
    def __init__(self, engine: Engine, runtime: Runtime) -> None:
        self._engine = engine
        self._runtime = runtime

    def _tx(self, doing: str, work: Callable[[Connection], T]) -> T:
        try:
            with self._engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            raise explain_refusal(exc, doing) from exc

    async def _read(self, doing: str, work: Callable[[Connection], T]) -> T:
        return await self._runtime.run(self._runtime.db_read, self._tx, doing, work)

    async def _write(self, doing: str, work: Callable[[Connection], T]) -> T:
        return await self._runtime.run(self._runtime.db_writer, self._tx, doing, work)

    async def feed(self, where: FeedFilter | None = None) -> tuple[ActivityItem, ...]:
        return await self._read("read the activity feed", lambda c: tuple(repo.feed(c, where or FeedFilter())))

    async def event(self, event_id: int) -> ActivityItem | None:
        return await self._read("read a feed event", lambda c: repo.event(c, event_id))

    async def notifications(self, *, unread_only: bool = False) -> tuple[NotificationItem, ...]:
        return await self._read(
            "read your notifications", lambda c: tuple(repo.notifications(c, unread_only=unread_only))
        )

    async def mark_read(self, ids: list[int]) -> int:
        return await self._write("mark notifications read", lambda c: repo.mark_read(c, ids))

    async def comment(
        self, body: str, *, project_id: int | None = None, take_id: int | None = None, frame: int | None = None
    ) -> CommentPosted:
        """Comment on a take (at a frame) or, with only `project_id`, on a project."""
        return await self._write("post the comment", lambda c: self.comment_sync(c, body, project_id, take_id, frame))

    @staticmethod
    def comment_sync(
        conn: Connection, body: str, project_id: int | None, take_id: int | None, frame: int | None
    ) -> CommentPosted:
        text_ = check_body(body)
        if frame is not None and (take_id is None or frame < 0):
            raise InvalidInput("A comment at a frame needs a take and a frame from 0", "Pick the take first")
        place = _take_place(conn, take_id) if take_id is not None else None
        if place is None and project_id is None:
            raise InvalidInput("A comment needs a project or a take", "Choose where the comment belongs")
        names = check_mentions(text_, ())
        known = repo.users_by_name(conn, names.names)
        mentioned = require_known(check_mentions(text_, known))
        link: str | None = None
        if place is not None and take_id is not None:
            if project_id is not None and project_id != place[0]:
                raise InvalidInput(f"Take #{take_id} is not in project #{project_id}", "Check the take id")
            project_id = place[0]
            link = DeepLink(ProjectId(place[0]), SceneId(place[1]), place[3], TakeId(take_id), frame).format()
        assert project_id is not None
        comment_id = repo.add_comment(
            conn,
            project_id,
            text_,
            segment_id=None if place is None else place[2],
            take_id=take_id,
            frame=frame,
        )
        recipients = {known[n] for n in mentioned}
        repo.add_mentions(conn, comment_id, recipients)
        data: dict[str, object] = {"comment_id": comment_id, "body": text_, "mentioned": list(mentioned), "link": link}
        if place is not None:
            data |= {"scene_id": place[1], "segment_number": place[3], "frame": frame}
        event_id = repo.add_event(
            conn,
            ActivityKind.COMMENT_ADDED,
            data,
            project_id=project_id,
            segment_id=None if place is None else place[2],
            take_id=take_id,
        )
        me = conn.execute(text("SELECT x121_current_user_id()")).scalar_one()
        repo.notify(conn, event_id, sorted(r for r in recipients if r != me), NotificationKind.MENTION)
        return CommentPosted(comment_id, event_id, mentioned, link)

    async def resolve_link(self, link: str | DeepLink) -> LinkTarget:
        """The place a link names; MalformedLink or NotFound with a sentence otherwise."""
        parsed = parse_link(link) if isinstance(link, str) else link
        found = await self._read("open the link", lambda c: repo.resolve(c, parsed))
        if isinstance(found, str):
            raise NotFound(f"The link {parsed.format()} cannot be opened: {found}", "Ask for a fresh link")
        return found


def _take_place(conn: Connection, take_id: int) -> tuple[int, int, int, int]:
    row = conn.execute(
        text(
            "SELECT c.project_id, g.scene_id, g.id, g.position + 1 FROM takes t "
            "JOIN segments g ON g.id = t.segment_id JOIN scenes sc ON sc.id = g.scene_id "
            "JOIN characters c ON c.id = sc.character_id WHERE t.id = :t"
        ),
        {"t": take_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no take #{take_id}", "Check the take id")
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])
