"""Faults the stand-in injects on demand (set from tests through ComfyTestServer)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Faults:
    # every HTTP request (and the WS handshake) gets this HTML page, as a proxy or router would send
    html_status: int | None = None
    # seconds each node waits before running (interrupt still works): a slow server
    node_delay_s: float = 0.0
    # while set, the worker stops before running the next node, ignoring interrupts: a hung server
    hang: threading.Event = field(default_factory=threading.Event)
    # close every socket that reaches this node id (set by tests); None = off
    drop_before_node: str | None = None
    # restart (lose history, queue, cache and sockets) when this node id is reached
    restart_before_node: str | None = None

    def clear(self) -> None:
        self.html_status = None
        self.node_delay_s = 0.0
        self.hang.clear()
        self.drop_before_node = None
        self.restart_before_node = None


HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>nginx</p></body></html>"
)
