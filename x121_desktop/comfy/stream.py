"""One websocket-client thread per ComfyUI server, handing typed events over a queue.

The thread reconnects with backoff. After a reconnect it asks the server (HTTP) what
became of the prompts it was following: a changed boot marker means the server restarted
(`ServerRestarted`), and a prompt that is neither queued nor in history is `PromptLost`.
It never resubmits anything; that is the orchestrator's decision.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import urllib.parse
from dataclasses import dataclass

import websocket

from x121_desktop.comfy.client import ComfyClient, invalidate_object_info
from x121_desktop.comfy.protocol import (
    TERMINAL_EVENTS,
    ExecutionStart,
    WsEvent,
    parse_binary_message,
    parse_text_message,
)
from x121_desktop.core.errors import ComfyError


@dataclass(frozen=True, slots=True)
class Connected:
    sid: str
    reconnected: bool


@dataclass(frozen=True, slots=True)
class Disconnected:
    reason: str
    retry_in_s: float


@dataclass(frozen=True, slots=True)
class ServerRestarted:
    lost_prompt_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PromptLost:
    prompt_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PromptFinishedOffline:
    """A followed prompt ended while the socket was down; its result is in /history."""

    prompt_id: str
    status_str: str


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    sentence: str


type StreamEvent = Connected | Disconnected | ServerRestarted | PromptLost | PromptFinishedOffline | MalformedMessage


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """What arrives on the queue: which server, and what happened."""

    url: str
    event: WsEvent | StreamEvent


class ComfyStream:
    """Follows /ws of one server on its own thread until `close()`."""

    def __init__(
        self,
        client: ComfyClient,
        events: queue.Queue[ServerEvent] | None = None,
        *,
        preview_metadata: bool = True,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.client = client
        self.events: queue.Queue[ServerEvent] = events if events is not None else queue.Queue()
        self._preview_metadata = preview_metadata
        self._backoff = backoff_s
        self._max_backoff = max_backoff_s
        self._timeout = connect_timeout_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ws: websocket.WebSocket | None = None
        self._watched: set[str] = set()
        self._boot_marker: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"comfy-ws {client.url}", daemon=True)

    @property
    def ws_url(self) -> str:
        parts = urllib.parse.urlsplit(self.client.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urllib.parse.urlencode({"clientId": self.client.client_id})
        return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/ws?{query}"

    def start(self) -> ComfyStream:
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            # Closing a socket does not wake a thread blocked in recv() on it (Linux); shutting it down does,
            # so an idle stream closes at once instead of waiting out the join timeout.
            raw = getattr(ws, "sock", None)
            if raw is not None:
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_RDWR)
            ws.shutdown()  # type: ignore[no-untyped-call]  # websocket-client leaves it unannotated
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> ComfyStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def watch(self, prompt_id: str) -> None:
        """Follow a submitted prompt so that a restart or loss is reported for it."""
        with self._lock:
            self._watched.add(prompt_id)

    def unwatch(self, prompt_id: str) -> None:
        with self._lock:
            self._watched.discard(prompt_id)

    def _emit(self, event: WsEvent | StreamEvent) -> None:
        self.events.put(ServerEvent(self.client.url, event))

    # ------------------------------------------------------------ thread

    def _run(self) -> None:
        delay = self._backoff
        connected_before = False
        while not self._stop.is_set():
            try:
                ws = websocket.create_connection(
                    self.ws_url, timeout=self._timeout, suppress_origin=True, skip_utf8_validation=True
                )
            except (OSError, websocket.WebSocketException) as exc:
                self._emit(Disconnected(self._reason(exc, "cannot open its WebSocket"), delay))
                self._stop.wait(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            ws.settimeout(None)
            with self._lock:
                self._ws = ws
            if self._stop.is_set():
                _close(ws)
                break
            try:
                self._session(ws, connected_before)
                reason = f"ComfyUI at {self.client.url} closed its WebSocket"
            except (OSError, websocket.WebSocketException) as exc:
                reason = self._reason(exc, "dropped its WebSocket")
            finally:
                with self._lock:
                    self._ws = None
                _close(ws)
            connected_before = True
            delay = self._backoff
            if not self._stop.is_set():
                self._emit(Disconnected(reason, delay))
                self._stop.wait(delay)

    def _reason(self, exc: BaseException, what: str) -> str:
        detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        return f"ComfyUI at {self.client.url} {what} ({detail}); retrying"

    def _session(self, ws: websocket.WebSocket, reconnected: bool) -> None:
        if self._preview_metadata:
            ws.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
        first = True
        while not self._stop.is_set():
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return
            try:
                if opcode == websocket.ABNF.OPCODE_BINARY:
                    event = parse_binary_message(bytes(data), self.client.url)
                else:
                    event = parse_text_message(data, self.client.url)
            except ComfyError as exc:
                self._emit(MalformedMessage(exc.sentence))
                continue
            if first:
                first = False
                sid = getattr(event, "sid", None) or self.client.client_id
                self._emit(Connected(sid, reconnected))
                self._check_after_connect(reconnected)
            self._track(event)
            self._emit(event)

    def _track(self, event: WsEvent) -> None:
        if isinstance(event, ExecutionStart):
            self.watch(event.prompt_id)
        elif isinstance(event, TERMINAL_EVENTS):
            self.unwatch(event.prompt_id)

    def _check_after_connect(self, reconnected: bool) -> None:
        """Ask over HTTP whether the server restarted and what became of followed prompts."""
        try:
            marker = self.client.boot_marker()
            if not reconnected:
                self._boot_marker = marker
                return
            invalidate_object_info(self.client.url)
            restarted = marker is not None and self._boot_marker is not None and marker != self._boot_marker
            self._boot_marker = marker
            with self._lock:
                watched = sorted(self._watched)
            queue_state = self.client.queue() if watched else None
            lost: list[str] = []
            for prompt_id in watched:
                if queue_state is not None and queue_state.contains(prompt_id):
                    continue
                entry = self.client.history(prompt_id)
                self.unwatch(prompt_id)
                if entry is None:
                    lost.append(prompt_id)
                else:
                    self._emit(PromptFinishedOffline(prompt_id, entry.status_str))
        except ComfyError as exc:
            self._emit(MalformedMessage(exc.sentence))
            return
        if restarted:
            self._emit(ServerRestarted(tuple(lost)))
        why = "the server restarted and forgot it" if restarted else "the server no longer knows it"
        for prompt_id in lost:
            self._emit(PromptLost(prompt_id, f"Prompt {prompt_id} on {self.client.url} was lost: {why}"))


def _close(ws: websocket.WebSocket) -> None:
    """Close a WebSocket and its socket. websocket-client's `close()` returns at once, leaving the socket open,
    when the server closed first (answering its close frame marked the connection closed): `shutdown` closes it."""
    ws.close()
    ws.shutdown()  # type: ignore[no-untyped-call]  # websocket-client leaves it unannotated
