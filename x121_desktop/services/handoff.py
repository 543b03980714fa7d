"""The client side of the single-instance handoff: give a link (or just "come to the front") to the
window already running for this user and home. A plain Unix socket, no Qt: `x121 open` and the
launcher both use it before they would start a second window.
"""

from __future__ import annotations

import socket
from pathlib import Path

from x121_desktop.core.collab import handoff


def forward(path: Path, url: str, timeout_s: float = 5.0) -> str | None:
    """Send the link ("" = bring the window to the front); None when it took it, else its sentence.

    OSError when no window listens there.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(handoff.encode_open(url))
        reply = b""
        while not reply.endswith(b"\n") and len(reply) < handoff.MAX_LINE:
            chunk = sock.recv(512)
            if not chunk:
                break
            reply += chunk
    return handoff.decode_reply(reply)


def raise_running_window(home: Path, timeout_s: float = 2.0) -> bool:
    """True when a window already runs for `home` and came to the front; False when none answers."""
    try:
        return forward(handoff.runtime_socket(home), "", timeout_s) is None
    except OSError:
        return False
