"""Cancellation and progress for long work, shared by every layer."""

from __future__ import annotations

import threading
from typing import Protocol

from x121_desktop.core.errors import Cancelled


class CancelToken:
    """Thread-safe flag: the requester sets it, the worker checks it between steps."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self, what: str = "The operation") -> None:
        if self._event.is_set():
            raise Cancelled(what)


class ProgressSink(Protocol):
    """Receives progress from long work; called from worker threads."""

    def __call__(self, done: float, total: float, message: str = "") -> None: ...


def no_progress(done: float, total: float, message: str = "") -> None:
    """A ProgressSink that discards progress."""
