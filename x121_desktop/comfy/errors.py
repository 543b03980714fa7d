"""Errors raised by the ComfyUI adapter; each names the server and says what to do."""

from __future__ import annotations

from x121_desktop.core.errors import ComfyError


class ComfyUnreachable(ComfyError):
    """The server refused the connection, timed out or closed the socket."""


class ComfyProtocolError(ComfyError):
    """The server answered, but not as ComfyUI does (HTML, plain text, bad JSON, odd shapes)."""


class ComfyNotFound(ComfyError):
    """The server answered 404 for a file or route."""


class PromptRejected(ComfyError):
    """POST /prompt refused the workflow (validation), or accepted only part of it."""

    def __init__(self, problem: str, fix: str = "", *, error_type: str = "", node_ids: tuple[str, ...] = ()):
        self.error_type = error_type
        self.node_ids = node_ids
        super().__init__(problem, fix)
