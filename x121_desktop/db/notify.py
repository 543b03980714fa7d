"""LISTEN/NOTIFY on its own connection and thread, for any set of channels.

`ChannelListener` holds one autocommit psycopg connection that LISTENs on the channels it was
given, parses each payload with that channel's parser and hands the values to a callback or a
thread-safe queue. `JobListener` is the one for `x121_jobs` (every job state change NOTIFYs there,
see `db.repositories.job_events`) and yields `JobNotice`s; the collaboration channels of revision
0006 (`x121_presence`, `x121_locks`, `x121_activity`, `x121_notifications`) carry JSON objects that
`parse_json_notice` turns into `ChannelNotice`s. It waits with `conn.notifies(timeout=…)`, so `stop()` is honoured
within one poll interval and joins the thread. If the connection drops it reconnects (with a
pause) and reports `ListenerReconnected`: notices sent while it was away are lost, so a consumer
re-reads the state it shows. Callbacks run on the listener thread and must not block.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

import psycopg
from psycopg import sql

from x121_desktop.core.enums import JobEventKind, JobStatus
from x121_desktop.core.ids import JobId, UserId
from x121_desktop.db.repositories.job_records import CHANNEL

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True, slots=True)
class JobNotice:
    """One committed job change, as announced on the channel."""

    job_id: JobId
    status: JobStatus
    owner_id: UserId
    event: JobEventKind | None
    event_id: int | None


@dataclass(frozen=True, slots=True)
class ListenerReconnected:
    """The LISTEN connection was re-established: changes in between were missed; re-read state."""

    at: datetime


Notice = JobNotice | ListenerReconnected


@dataclass(frozen=True, slots=True)
class ChannelNotice:
    """One JSON notification from a channel (the payload's top-level object)."""

    channel: str
    data: dict[str, Any]

    def int_field(self, key: str) -> int | None:
        value = self.data.get(key)
        return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else None


def parse_json_notice(channel: str) -> Callable[[str], ChannelNotice | None]:
    """A parser for `channel` whose payloads are JSON objects."""

    def parse(payload: str) -> ChannelNotice | None:
        try:
            raw: Any = json.loads(payload)
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            log.warning("ignored a malformed %s notification: %.200s", channel, payload)
            return None
        return ChannelNotice(channel, raw)

    return parse


def parse_notice(payload: str) -> JobNotice | None:
    """The notice in a NOTIFY payload, or None (with a warning) if it is not one of ours."""
    try:
        raw: Any = json.loads(payload)
        event = raw.get("event")
        event_id = raw.get("event_id")
        return JobNotice(
            job_id=JobId(int(raw["job_id"])),
            status=JobStatus.from_code(str(raw["status"])),
            owner_id=UserId(int(raw["owner_id"])),
            event=JobEventKind.from_code(event) if event else None,
            event_id=int(event_id) if event_id is not None else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignored a malformed %s notification: %.200s", CHANNEL, payload)
        return None


def conninfo_from_engine(engine: Engine) -> str:
    """A libpq URL for the engine's database and login (password included; never log it)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class ChannelListener[N]:
    """Listen on channels on a background thread; use as a context manager or start()/stop().

    `parsers` maps each channel to a function turning its payload into a value of type N (or
    None to drop it). Values, and `ListenerReconnected` after a reconnection, go to `on_notice`
    (called on the listener thread; it must not block) or else to the `notices` queue.
    """

    def __init__(
        self,
        conninfo: str,
        parsers: Mapping[str, Callable[[str], N | None]],
        on_notice: Callable[[N | ListenerReconnected], None] | None = None,
        *,
        poll_s: float = 0.2,
        retry_s: float = 1.0,
        name: str = "x121-listener",
    ) -> None:
        if not parsers:
            raise ValueError("a listener needs at least one channel")
        self._conninfo = conninfo
        self._parsers = dict(parsers)
        self._poll_s = poll_s
        self._retry_s = retry_s
        self._name = name
        self.notices: queue.Queue[N | ListenerReconnected] = queue.Queue()
        """Where notices go when no `on_notice` callback is given."""
        self._emit: Callable[[N | ListenerReconnected], None] = on_notice or self.notices.put
        self._stop = threading.Event()
        self.listening = threading.Event()
        """Set while LISTEN is active (tests and callers may wait on it)."""
        self._thread: threading.Thread | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self._parsers)

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("this listener was already started")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and join the thread (within about one poll interval)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the %s thread did not stop within %.1f s", self._name, timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        connected_before = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                    for channel in self._parsers:
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self.listening.set()
                    if connected_before:
                        self._deliver(ListenerReconnected(datetime.now(UTC)))
                    connected_before = True
                    self._listen(conn)
            except psycopg.Error as exc:
                log.warning("%s connection lost (%s); reconnecting", self._name, str(exc).strip().splitlines()[0:1])
            finally:
                self.listening.clear()
            self._stop.wait(self._retry_s)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            for note in conn.notifies(timeout=self._poll_s):
                parser = self._parsers.get(note.channel)
                parsed = parser(note.payload) if parser is not None else None
                if parsed is not None:
                    self._deliver(parsed)
                if self._stop.is_set():
                    return

    def _deliver(self, notice: N | ListenerReconnected) -> None:
        try:
            self._emit(notice)
        except Exception:  # a consumer's bug must not kill the listener
            log.exception("%s notice handler failed", self._name)


class ListenerHandle:
    """What a service hands its caller for one `ChannelListener` it built: start, wait until it listens, stop."""

    _listener: ChannelListener[Any]

    def start(self) -> Self:
        self._listener.start()
        return self

    def wait_listening(self, timeout: float = 10.0) -> bool:
        return self._listener.listening.wait(timeout)

    def stop(self) -> None:
        self._listener.stop()


class JobListener(ChannelListener[JobNotice]):
    """Listen for job notices (`x121_jobs`) on a background thread."""

    def __init__(
        self,
        conninfo: str,
        on_notice: Callable[[Notice], None] | None = None,
        *,
        channel: str = CHANNEL,
        poll_s: float = 0.2,
        retry_s: float = 1.0,
    ) -> None:
        super().__init__(
            conninfo, {channel: parse_notice}, on_notice, poll_s=poll_s, retry_s=retry_s, name="x121-job-listener"
        )

    @classmethod
    def for_engine(cls, engine: Engine, on_notice: Callable[[Notice], None] | None = None) -> JobListener:
        return cls(conninfo_from_engine(engine), on_notice)
